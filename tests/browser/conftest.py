"""Fixtures of the real-browser tests: the real app on a loopback port, Debian Chromium
driven by Playwright (never ``playwright install``), a fake camera playing a real clip.

Each test module skips itself when ``/usr/bin/chromium`` or the built vendor folder
(``cd web && npm ci && node build.mjs``) is missing (see ``browser_helpers.skip_reason``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    HELLO,
    STATIC,
    PageEnv,
    Server,
    Traffic,
    free_port,
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
    if shutil.which("ffmpeg") is None:
        if os.environ.get("SIGN2TEXT_REQUIRE_BROWSER") == "1":
            pytest.fail("ffmpeg is required for the fake-camera test")
        pytest.skip("ffmpeg is not installed")
    out = tmp_path_factory.mktemp("camera") / "hello.y4m"
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-i", str(videos_dir / HELLO)]
    cmd += ["-vf", "scale=640:480", "-r", "30", "-pix_fmt", "yuv420p", str(out)]
    subprocess.run(cmd, check=True, timeout=120)
    return out


@pytest.fixture(scope="module")
def browser(fake_camera_clip: Path) -> Iterator[Any]:
    """Debian Chromium with a fake camera that loops the hello clip.

    Module scope, not session: Playwright's sync API runs an asyncio loop in the main
    thread while it is open, and later tests that call ``asyncio.run`` (tests/serve)
    fail with "cannot be called from a running event loop" if it outlives this folder.
    """
    from playwright.sync_api import sync_playwright

    args = [
        *CHROMIUM_FLAGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={fake_camera_clip}",
    ]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield b
        b.close()


@pytest.fixture
def open_page(browser: Any, server: Server) -> Iterator[Callable[..., PageEnv]]:
    """``open_page(path="/", viewport=(w, h))``: the demo in a fresh browser context,
    with every request, WebSocket and console line recorded."""
    contexts: list[Any] = []

    def _open(path: str = "/", viewport: tuple[int, int] = (1280, 900)) -> PageEnv:
        ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        contexts.append(ctx)
        page = ctx.new_page()
        traffic = Traffic()
        page.on("request", lambda r: traffic.requests.append((r.method, r.url)))
        page.on("websocket", lambda ws: traffic.websockets.append(ws.url))
        page.on("console", lambda m: traffic.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: traffic.console.append(f"pageerror: {e}"))
        page.goto(server.url + path)
        page.wait_for_selector("body[data-ready='true']", timeout=30_000)
        return PageEnv(page, traffic, server)

    yield _open
    for ctx in contexts:
        ctx.close()
