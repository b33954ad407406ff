"""``sign2text serve`` as a real process: readiness, an upload over HTTP, limits on the
wire (chunked body over the cap, a body that never arrives, ".." in the raw request
line), clean SIGTERM."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sign2text.cli.cmd_serve import settings_from_args
from sign2text.cli.main import build_parser
from sign2text.errors import ConfigError

MIB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _command() -> list[str]:
    script = Path(sys.executable).with_name("sign2text")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "sign2text.cli.main"]


class Server:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc = proc
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, videos_dir: Path) -> Iterator[Server]:
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = dict(
        os.environ,
        SIGN2TEXT_SERVE_MAX_UPLOAD_BYTES=str(1 * MIB),
        SIGN2TEXT_SERVE_READ_TIMEOUT_S="2",
        SIGN2TEXT_SERVE_EXAMPLES_DIR=str(videos_dir),
        SIGN2TEXT_SERVE_PORT="1",  # the flag below must win over the environment
    )
    cmd = [*_command(), "serve", "--port", str(port), "--workers", "1", "--queue-size", "2"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    srv = Server(proc, port, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}:\n{srv.output()}")
            try:
                if httpx.get(f"{srv.base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not ready in 90 s:\n{srv.output()}")
            time.sleep(0.2)
        yield srv
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.mark.slow
def test_upload_over_http(server: Server, videos_dir: Path) -> None:
    clip = (videos_dir / "hello__sdb1228__hello.mp4").read_bytes()
    r = httpx.post(
        f"{server.base}/v1/recognize",
        files={"file": ("hello.mp4", clip, "video/mp4")},
        timeout=120,
    )
    assert r.status_code == 200, r.text
    assert r.json()["label"] == "hello"
    ready = httpx.get(f"{server.base}/readyz").json()
    assert ready["workers"] == 1 and ready["queue_size"] == 2


def _read_reply(s: socket.socket) -> bytes:
    """One HTTP response (head and Content-Length body), or what came before a reset."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            part = s.recv(65536)
            if not part:
                return data
            data += part
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            part = s.recv(65536)
            if not part:
                break
            body += part
        return head + b"\r\n\r\n" + body
    except ConnectionResetError:
        return data


# Request targets sent byte for byte (HTTP clients normalize "..": these do not), aimed
# at real files next to the served folders: the examples folder is the shared videos
# folder, whose sibling data/ holds README.md, and the package's static folder sits
# three levels below the repository's pyproject.toml.
TRAVERSALS = [
    b"/v1/examples/../data/README.md",
    b"/v1/examples/..%2fdata%2fREADME.md",
    b"/v1/examples/%2e%2e%2fdata%2fREADME.md",
    b"/static/../../../../pyproject.toml",
    b"/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
    b"/static/..%2f..%2f..%2f..%2fpyproject.toml",
    b"/static//etc/passwd",
]


def _raw_get(server: Server, target: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        return _read_reply(s)


def test_raw_request_line_serves_the_files_it_may(server: Server) -> None:
    """The control for the traversal test: the same raw request reaches real files."""
    assert _raw_get(server, b"/static/index.html").startswith(b"HTTP/1.1 200")
    reply = _raw_get(server, b"/v1/examples/hello__sdb1228__hello.mp4")
    assert reply.startswith(b"HTTP/1.1 200") and b"ftyp" in reply[:2000]


@pytest.mark.parametrize("target", TRAVERSALS, ids=lambda t: t.decode())
def test_traversal_in_the_raw_request_line(server: Server, target: bytes) -> None:
    reply = _raw_get(server, target)
    status = reply.split(b"\r\n", 1)[0]
    assert status.split()[1] in (b"400", b"404"), reply[:300]
    for secret in (b"Sign-language landmark data", b"[project]", b"root:"):
        assert secret not in reply


def test_chunked_upload_is_cut_at_the_cap(server: Server) -> None:
    head = (
        b"POST /v1/recognize HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: video/mp4\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"\0" * (64 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head)
        for _ in range(64):  # up to 4 MiB; the cap is 1 MiB
            if select.select([s], [], [], 0.02)[0]:
                break  # the server answered already
            try:
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            except OSError:
                break
            sent += len(chunk)
        reply = _read_reply(s)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b'"payload_too_large"' in reply
    assert sent <= 2 * MIB  # answered long before the 4 MiB were sent


def test_body_that_never_arrives_times_out(server: Server) -> None:
    head = (
        b"POST /v1/recognize HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: video/mp4\r\nContent-Length: 100000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as s:
        s.sendall(head + b"\0" * 1000)
        start = time.monotonic()
        reply = _read_reply(s)
        waited = time.monotonic() - start
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b'"request_timeout"' in reply
    assert waited < 10


def test_stream_over_the_wire(server: Server) -> None:
    client = pytest.importorskip(
        "websockets.sync.client",
        reason="uvicorn serves WebSockets only with the websockets (or wsproto) package",
    )
    with client.connect(f"ws://127.0.0.1:{server.port}/v1/stream") as ws:
        assert json.loads(ws.recv())["type"] == "ready"
        ws.send(json.dumps({"type": "flush"}))
        assert json.loads(ws.recv())["type"] == "flushed"


def test_sigterm_stops_the_server_cleanly(server: Server) -> None:
    assert httpx.get(f"{server.base}/healthz").json() == {"status": "ok"}
    server.proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught (so that a
    # supervisor sees why it stopped): -SIGTERM after a clean shutdown is expected.
    assert server.proc.wait(30) in (0, -signal.SIGTERM), server.output()
    out = server.output()
    assert "Application shutdown complete" in out
    assert "Traceback" not in out


def _args(*argv: str) -> Any:
    return build_parser().parse_args(["serve", *argv])


def test_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGN2TEXT_SERVE_WORKERS", "5")
    monkeypatch.setenv("SIGN2TEXT_SERVE_PORT", "9000")
    s = settings_from_args(
        _args("--port", "8123", "--max-upload-mb", "1.5", "--cors-origin", "http://a")
    )
    assert s.port == 8123 and s.workers == 5
    assert s.max_upload_bytes == int(1.5 * MIB) and s.cors_origins == ["http://a"]
    with pytest.raises(ConfigError, match="workers"):
        settings_from_args(_args("--workers", "0"))


def test_vocabulary_flag_then_environment_then_user_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_file = tmp_path / "user.json"
    monkeypatch.setenv("SIGN2TEXT_VOCAB", str(user_file))
    monkeypatch.delenv("SIGN2TEXT_SERVE_VOCAB", raising=False)
    assert settings_from_args(_args()).vocab is None  # no file yet: no vocabulary
    user_file.write_text("{}")
    assert settings_from_args(_args()).vocab == user_file
    monkeypatch.setenv("SIGN2TEXT_SERVE_VOCAB", str(tmp_path / "env.json"))
    assert settings_from_args(_args()).vocab == tmp_path / "env.json"
    flag = tmp_path / "flag.json"
    assert settings_from_args(_args("--vocab", str(flag))).vocab == flag


def test_bad_model_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "junk.onnx"
    bad.write_bytes(b"junk")
    proc = subprocess.run(
        [*_command(), "serve", "--model", str(bad), "--port", str(_free_port())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("sign2text: error:")
