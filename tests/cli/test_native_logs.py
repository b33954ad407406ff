"""MediaPipe's native log lines stay out of the console; everything else gets through."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from sign2text.cli.native_logs import is_native_log_line

NATIVE = [
    b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"W0000 00:00:1795672910.499201    6970 inference_feedback_manager.cc:114] Feedback "
    b"manager requires a model with a single signature inference.",
    b"I0000 00:00:1795672910.935337    6969 gl_context.cc:369] GL version: 2.1",
]
OTHER = [
    b"sign2text: error: clip.mp4: no such file",
    b"Traceback (most recent call last):",
    b"Segmentation fault (core dumped)",
    b"W0000 is not a log line without the rest",
]


def test_classifies_native_lines() -> None:
    assert all(is_native_log_line(line) for line in NATIVE)
    assert not any(is_native_log_line(line) for line in OTHER)


def test_filter_drops_native_lines_and_keeps_the_rest(tmp_path: Path) -> None:
    script = tmp_path / "emit.py"
    lines = [*NATIVE, *OTHER]
    script.write_text(
        textwrap.dedent(
            f"""
            import os, subprocess, sys
            from sign2text.cli.native_logs import NativeStderrFilter
            with NativeStderrFilter():
                for line in {lines!r}:
                    os.write(2, line + b"\\n")          # native code writes to fd 2
                print("python-level message", file=sys.stderr)
                subprocess.run([sys.executable, "-c",
                                "import os; os.write(2, {NATIVE[0]!r} + b'\\\\nchild ok\\\\n')"])
            print("after", file=sys.stderr)
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, timeout=60, check=True
    )
    err = proc.stderr.splitlines()
    assert not any(is_native_log_line(line) for line in err)
    # fd-2 lines pass through a pump thread, so only their own order is kept
    assert sorted(err) == sorted([*OTHER, b"python-level message", b"child ok", b"after"])
    assert [line for line in err if line in OTHER] == OTHER
    assert err[-1] == b"after"


def test_console_script_hides_mediapipe_noise(videos_dir: Path) -> None:
    exe = Path(sys.executable).parent / "sign2text"
    clip = videos_dir / "hello__sdb1228__hello.mp4"
    proc = subprocess.run(
        [str(exe), "recognize", str(clip), "--top-k", "1"],
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"hello")
    assert proc.stderr == b""
