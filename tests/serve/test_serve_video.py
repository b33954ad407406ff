"""POST /v1/recognize: a real clip, and every way an upload can be wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import error_of

from sign2text.serve import ServeSettings

URL = "/v1/recognize"


def _multipart(
    data: bytes, name: str = "clip.mp4", ctype: str = "video/mp4"
) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, data, ctype)}


@pytest.mark.slow
def test_real_clip_is_recognized(client: TestClient, hello_clip: bytes) -> None:
    r = client.post(URL, files=_multipart(hello_clip), params={"top_k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["label"] == "hello" and body["rejected"] is False
    assert body["top_k"][0]["label"] == "hello" and len(body["top_k"]) == 3
    probs = [t["probability"] for t in body["top_k"]]
    assert probs == sorted(probs, reverse=True) and body["confidence"] == probs[0]
    assert 30 <= body["frames"] <= 45  # 2.6 s down-sampled to 15 fps
    assert 0 < body["hands_rate"] <= 1
    t = body["timings"]
    assert set(t) == {"decode_ms", "landmarks_ms", "features_ms", "model_ms", "total_ms"}
    assert t["landmarks_ms"] > 0 and body["request_ms"] >= t["total_ms"]
    assert body["queue_ms"] >= 0


@pytest.mark.slow
def test_raw_video_body_is_accepted(client: TestClient, videos_dir: Path) -> None:
    clip = (videos_dir / "book__Osushi2022__07074.mp4").read_bytes()  # 1.3 s
    r = client.post(URL, content=clip, headers={"content-type": "video/mp4"})
    assert r.status_code == 200, r.text
    assert r.json()["frames"] > 0


@pytest.mark.slow
def test_uploads_are_not_kept(
    client: TestClient, settings: ServeSettings, hello_clip: bytes
) -> None:
    """Neither a recognized upload nor a refused one leaves a file in the spool folder."""
    assert settings.tmp_dir is not None
    assert list(settings.tmp_dir.iterdir()) == []  # the session's earlier tests count too
    ok = client.post(URL, files=_multipart(hello_clip))
    assert ok.status_code == 200, ok.text
    assert list(settings.tmp_dir.iterdir()) == []
    refused = [
        client.post(URL, files=_multipart(b"not a video at all")),
        client.post(URL, files=_multipart(b"")),
        client.post(URL, content=b"\0" * (3 * 1024 * 1024), headers={"content-type": "video/mp4"}),
    ]
    assert [r.status_code for r in refused] == [415, 422, 413]
    assert list(settings.tmp_dir.iterdir()) == []


def test_empty_file(client: TestClient) -> None:
    r = client.post(URL, files=_multipart(b""))
    assert r.status_code == 422
    assert error_of(r)["code"] == "empty_upload"


def test_text_renamed_mp4(client: TestClient) -> None:
    r = client.post(URL, files=_multipart(b"just some text\n" * 50, "notes.mp4"))
    assert r.status_code == 415
    assert error_of(r)["code"] == "unsupported_media"


def test_png_renamed_mp4_is_refused(client: TestClient) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 200
    r = client.post(URL, files=_multipart(png, "photo.mp4", "video/mp4"))
    assert r.status_code == 415 and error_of(r)["code"] == "unsupported_media"


@pytest.mark.slow
def test_truncated_mp4(client: TestClient, hello_clip: bytes) -> None:
    r = client.post(URL, files=_multipart(hello_clip[: len(hello_clip) // 2]))
    assert r.status_code == 422
    err = error_of(r)
    assert err["code"] == "undecodable_media"
    assert "truncated" in err["message"]
    assert "sign2text-upload" not in err["message"]  # our temp path is not leaked
    assert "clip.mp4" in err["message"]


@pytest.mark.parametrize("ctype", ["image/png", "text/plain"])
def test_wrong_part_content_type(client: TestClient, hello_clip: bytes, ctype: str) -> None:
    r = client.post(URL, files=_multipart(hello_clip, "x.png", ctype))
    assert r.status_code == 415 and error_of(r)["code"] == "unsupported_media"


@pytest.mark.parametrize("ctype", ["image/png", "application/json", None])
def test_wrong_body_content_type(client: TestClient, hello_clip: bytes, ctype: str | None) -> None:
    headers = {"content-type": ctype} if ctype else {}
    r = client.post(URL, content=hello_clip, headers=headers)
    assert r.status_code == 415 and error_of(r)["code"] == "unsupported_media"


def test_huge_declared_content_length_is_refused_at_once(client: TestClient) -> None:
    r = client.post(
        URL,
        content=b"0" * 100,
        headers={"content-type": "video/mp4", "content-length": str(10 * 1024**3)},
    )
    assert r.status_code == 413
    err = error_of(r)
    assert err["code"] == "payload_too_large" and "declares 10737418240 bytes" in err["message"]
    assert r.headers.get("connection") == "close"


def test_chunked_body_over_the_limit(client: TestClient, settings: ServeSettings) -> None:
    chunk = b"\0" * (256 * 1024)
    n = settings.max_upload_bytes // len(chunk) + 2

    def body() -> Iterator[bytes]:
        for _ in range(n):
            yield chunk

    r = client.post(URL, content=body(), headers={"content-type": "video/mp4"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"


def test_file_over_the_limit_inside_multipart(client: TestClient, settings: ServeSettings) -> None:
    data = b"\0" * (settings.max_upload_bytes + 1)
    r = client.post(URL, files=_multipart(data))
    assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"


def test_multipart_without_file_field(client: TestClient) -> None:
    r = client.post(URL, data={"note": "hi"}, files={"other": ("a.mp4", b"abc", "video/mp4")})
    assert r.status_code == 422 and error_of(r)["code"] == "missing_file"


def test_malformed_multipart(client: TestClient) -> None:
    headers = {"content-type": "multipart/form-data; boundary=XYZ"}
    r = client.post(URL, content=b"--XYZ\r\nContent-Disposition: form-data; name=", headers=headers)
    assert r.status_code == 400 and error_of(r)["code"] == "bad_request"
    r = client.post(URL, content=b"data", headers={"content-type": "multipart/form-data"})
    assert r.status_code == 400 and error_of(r)["code"] == "bad_request"


@pytest.mark.parametrize("top_k", [0, 21, "x"])
def test_top_k_is_checked(client: TestClient, hello_clip: bytes, top_k: object) -> None:
    r = client.post(URL, files=_multipart(hello_clip), params={"top_k": top_k})
    assert r.status_code == 422 and error_of(r)["code"] == "invalid_request"


def test_wrong_method(client: TestClient) -> None:
    r = client.get(URL)
    assert r.status_code == 405 and error_of(r)["code"] == "method_not_allowed"
