"""Fixtures of the real-browser tests: the real app on a loopback port, Debian Chromium
driven by Playwright (never ``playwright install``), a fake camera playing a real clip.

Each test module skips itself when ``/usr/bin/chromium`` or the built vendor folder
(``cd web && npm ci --ignore-scripts && node build.mjs``) is missing (see
``browser_helpers.skip_reason``).
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import (
    HELLO,
    STATIC,
    PageEnv,
    Server,
    fake_camera_browser,
    fake_camera_y4m,
    free_port,
    page_opener,
)


@pytest.fixture(scope="session")
def server(videos_dir: Path) -> Iterator[Server]:
    """The real app (``sign2text.serve.create_app``) served by uvicorn in a thread."""
    import uvicorn

    from sign2text.serve import ServeSettings, create_app

    port = free_port()
    settings = ServeSettings(
        host="127.0.0.1",
        port=port,
        workers=1,
        queue_size=4,
        examples_dir=videos_dir,
        static_dir=STATIC,
        access_log=False,
    )
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="uvicorn-browser-tests", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not become ready within 60 s")
        time.sleep(0.2)
    yield Server(url=url, host="127.0.0.1", port=port)
    srv.should_exit = True
    thread.join(timeout=15)


@pytest.fixture(scope="session")
def fake_camera_clip(videos_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hello clip as a 640x480 30 fps y4m for Chromium's fake camera (~36 MB, in tmp)."""
    return fake_camera_y4m(videos_dir / HELLO, tmp_path_factory.mktemp("camera") / "hello.y4m")


@pytest.fixture(scope="module")
def browser(fake_camera_clip: Path) -> Iterator[Any]:
    """Debian Chromium with a fake camera that loops the hello clip.

    Module scope, not session: Playwright's sync API runs an asyncio loop in the main
    thread while it is open, and later tests that call ``asyncio.run`` (tests/serve)
    fail with "cannot be called from a running event loop" if it outlives this folder.
    """
    with fake_camera_browser(fake_camera_clip) as b:
        yield b


@pytest.fixture
def open_page(browser: Any, server: Server) -> Iterator[Callable[..., PageEnv]]:
    """``open_page(path="/", viewport=(w, h))``: the demo in a fresh browser context,
    with every request, WebSocket and console line recorded."""
    with page_opener(browser, server, "/", (1280, 900)) as open_:
        yield open_
