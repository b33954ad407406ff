"""Labels, model card and file, examples, health, the demo page, docs, 404s."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serve_helpers import error_of

from sign2text.runtime import Recognizer, bundled_model_path
from sign2text.serve import ServeSettings, create_app


def test_labels(client: TestClient) -> None:
    body = client.get("/v1/labels").json()
    assert body["none_label"] == "_none_" and "_none_" in body["labels"]
    assert "hello" in body["vocabulary"] and "_none_" not in body["vocabulary"]
    assert len(body["labels"]) == len(body["vocabulary"]) + 1


def test_model_card(client: TestClient) -> None:
    body = client.get("/v1/model").json()
    rec = Recognizer()
    assert body["labels"] == list(rec.labels)
    assert body["reject_threshold"] == pytest.approx(rec.reject_threshold)
    assert body["format"] == "sign2text-onnx/1" and body["input"] == "landmarks"
    assert body["features"] == rec.metadata.features.to_dict()
    assert body["card"]["evaluation"]["protocol"].startswith("5 signer folds")
    assert body["model"]["name"]
    data = bundled_model_path().read_bytes()
    assert body["file"] == {
        "name": "model.onnx",
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "url": "/v1/model.onnx",
    }


def test_model_file(client: TestClient) -> None:
    r = client.get("/v1/model.onnx")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.content == bundled_model_path().read_bytes()


def test_examples(client: TestClient, videos_dir: Path) -> None:
    items = client.get("/v1/examples").json()["examples"]
    names = [e["name"] for e in items]
    assert names == sorted(p.name for p in videos_dir.glob("*.mp4"))
    hello = next(e for e in items if e["name"] == "hello__sdb1228__hello.mp4")
    assert hello["expected"] == "hello" and hello["in_vocabulary"] is True
    assert hello["size"] == (videos_dir / hello["name"]).stat().st_size
    cow = next(e for e in items if e["name"].startswith("cow__"))
    assert cow["expected"] == "cow" and cow["in_vocabulary"] is False
    r = client.get(hello["url"])
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    assert r.content == (videos_dir / hello["name"]).read_bytes()
    part = client.get(hello["url"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100


@pytest.mark.parametrize(
    "name",
    [
        "manifest.csv",
        "README.md",
        "..%2FREADME.md",
        "..%2F..%2Fetc%2Fpasswd",
        "nope.mp4",
        "%2Fetc%2Fpasswd",
    ],
)
def test_examples_refuse_anything_not_listed(client: TestClient, name: str) -> None:
    r = client.get(f"/v1/examples/{name}")
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"


@pytest.mark.parametrize(
    ("range_header", "status", "code"),
    [
        ("bytes=abc", 400, "bad_request"),
        ("bytes=5-1", 400, "bad_request"),
        ("bytes=999999999-", 416, "range_not_satisfiable"),
    ],
)
def test_a_bad_range_header_gets_a_json_error(
    client: TestClient, range_header: str, status: int, code: str
) -> None:
    """Starlette's file responses refuse these in plain text; the API answers JSON."""
    r = client.get("/v1/examples/hello__sdb1228__hello.mp4", headers={"Range": range_header})
    assert r.status_code == status and error_of(r)["code"] == code
    assert error_of(r)["message"]
    if status == 416:
        assert r.headers["content-range"].startswith("bytes */")


@pytest.mark.parametrize("path", ["/healthz", "/v1/labels", "/v1/model.onnx", "/"])
def test_head_is_answered_wherever_get_is(client: TestClient, path: str) -> None:
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == str(len(get.content))
    r = client.head("/v1/recognize")  # POST only: HEAD is refused like GET
    assert r.status_code == 405 and r.content == b""


def test_plain_http_on_the_stream_endpoint_says_to_use_a_websocket(client: TestClient) -> None:
    r = client.get("/v1/stream")
    assert r.status_code == 426 and error_of(r)["code"] == "upgrade_required"
    assert "WebSocket" in error_of(r)["message"] and r.headers["upgrade"] == "websocket"


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready" and body["model"] == "model.onnx"
    assert body["workers"] == 2 and body["queue_size"] == 8 and body["in_flight"] == 0


def test_unknown_route(client: TestClient) -> None:
    r = client.get("/v2/nothing")
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"


def test_placeholder_page_without_a_demo(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "/docs" in r.text and "not built" in r.text
    assert client.get("/static/app.js").status_code == 404


@pytest.fixture(scope="module")
def demo_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    static = tmp_path_factory.mktemp("static")
    (static / "index.html").write_text(
        "<!doctype html><title>demo</title><script src='/static/app.js'></script>"
    )
    (static / "app.js").write_text("console.log('demo');")
    settings = ServeSettings(workers=1, queue_size=0, static_dir=static, examples_dir=None)
    with TestClient(create_app(settings)) as c:
        yield c


def test_demo_page_and_static_files(demo_client: TestClient) -> None:
    r = demo_client.get("/")
    assert r.status_code == 200 and "<title>demo</title>" in r.text
    js = demo_client.get("/static/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert demo_client.get("/static/vendor/ort.min.js").status_code == 404  # not built: fine
    assert demo_client.get("/v1/examples").json() == {"examples": []}


def test_missing_static_dir_does_not_break_startup(tmp_path: Path) -> None:
    settings = ServeSettings(workers=1, queue_size=0, static_dir=tmp_path / "missing")
    with TestClient(create_app(settings)) as c:
        assert c.get("/").status_code == 200
        r = c.get("/static/index.html")
        assert r.status_code == 404 and error_of(r)["code"] == "not_found"


def test_docs_page_uses_the_apps_own_swagger_ui(tmp_path: Path) -> None:
    """Offline docs: with the built vendor folder, /docs loads Swagger UI from /static;
    without it, FastAPI's CDN copy (the page still answers)."""
    vendor = tmp_path / "vendor" / "swagger"
    vendor.mkdir(parents=True)
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        (vendor / name).write_bytes(b"/* test */")
    settings = ServeSettings(workers=1, queue_size=0, static_dir=tmp_path)
    with TestClient(create_app(settings)) as c:
        page = c.get("/docs").text
        assert '"/static/vendor/swagger/swagger-ui-bundle.js"' in page
        assert "/static/vendor/swagger/swagger-ui.css" in page
        assert "cdn." not in page and "/openapi.json" in page
        assert c.get("/static/vendor/swagger/swagger-ui-bundle.js").status_code == 200
        assert c.get("/redoc").status_code == 404  # no CDN-only page left behind
    missing = ServeSettings(workers=1, queue_size=0, static_dir=tmp_path / "missing")
    with TestClient(create_app(missing)) as c:
        assert "swagger-ui-bundle.js" in c.get("/docs").text


def test_openapi_docs_have_examples(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/v1/recognize",
        "/v1/recognize/landmarks",
        "/v1/labels",
        "/v1/model",
        "/v1/examples",
    ):
        assert path in paths
    upload = paths["/v1/recognize"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"413", "415", "422", "503"} <= set(upload["responses"])
    assert (
        upload["responses"]["503"]["content"]["application/json"]["example"]["error"]["code"]
        == "busy"
    )
    landmarks = paths["/v1/recognize/landmarks"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    assert landmarks["schema"]["examples"]
    schemas = spec["components"]["schemas"]
    assert schemas["RecognitionResponse"]["examples"][0]["label"] == "hello"
    assert schemas["ErrorResponse"]["examples"]


def test_skeleton(client: TestClient) -> None:
    from sign2text.landmarks import skeleton as sk

    body = client.get("/v1/skeleton").json()
    assert body["n_points"] == sk.N_POINTS and body["n_dims"] == sk.N_DIMS
    assert body["parts"]["right_hand"] == {"start": 522, "size": 21}
    assert body["pose_names"] == list(sk.POSE_NAMES)
    assert set(body["subsets"]) == set(sk.subset_names())
    for name, idx in body["subsets"].items():
        assert idx == sk.subset([name]).tolist()
    assert body["mirror_map"] == sk.mirror_map().tolist()
    assert body["limbs"] == [list(p) for p in sk.limbs()]
