"""Frame sources: a common interface over video files and cameras for live use."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from sign2text.errors import InputError
from sign2text.io.video import Frame, VideoLimits, iter_frames, probe


class FrameSource(Protocol):
    """Anything that yields upright RGB frames with timestamps."""

    fps: float

    def frames(self) -> Iterator[Frame]: ...


class VideoFileSource:
    """A video file as a frame source; ``realtime=True`` replays it at its own fps."""

    def __init__(
        self, path: str | Path, *, realtime: bool = False, limits: VideoLimits | None = None
    ) -> None:
        self.path = Path(path)
        self.limits = limits or VideoLimits()
        self.fps = probe(self.path, self.limits).fps or 30.0
        self.realtime = realtime

    def frames(self) -> Iterator[Frame]:
        start = time.monotonic()
        for frame in iter_frames(self.path, limits=self.limits):
            if self.realtime:
                delay = start + frame.time_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield frame


class CameraSource:
    """An OpenCV camera (device index) as a frame source."""

    def __init__(self, index: int = 0, *, width: int = 640, height: int = 480) -> None:
        import cv2

        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            raise InputError(f"camera {index}: cannot be opened (no such device or busy)")
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0 < fps < 240 else 30.0
        self.index = index

    def frames(self) -> Iterator[Frame]:
        import cv2

        start = time.monotonic()
        i = 0
        try:
            while True:
                ok, bgr = self._cap.read()
                if not ok:
                    return
                rgb = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                yield Frame(index=i, time_s=time.monotonic() - start, image=rgb)
                i += 1
        finally:
            self._cap.release()
