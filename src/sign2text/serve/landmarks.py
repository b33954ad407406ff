"""Landmark lists from JSON (validated by the schemas) -> float32 arrays, NaN = missing."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.landmarks.skeleton import N_DIMS, N_POINTS
from sign2text.serve.errors import ApiError

_MISSING = (math.nan,) * N_DIMS


def invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_landmarks", message)


def frame_array(points: Sequence[Sequence[float | None] | None]) -> NDArray[np.float32]:
    """One frame of 543 points (each ``[x, y, z]`` or None) -> (543, 3); None -> NaN."""
    with np.errstate(over="ignore", invalid="ignore"):
        # A None point is a missing one; every point None is a frame where nothing was
        # found (numpy would read that list as 543 NaN scalars, not 543 points).
        filled = [p if p is not None else _MISSING for p in points]
        try:
            arr = np.asarray(filled, dtype=np.float32)
        except (ValueError, TypeError):  # ragged points
            raise invalid("every point must be [x, y, z] or null") from None
    if arr.shape != (N_POINTS, N_DIMS):
        raise invalid(f"a frame must be ({N_POINTS}, {N_DIMS}) points, got {arr.shape}")
    if np.isinf(arr).any():
        raise invalid("a coordinate is out of the float32 range")
    return arr


def sequence_array(frames: Sequence[Sequence[Any]], max_frames: int) -> NDArray[np.float32]:
    """``T`` frames -> (T, 543, 3); 1 <= T <= ``max_frames``."""
    if not 1 <= len(frames) <= max_frames:
        raise invalid(f"need 1 to {max_frames} frames, got {len(frames)}")
    out = np.empty((len(frames), N_POINTS, N_DIMS), dtype=np.float32)
    for i, frame in enumerate(frames):
        out[i] = frame_array(frame)
    return out
