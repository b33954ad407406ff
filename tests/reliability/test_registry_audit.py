"""``registry_audit.py``: yanked PyPI releases and deprecated npm versions are findings.

The first tests use a fake registry on loopback (they can fail: each finding kind is
planted). The last one audits this environment and ``web/package-lock.json`` against
the real registries: it skips when they cannot be reached, unless
``SIGN2TEXT_REQUIRE_REGISTRY_AUDIT=1`` (set by ``.ci/run``, whose machines reach them).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from registry_audit import audit, installed_distributions, locked_npm_packages
from reliability_helpers import skip_or_fail


def _files(name: str, versions: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"filename": f"{name}-{v}-py3-none-any.whl", "yanked": y, "hashes": {}, "url": "x"}
        for v, y in versions.items()
    ]


DOCS: dict[str, Any] = {
    "/simple/goodpkg/": {"files": _files("goodpkg", {"1.0": False, "2.0": False})},
    "/simple/badpkg/": {"files": _files("badpkg", {"1.0": "CVE-2099-1 remote code execution"})},
    "/simple/quietpkg/": {"files": _files("quietpkg", {"3.1": True})},
    "/npm/leftpad": {
        "dist-tags": {"latest": "1.1.0"},
        "versions": {"1.0.0": {"deprecated": "security hole, use 1.1.0"}, "1.1.0": {}},
    },
    "/npm/gone": {"dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": {}}},
    "/npm/fine": {"dist-tags": {"latest": "4.0.0"}, "versions": {"4.0.0": {}}},
}


class _Registry(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        doc = DOCS.get(self.path)
        body = json.dumps(doc).encode() if doc is not None else b"{}"
        self.send_response(200 if doc is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_findings_are_reported(registry: str) -> None:
    status, details = audit(
        index=f"{registry}/simple/",
        registry=f"{registry}/npm/",
        python={"goodpkg": "1.0", "badpkg": "1.0", "quietpkg": "3.1"},
        npm={"leftpad@1.0.0": "1.0.0", "gone@2.0.0": "2.0.0", "fine@4.0.0": "4.0.0"},
    )
    assert status == "findings"
    why = {f["package"]: f["why"] for f in details["findings"]}
    assert why == {
        "badpkg==1.0": "yanked: CVE-2099-1 remote code execution",
        "quietpkg==3.1": "yanked: yanked (no reason given)",
        "leftpad@1.0.0": "deprecated: security hole, use 1.1.0",
        "gone@2.0.0": "version not in the registry",
    }
    assert "goodpkg 1.0 (newest 2.0)" in details["behind"]  # listed, not a finding
    assert "leftpad@1.0.0 (newest 1.1.0)" in details["behind"]


def test_clean_and_local_builds(registry: str) -> None:
    status, details = audit(
        index=f"{registry}/simple/",
        registry=f"{registry}/npm/",
        python={"goodpkg": "2.0+cpu"},  # a local build is checked as its public release
        npm={"fine@4.0.0": "4.0.0"},
    )
    assert status == "ok", details
    assert details["findings"] == [] and details["behind"] == []


def test_unreachable_registry_is_unavailable_not_ok(registry: str) -> None:
    status, details = audit(
        index="http://127.0.0.1:9/simple/",
        registry="http://127.0.0.1:9/npm/",
        python={"goodpkg": "2.0"},
        npm={"fine@4.0.0": "4.0.0"},
        timeout=2,
    )
    assert status == "unavailable" and "0 of 2" in details["reason"]


def test_inventory_of_this_project() -> None:
    py = installed_distributions()
    assert "sign2text" not in py and "onnxruntime" in py and "fastapi" in py
    js = locked_npm_packages()
    assert any(s.startswith("onnxruntime-web@") for s in js)
    assert any(s.startswith("@mediapipe/holistic@") for s in js)


@pytest.mark.slow
def test_installed_and_locked_dependencies_pass_the_registries() -> None:
    status, details = audit(timeout=30)
    if status == "unavailable":
        reason = f"registries unreachable: {details.get('reason')} {details.get('errors')}"
        skip_or_fail(reason, "SIGN2TEXT_REQUIRE_REGISTRY_AUDIT")
    assert status == "ok", details["findings"]
