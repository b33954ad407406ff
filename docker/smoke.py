"""Start ``sign2text serve`` from an installed environment and check it answers.

Run with the Python of the environment under test (standard library only):
    VENV/bin/python docker/smoke.py CLIP EXPECTED_WORD
It starts the server on a free loopback port from a scratch working directory (so the
packaged model and web assets are used, not the checkout), waits for /readyz, checks
/healthz, the demo page, the model download and one real upload, then stops the server
with SIGTERM and requires a clean exit.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return int(r.status), r.read()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read()


def _upload(url: str, clip: Path) -> tuple[int, bytes]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{clip.name}"\r\nContent-Type: video/mp4\r\n\r\n'
        ).encode()
        + clip.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    req = urllib.request.Request(
        url, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return int(r.status), r.read()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read()


def main() -> int:
    clip, expected = Path(sys.argv[1]).resolve(), sys.argv[2]
    exe = Path(sys.executable).parent / "sign2text"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as cwd:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIGN2TEXT_")}
        proc = subprocess.Popen(
            [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=cwd, env=env
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    print(f"smoke: server exited early with {proc.returncode}", file=sys.stderr)
                    return 1
                try:
                    if _get(base + "/readyz")[0] == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    print("smoke: server not ready after 120 s", file=sys.stderr)
                    return 1
                time.sleep(0.5)
            checks = {
                "/healthz": _get(base + "/healthz")[0] == 200,
                "/": b"<html" in _get(base + "/")[1].lower(),
                "/v1/model.onnx": len(_get(base + "/v1/model.onnx")[1]) > 100_000,
            }
            status, body = _upload(base + "/v1/recognize", clip)
            label = json.loads(body).get("label") if status == 200 else None
            checks[f"/v1/recognize -> {expected}"] = label == expected
            for name, ok in checks.items():
                print(f"smoke: {'ok  ' if ok else 'FAIL'} {name}")
            if label != expected:
                print(f"smoke: upload answered {status} {body[:300]!r}", file=sys.stderr)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = -9
        # uvicorn shuts down gracefully, then re-raises SIGTERM: -15 is a clean exit
        clean = code in (0, -signal.SIGTERM)
        checks["clean exit on SIGTERM"] = clean
        print(f"smoke: {'ok  ' if clean else 'FAIL'} clean exit on SIGTERM (code {code})")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
