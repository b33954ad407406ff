"""The service never imports torch (the runtime install has none)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

_SCRIPT = """
import sys
if sys.argv[1] == "blocked":
    sys.modules["torch"] = None  # any 'import torch' now raises ImportError
from fastapi.testclient import TestClient
from sign2text.serve import ServeSettings, create_app
import sign2text.cli.cmd_serve
app = create_app(ServeSettings(workers=1, queue_size=0, examples_dir=None))
frame = [[0.5, 0.5, 0.0]] * 543
with TestClient(app) as c:
    r = c.post("/v1/recognize/landmarks", json={"landmarks": [frame] * 8})
    assert r.status_code == 200, r.text
    with c.websocket_connect("/v1/stream") as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.send_json({"t": 0.0, "landmarks": frame})
        ws.send_json({"type": "flush"})
        while ws.receive_json()["type"] != "flushed":
            pass
    if len(sys.argv) > 2:
        with open(sys.argv[2], "rb") as fh:
            clip = fh.read()
        r = c.post("/v1/recognize", files={"file": ("c.mp4", clip, "video/mp4")})
        assert r.status_code == 200, r.text
loaded = sorted(
    m for m, mod in sys.modules.items() if mod is not None and m.split(".")[0] == "torch"
)
assert not loaded, loaded
print("clean")
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["blocked", "plain"])
def test_serve_never_imports_torch(mode: str, videos_dir: Path) -> None:
    args = [sys.executable, "-c", _SCRIPT, mode]
    if mode == "plain":  # the whole video path too: decode, MediaPipe, classifier
        args.append(str(videos_dir / "book__Osushi2022__07074.mp4"))
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1] == "clean"
