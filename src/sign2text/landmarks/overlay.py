"""Draw landmarks over frames so a person can check an extraction (PNG and MP4)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.errors import InputError
from sign2text.landmarks.skeleton import FACE, LEFT_HAND, POSE, RIGHT_HAND, limbs

# RGB colours per part.
COLOURS = {
    "face": (200, 200, 200),
    "left_hand": (255, 80, 80),
    "pose": (80, 220, 80),
    "right_hand": (80, 140, 255),
}


def _colour(i: int) -> tuple[int, int, int]:
    for part in (FACE, LEFT_HAND, POSE, RIGHT_HAND):
        if part.start <= i < part.stop:
            return COLOURS[part.name]
    return (255, 255, 255)


def draw(
    image: NDArray[np.uint8], landmarks: NDArray[Any], *, face: bool = False
) -> NDArray[np.uint8]:
    """Return a copy of an RGB frame with one frame of landmarks (543, 3) drawn on it."""
    import cv2

    out = np.ascontiguousarray(image.copy())
    h, w = out.shape[:2]
    thick = max(1, round(max(h, w) / 320))
    xy = landmarks[:, :2] * np.array([w, h], dtype=np.float32)
    ok = np.isfinite(xy).all(axis=1)
    # Points can lie outside the frame; clip so OpenCV's int32 coordinates cannot overflow.
    xy = np.clip(np.nan_to_num(xy), -4 * max(h, w), 4 * max(h, w))
    for a, b in limbs():
        if not face and a < FACE.stop:
            continue
        if ok[a] and ok[b]:
            pa = (int(xy[a, 0]), int(xy[a, 1]))
            pb = (int(xy[b, 0]), int(xy[b, 1]))
            cv2.line(out, pa, pb, _colour(a), thick, cv2.LINE_AA)
    start = 0 if face else FACE.stop
    for i in range(start, len(xy)):
        if ok[i] and (face or i >= FACE.stop):
            cv2.circle(out, (int(xy[i, 0]), int(xy[i, 1])), thick + 1, _colour(i), -1)
    return out


def overlay_frames(frames: NDArray[np.uint8], landmarks: NDArray[Any]) -> NDArray[np.uint8]:
    """Draw each frame's landmarks; frames (T, H, W, 3), landmarks (T, 543, 3)."""
    return np.stack([draw(f, lm) for f, lm in zip(frames, landmarks, strict=True)])


def contact_sheet(
    frames: NDArray[np.uint8] | Sequence[NDArray[np.uint8]], cols: int = 4, max_tiles: int = 12
) -> NDArray[np.uint8]:
    """Tile up to ``max_tiles`` evenly spaced frames into one image (black padding)."""
    if len(frames) == 0:
        raise InputError("contact sheet: no frames")
    cols = max(1, min(cols, len(frames), max_tiles))
    idx = np.linspace(0, len(frames) - 1, num=min(max_tiles, len(frames))).round().astype(int)
    tiles = [frames[i] for i in idx]
    rows = (len(tiles) + cols - 1) // cols
    h, w = tiles[0].shape[:2]
    sheet = np.zeros((rows * h, cols * w, 3), dtype=np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        sheet[r * h : (r + 1) * h, c * w : (c + 1) * w] = tile
    return sheet


def save_png(path: str | Path, image: NDArray[np.uint8]) -> None:
    """Write an RGB image as PNG, atomically."""
    import io

    from PIL import Image

    from sign2text.io.atomic import atomic_write_bytes

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
