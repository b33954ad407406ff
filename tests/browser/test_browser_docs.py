"""The API docs at /docs render in Chromium from the app's own files: no CDN request."""

from __future__ import annotations

from typing import Any

import pytest
from browser_helpers import Server, Traffic, skip_reason

_reason = skip_reason()
if _reason is not None:
    pytest.skip(_reason, allow_module_level=True)


def test_docs_render_offline(browser: Any, server: Server) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        traffic = Traffic()
        page.on("request", lambda r: traffic.requests.append((r.method, r.url)))
        page.goto(f"{server.url}/docs")
        # Swagger UI rendered the spec: the title and an operation of the API.
        page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
        assert "Sign2Text" in page.inner_text(".swagger-ui .info .title")
        path = ".opblock-summary-path[data-path='/v1/recognize/landmarks']"
        page.wait_for_selector(path, timeout=30_000)
        assert traffic.foreign(server) == []
    finally:
        context.close()
