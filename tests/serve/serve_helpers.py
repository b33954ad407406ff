"""Helpers shared by the service tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from sign2text.landmarks import skeleton as sk


def rest(like: np.ndarray, frames: int) -> np.ndarray:
    """Frames of the signer at rest: the last pose of ``like`` with no hands."""
    out = np.repeat(like[-1:], frames, axis=0).copy()
    out[:, sk.LEFT_HAND.start : sk.LEFT_HAND.stop] = np.nan
    out[:, sk.RIGHT_HAND.start : sk.RIGHT_HAND.stop] = np.nan
    return out


def to_json_frames(landmarks: np.ndarray) -> list[list[list[float] | None]]:
    """(T, 543, 3) -> JSON lists, a missing point as null (as a browser would send)."""
    out: list[list[list[float] | None]] = []
    for frame in np.asarray(landmarks, dtype=np.float64):
        missing = np.isnan(frame).any(axis=1)
        rows = frame.tolist()
        out.append([None if missing[i] else rows[i] for i in range(len(rows))])
    return out


def error_of(response: Any) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return dict(body["error"])
