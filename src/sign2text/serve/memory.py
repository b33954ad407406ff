"""Give freed heap memory back to the OS after a video job (glibc only).

Each clip re-creates the MediaPipe graph (tracking must not carry over between
clips); glibc's malloc keeps the freed blocks mapped, and a worker's resident memory
crept from ~0.4 to ~0.75-0.84 GiB over 16 clips. Calling
``malloc_trim(0)`` after each job keeps it at the one-clip level (measured in
``docs/benchmarks.md``, "Service"). Elsewhere (musl, macOS) this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from functools import cache

log = logging.getLogger(__name__)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        fn = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    trim: Callable[[int], int] = fn
    return trim


def release_free_memory() -> None:
    """Return free heap pages to the OS where the C library can (glibc)."""
    trim = _malloc_trim()
    if trim is not None:
        try:
            trim(0)
        except Exception:  # never let housekeeping fail a request
            log.debug("malloc_trim failed", exc_info=True)
