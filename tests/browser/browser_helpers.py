"""Helpers of the real-browser tests (shared by conftest.py and the test modules)."""

from __future__ import annotations

import base64
import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from numpy.typing import NDArray

CHROMIUM = Path("/usr/bin/chromium")
STATIC = Path(__file__).resolve().parents[2] / "src" / "sign2text" / "serve" / "static"
VENDOR = STATIC / "vendor"
VENDOR_FILES = (
    "holistic/holistic.js",
    "holistic/holistic_body.binarypb",
    "holistic/holistic_solution_simd_wasm_bin.wasm",
    "holistic/holistic_solution_packed_assets.data",
    "holistic/pose_landmark_full.tflite",
    "ort/ort.wasm.bundle.min.mjs",
    "ort/ort-wasm-simd-threaded.wasm",
)
# Start flags verified on this kind of machine (../shared/STACK.md).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HELLO = "hello__sdb1228__hello.mp4"


def skip_reason() -> str | None:
    """Why the browser tests cannot run here (None when they can).

    CI sets ``SIGN2TEXT_REQUIRE_BROWSER=1``: there a missing piece fails the run
    instead of skipping the browser tests quietly.
    """
    reason = _missing_piece()
    if reason and os.environ.get("SIGN2TEXT_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"browser tests required but cannot run: {reason}")
    return reason


def _missing_piece() -> str | None:
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    missing = [f for f in VENDOR_FILES if not (VENDOR / f).is_file()]
    if missing:
        return (
            f"the web demo's vendor files are not built ({', '.join(missing)}): "
            "run `cd web && npm ci --ignore-scripts && node build.mjs`"
        )
    try:
        import fastapi  # noqa: F401
        import playwright.sync_api  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (dev and serve extras)"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    host: str
    port: int


@dataclass
class Traffic:
    """Every request and WebSocket a page opened, in order."""

    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, url)
    websockets: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def mark(self) -> int:
        return len(self.requests)

    def since(self, mark: int) -> list[tuple[str, str]]:
        return self.requests[mark:]

    def foreign(self, server: Server) -> list[str]:
        """Requests to anything but the server (data: and blob: URLs stay in the page)."""
        out = []
        for _, url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob"):
                continue
            if (parts.hostname, parts.port) != (server.host, server.port):
                out.append(url)
        return out


@dataclass
class PageEnv:
    page: Any
    traffic: Traffic
    server: Server


def to_b64(array: NDArray[Any]) -> str:
    """float32 bytes, base64: how landmark arrays travel into the page (NaN included)."""
    return base64.b64encode(np.ascontiguousarray(array, dtype=np.float32).tobytes()).decode()


def from_b64(text: str, shape: tuple[int, ...]) -> NDArray[np.float32]:
    return np.frombuffer(base64.b64decode(text), dtype=np.float32).reshape(shape)


# In-page helpers, defined on window by `install_page_helpers` before a test uses them.
PAGE_HELPERS = """
async () => {
  if (window.t) return;
  const skeleton = await import('/static/js/skeleton.js');
  const features = await import('/static/js/features.js');
  const stream = await import('/static/js/stream.js');
  const classifier = await import('/static/js/classifier.js');
  const runtime = await import('/static/js/runtime.js');
  const skel = skeleton.makeSkeleton(await (await fetch('/v1/skeleton')).json());
  const model = await (await fetch('/v1/model')).json();
  const decode = (b64) => {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Float32Array(bytes.buffer);
  };
  const encode = (f32) => {
    const bytes = new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength);
    let bin = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(bin);
  };
  const frames = (b64) => {
    const all = decode(b64);
    const n = skel.nPoints * skel.nDims;
    const out = [];
    for (let i = 0; i < all.length; i += n) out.push(all.slice(i, i + n));
    return out;
  };
  let clf = null;
  const getClassifier = async () => {
    if (!clf) clf = (await runtime.loadClassifier()).classifier;
    return clf;
  };
  window.t = { skeleton, features, stream, classifier, runtime, skel, model, decode, encode,
               frames, getClassifier };
}
"""


def install_page_helpers(page: Any) -> None:
    page.evaluate(PAGE_HELPERS)


def fake_camera_y4m(clip: Path, out: Path) -> Path:
    """``clip`` as a 640x480 30 fps y4m for Chromium's fake camera (~36 MB for 3 s).

    Skips without ffmpeg, or fails when CI requires the browser tests.
    """
    import shutil
    import subprocess

    import pytest

    if shutil.which("ffmpeg") is None:
        if os.environ.get("SIGN2TEXT_REQUIRE_BROWSER") == "1":
            pytest.fail("ffmpeg is required for the fake-camera tests")
        pytest.skip("ffmpeg is not installed")
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-i", str(clip)]
    cmd += ["-vf", "scale=640:480", "-r", "30", "-pix_fmt", "yuv420p", str(out)]
    subprocess.run(cmd, check=True, timeout=120)
    return out


@contextlib.contextmanager
def fake_camera_browser(y4m: Path) -> Iterator[Any]:
    """Debian Chromium whose camera loops ``y4m`` (see :func:`fake_camera_y4m`)."""
    from playwright.sync_api import sync_playwright

    args = [
        *CHROMIUM_FLAGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={y4m}",
    ]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield b
        b.close()


@contextlib.contextmanager
def page_opener(
    browser: Any, server: Server, default_path: str, default_viewport: tuple[int, int], **ctx: Any
) -> Iterator[Callable[..., PageEnv]]:
    """``open(path, viewport)``: the demo in a fresh browser context (``ctx`` options), with
    every request, WebSocket and console line recorded; contexts closed at the end."""
    contexts: list[Any] = []

    def _open(path: str = default_path, viewport: tuple[int, int] = default_viewport) -> PageEnv:
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, **ctx)
        contexts.append(context)
        page = context.new_page()
        traffic = Traffic()
        page.on("request", lambda r: traffic.requests.append((r.method, r.url)))
        page.on("websocket", lambda ws: traffic.websockets.append(ws.url))
        page.on("console", lambda m: traffic.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: traffic.console.append(f"pageerror: {e}"))
        page.goto(server.url + path)
        page.wait_for_selector("body[data-ready='true']", timeout=30_000)
        return PageEnv(page, traffic, server)

    try:
        yield _open
    finally:
        for context in contexts:
            context.close()
