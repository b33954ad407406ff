"""The optional API key and the CORS allow-list."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from serve_helpers import error_of
from starlette.websockets import WebSocketDisconnect

from sign2text.serve import ServeSettings, create_app

KEY = "s3cret-key"
ORIGIN = "http://demo.example"


@pytest.fixture(scope="module")
def locked() -> Iterator[TestClient]:
    settings = ServeSettings(
        workers=1,
        queue_size=0,
        api_key=SecretStr(KEY),
        cors_origins=[ORIGIN],
        examples_dir=None,
    )
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.parametrize(
    "path", ["/v1/labels", "/v1/model", "/v1/model.onnx", "/v1/skeleton", "/v1/examples"]
)
def test_v1_needs_the_key(locked: TestClient, path: str) -> None:
    r = locked.get(path)
    assert r.status_code == 401 and error_of(r)["code"] == "unauthorized"
    assert locked.get(path, headers={"X-API-Key": "wrong"}).status_code == 401
    assert locked.get(path, headers={"X-API-Key": KEY}).status_code == 200


def test_key_is_checked_before_the_upload_is_read(locked: TestClient) -> None:
    r = locked.post("/v1/recognize", content=b"\0" * 1000, headers={"content-type": "video/mp4"})
    assert r.status_code == 401


def test_health_and_page_stay_open(locked: TestClient) -> None:
    assert locked.get("/healthz").status_code == 200
    assert locked.get("/readyz").status_code == 200
    assert locked.get("/").status_code == 200
    assert locked.get("/docs").status_code == 200


def test_stream_needs_the_key(locked: TestClient) -> None:
    with locked.websocket_connect("/v1/stream") as ws:
        msg = ws.receive_json()
        assert msg["type"] == "error" and msg["code"] == "unauthorized"
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 1008
    with locked.websocket_connect(f"/v1/stream?api_key={KEY}") as ws:
        assert ws.receive_json()["type"] == "ready"
    with locked.websocket_connect("/v1/stream", headers={"X-API-Key": KEY}) as ws:
        assert ws.receive_json()["type"] == "ready"


def test_cors_allow_list(locked: TestClient) -> None:
    pre = locked.options(
        "/v1/recognize",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-API-Key",
        },
    )
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == ORIGIN
    got = locked.get("/healthz", headers={"Origin": ORIGIN})
    assert got.headers["access-control-allow-origin"] == ORIGIN
    other = locked.get("/healthz", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_settings_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PORT", "CORS_ORIGINS", "API_KEY", "QUEUE_SIZE", "WORKERS", "MAX_UPLOAD_BYTES"):
        monkeypatch.delenv(f"SIGN2TEXT_SERVE_{name}", raising=False)
    d = ServeSettings()
    assert d.host == "127.0.0.1" and d.port == 8000 and d.model is None
    assert d.max_upload_bytes == 50 * 1024 * 1024 and d.workers == 1 and d.queue_size == 8
    assert d.api_key is None and d.cors_origins == []
    assert d.static_dir.name == "static" and d.static_dir.parent.name == "serve"
    monkeypatch.setenv("SIGN2TEXT_SERVE_PORT", "9123")
    monkeypatch.setenv("SIGN2TEXT_SERVE_CORS_ORIGINS", "http://a.example, http://b.example")
    monkeypatch.setenv("SIGN2TEXT_SERVE_API_KEY", "")
    monkeypatch.setenv("SIGN2TEXT_SERVE_QUEUE_SIZE", "3")
    s = ServeSettings()
    assert s.port == 9123 and s.queue_size == 3 and s.api_key is None
    assert s.cors_origins == ["http://a.example", "http://b.example"]
    monkeypatch.setenv("SIGN2TEXT_SERVE_CORS_ORIGINS", '["http://c.example"]')
    monkeypatch.setenv("SIGN2TEXT_SERVE_API_KEY", "zq-secret-9")
    e = ServeSettings()
    assert e.cors_origins == ["http://c.example"] and e.api_key_value == "zq-secret-9"
    assert "zq-secret-9" not in repr(e)  # the key is a secret
