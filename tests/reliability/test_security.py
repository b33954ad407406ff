"""Security checks: dataset paths stay inside their root, the API key is compared in
constant time, CORS is off by default, the web demo is served with a strict
Content-Security-Policy.

Already covered elsewhere (not repeated): symlinked folders/frames per importer and
``../`` in GISLR/WLASL index files (``tests/data/test_importers.py``); the upload cap
enforced while the body streams, both for a declared length and for chunked bodies
(``tests/serve/test_serve_video.py::test_chunked_body_over_the_limit``,
``tests/serve/test_serve_body_guard.py``, ``tests/serve/test_serve_cli.py::
test_chunked_upload_is_cut_at_the_cap``); API key on every /v1 route and the stream
(``tests/serve/test_serve_auth.py``).
"""

from __future__ import annotations

import ast
import inspect
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from sign2text.data.importers.base import check_inside, safe_join
from sign2text.errors import PathEscapeError
from sign2text.serve import ServeSettings, api, create_app, ws
from sign2text.serve.middleware import CONTENT_SECURITY_POLICY
from sign2text.serve.settings import default_static_dir

# --- importers never escape their root -------------------------------------------------

SEGMENTS = ["..", ".", "a", "b", "in_link", "out_link", "/etc", "/", "a/../..", "b/./c"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("escape")
    root = base / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "b").mkdir()
    (base / "outside").mkdir()
    (root / "in_link").symlink_to(root / "a")
    (root / "out_link").symlink_to(base / "outside")
    (root / "a" / "out_link").symlink_to(base / "outside")
    return root


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=5))
def test_safe_join_never_leaves_the_root(dataset: Path, parts: list[str]) -> None:
    base = dataset.resolve()
    try:
        joined = safe_join(dataset, *parts)
    except PathEscapeError as exc:
        assert "\n" not in str(exc)
        return
    resolved = joined.resolve()
    assert resolved == base or base in resolved.parents, (parts, resolved)
    check_inside(dataset, joined)  # agrees


@pytest.mark.parametrize(
    "parts",
    [("..",), ("/etc/passwd",), ("a", "..", ".."), ("out_link",), ("a", "out_link", "x")],
)
def test_safe_join_refuses_known_escapes(dataset: Path, parts: tuple[str, ...]) -> None:
    with pytest.raises(PathEscapeError):
        safe_join(dataset, *parts)


# --- API key ---------------------------------------------------------------------------


def _compare_calls(fn: object) -> list[str]:
    tree = ast.parse(inspect.getsource(fn))  # type: ignore[arg-type]
    return [
        ast.unparse(node.func)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("compare_digest")
    ]


def test_api_key_is_compared_in_constant_time() -> None:
    for fn in (api.require_api_key, ws.key_matches):
        assert _compare_calls(fn), f"{fn.__name__} does not use compare_digest"
        source = inspect.getsource(fn)
        tree = ast.parse(source.lstrip())
        eq = [n for n in ast.walk(tree) if isinstance(n, ast.Compare) and
              any(isinstance(op, ast.Eq | ast.NotEq) for op in n.ops)]  # fmt: skip
        assert not eq, f"{fn.__name__} compares with == : {[ast.unparse(n) for n in eq]}"


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = ServeSettings(
        api_key="s3cret-key",
        workers=1,
        examples_dir=None,
        static_dir=tmp_path_factory.mktemp("no-demo"),
    )
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.parametrize(
    "key", ["", "s3cret-ke", "s3cret-key ", "S3CRET-KEY", "x" * 10_000, "s3cret-kéy", "\t"]
)
def test_wrong_keys_are_401_never_500(locked: TestClient, key: str) -> None:
    r = locked.get("/v1/labels", headers={"X-API-Key": key.encode("utf-8")})
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "unauthorized"


# --- CORS and CSP ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    static = default_static_dir()
    if not (static / "index.html").is_file():
        static = tmp_path_factory.mktemp("demo")
        (static / "index.html").write_text("<!doctype html><title>t</title>")
        (static / "js").mkdir()
        (static / "js" / "app.js").write_text("export {};\n")
    settings = ServeSettings(workers=1, examples_dir=None, static_dir=static)
    assert settings.cors_origins == []
    with TestClient(create_app(settings)) as c:
        yield c


def test_cors_is_off_by_default(demo: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIGN2TEXT_SERVE_CORS_ORIGINS", raising=False)
    assert ServeSettings().cors_origins == []
    origin = {"Origin": "https://evil.example"}
    preflight = demo.options(
        "/v1/recognize/landmarks",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code in (404, 405)
    for path in ("/v1/labels", "/", "/healthz"):
        r = demo.get(path, headers=origin)
        assert "access-control-allow-origin" not in r.headers, path
        assert "access-control-allow-credentials" not in r.headers, path


def _directives(policy: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_csp_allows_only_the_apps_own_origin() -> None:
    d = _directives(CONTENT_SECURITY_POLICY)
    assert d["default-src"] == ["'self'"]
    assert d["script-src"] == ["'self'", "'wasm-unsafe-eval'"]
    assert d["object-src"] == ["'none'"] and d["frame-ancestors"] == ["'none'"]
    for name, sources in d.items():
        assert "*" not in sources and "'unsafe-inline'" not in sources, name
        assert "'unsafe-eval'" not in sources, name
        assert "data:" not in sources or name == "img-src", name
        assert not any(s.startswith(("http:", "https:")) for s in sources), name


@pytest.mark.parametrize("path", ["/", "/static/js/app.js", "/static/no-such-file.js"])
def test_demo_page_and_static_files_carry_the_csp(demo: TestClient, path: str) -> None:
    r = demo.get(path)
    assert r.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, path
    assert r.headers.get("x-content-type-options") == "nosniff"


def test_api_and_docs_are_left_alone(demo: TestClient) -> None:
    # /docs (Swagger UI) starts with an inline script; the JSON API needs no CSP.
    for path in ("/docs", "/v1/labels", "/healthz"):
        assert "content-security-policy" not in demo.get(path).headers, path


def test_web_sources_need_nothing_the_csp_forbids() -> None:
    """No inline script or style, no eval in the demo's own code (vendor code is
    checked in a real browser by tests/browser, which run under the CSP)."""
    static = default_static_dir()
    page = static / "index.html"
    if not page.is_file():
        pytest.skip("the demo is not built in this installation")
    html = page.read_text()
    assert "<style" not in html and " style=" not in html
    assert "<script>" not in html and "javascript:" not in html
    assert not [a for a in ("onclick=", "onload=", "onerror=") if a in html]
    for js in (static / "js").glob("*.js"):
        text = js.read_text()
        assert "eval(" not in text and "new Function(" not in text, js.name
        assert "setAttribute('style'" not in text and 'setAttribute("style"' not in text


def test_the_key_from_the_environment_leaks_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A key given as the service reads it in production (the environment) shows up in
    no answer, no log line and no printed form of the settings."""
    key = "env-s3cret-key"
    monkeypatch.setenv("SIGN2TEXT_SERVE_API_KEY", key)
    monkeypatch.setenv("SIGN2TEXT_SERVE_STATIC_DIR", str(tmp_path))
    serve = ServeSettings(workers=1, examples_dir=None)
    assert serve.api_key_value == key  # read from the environment
    for shown in (repr(serve), str(serve), serve.model_dump_json()):
        assert key not in shown
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(serve)) as c:
        answers = [
            c.get("/v1/labels", headers={"X-API-Key": "nope"}),
            c.get("/v1/labels"),
            c.post("/v1/recognize", content=b"text", headers={"X-API-Key": key}),
            c.get("/v1/nothing", headers={"X-API-Key": key}),
            c.get("/openapi.json"),
        ]
    assert [r.status_code for r in answers] == [401, 401, 415, 404, 200]
    for r in answers:
        assert key not in r.text and key not in str(r.headers)
    assert key not in caplog.text
