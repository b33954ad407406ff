"""Keep MediaPipe's native (C++) log lines out of the console.

MediaPipe 0.10.21 writes absl/glog lines (``W0000 00:00:... inference_feedback_manager.cc
...``, ``INFO: Created TensorFlow Lite XNNPACK delegate``) straight to file descriptor 2;
no environment variable silences them in this build. :class:`NativeStderrFilter` puts a
pipe on fd 2 and forwards every line that is not such a log line to the real stderr, so
real errors (a crash message, a Python warning from a worker) still reach the user.
Python's own ``sys.stderr`` (our error lines, logging, progress bars) is pointed at the
real stderr directly and never goes through the pipe.

Only the console-script entry point uses it (never library code, never under pytest's
capture): it changes a process-wide file descriptor.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import threading
from typing import TextIO

# glog/absl line prefixes: "W0000 00:00:1795672916.185756    7156 file.cc:114] ..."
_NATIVE_LINE = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w./-]+:\d+\] "
    rb"|INFO: Created TensorFlow Lite"
    rb"|WARNING: All log messages before absl::InitializeLog\(\)"
    rb")"
)


def is_native_log_line(line: bytes) -> bool:
    """Whether ``line`` is one of MediaPipe's native log lines (dropped by the filter)."""
    return _NATIVE_LINE.match(line) is not None


def _write(fd: int, data: bytes) -> None:
    # OSError: the real stderr is gone (closed terminal, filter torn down)
    with contextlib.suppress(OSError):
        os.write(fd, data)


class NativeStderrFilter:
    """Context manager: filter native log lines written to fd 2 while it is active."""

    def __init__(self) -> None:
        self._saved_fd: int | None = None
        self._reader: threading.Thread | None = None
        self._old_stderr: TextIO | None = None

    def __enter__(self) -> NativeStderrFilter:
        sys.stderr.flush()
        saved = os.dup(2)
        read_fd, write_fd = os.pipe()
        os.dup2(write_fd, 2)
        os.close(write_fd)
        self._saved_fd = saved
        self._old_stderr = sys.stderr
        sys.stderr = io.TextIOWrapper(
            os.fdopen(os.dup(saved), "wb", buffering=0),
            encoding=getattr(self._old_stderr, "encoding", None) or "utf-8",
            errors="backslashreplace",
            line_buffering=True,  # one write per line: lines never interleave mid-way
        )
        self._reader = threading.Thread(
            target=self._pump, args=(read_fd, saved), name="native-stderr", daemon=True
        )
        self._reader.start()
        return self

    @staticmethod
    def _pump(read_fd: int, out_fd: int) -> None:
        with os.fdopen(read_fd, "rb", buffering=0) as pipe:
            pending = b""
            while chunk := pipe.read(65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if not is_native_log_line(line):
                        _write(out_fd, line + b"\n")
            if pending and not is_native_log_line(pending):
                _write(out_fd, pending)

    def __exit__(self, *exc: object) -> None:
        if self._saved_fd is None:
            return
        sys.stderr.flush()
        # Restoring fd 2 closes the pipe's last write end in this process; the pump
        # ends once child processes that inherited it have exited too.
        os.dup2(self._saved_fd, 2)
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        replaced = sys.stderr
        if self._old_stderr is not None:
            sys.stderr = self._old_stderr
        replaced.close()
        os.close(self._saved_fd)
        self._saved_fd = None
