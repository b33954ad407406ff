"""Tiny generated clips for the RGB tests (PyAV via ``sign2text.io.video.write_video``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sign2text.io.video import write_video

COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220)}


def clip_frames(label: str, seed: int, n: int = 10, w: int = 48, h: int = 40) -> np.ndarray:
    """A square of the label's colour moving over a grey background, with noise."""
    rng = np.random.default_rng(seed)
    frames = np.full((n, h, w, 3), 120, dtype=np.uint8)
    frames += rng.integers(0, 20, size=frames.shape, dtype=np.uint8)
    x0, y0 = int(rng.integers(0, w - 16)), int(rng.integers(0, h - 16))
    for i in range(n):
        x = (x0 + 2 * i) % (w - 14)
        frames[i, y0 : y0 + 14, x : x + 14] = COLOURS[label]
    return frames


MakeClip = Callable[..., Path]


@pytest.fixture
def make_clip() -> MakeClip:
    def make(path: Path, label: str = "red", seed: int = 0, n: int = 10) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, clip_frames(label, seed, n), fps=10)
        return path

    return make


@pytest.fixture
def folder_dataset(tmp_path: Path, make_clip: MakeClip) -> Path:
    """``<root>/<label>/<clip>.mp4``: 2 labels x 4 clips."""
    root = tmp_path / "videos"
    for label in COLOURS:
        for i in range(4):
            make_clip(
                root / label / f"{label}{i}.mp4", label, seed=i + (10 if label == "red" else 0)
            )
    return root
