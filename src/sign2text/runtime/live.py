"""Live recognition from a camera or a replayed video (no torch).

A capture thread reads frames at the source's own rate into a one-slot "latest frame"
buffer: when the worker is busy the older frame is *dropped* (and counted) instead of
queued, so latency stays bounded by one frame of processing. The worker (the calling
thread, which also owns the optional OpenCV window) runs Holistic and a
:class:`~sign2text.runtime.stream.StreamRecognizer` on the newest frame.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.errors import ModelInputError
from sign2text.io.camera import FrameSource
from sign2text.io.video import Frame
from sign2text.landmarks.holistic import HolisticExtractor
from sign2text.runtime.recognizer import Recognizer
from sign2text.runtime.stream import StreamConfig, StreamRecognizer, WordEvent

log = logging.getLogger(__name__)

WINDOW = "sign2text live"


class LatestFrame:
    """A one-slot buffer: ``put`` replaces an unread frame (counted as dropped)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._closed = False
        self.put_count = 0
        self.dropped = 0

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self.put_count += 1
            self._cond.notify()

    def close(self) -> None:
        """No more frames: ``get`` returns the last unread frame, then None."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> Frame | None:
        """The newest unread frame; None once closed and empty (or on timeout)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._frame is not None or self._closed, timeout):
                return None
            frame, self._frame = self._frame, None
            return frame


@dataclass
class LiveStats:
    """What a live run did: frames captured, processed and dropped, and the words."""

    captured: int = 0
    processed: int = 0
    dropped: int = 0
    seconds: float = 0.0
    words: list[WordEvent] = field(default_factory=list)
    error: str | None = None

    @property
    def processed_fps(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0


def display_available() -> bool:
    """True when an OpenCV window can be shown (DISPLAY set and ``imshow`` works)."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return False
    try:
        import cv2

        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
        cv2.imshow(WINDOW, np.zeros((8, 8, 3), dtype=np.uint8))
        cv2.waitKey(1)
        return True
    except Exception:  # cv2.error on headless builds, or no X server reachable
        return False


def _capture(
    source: FrameSource, buf: LatestFrame, stop: threading.Event, stats: LiveStats
) -> None:
    try:
        for frame in source.frames():
            if stop.is_set():
                break
            buf.put(frame)
    except Exception as exc:  # reported by the worker; a thread must not die silently
        stats.error = f"{type(exc).__name__}: {exc}"
        log.error("capture stopped: %s", stats.error)
    finally:
        buf.close()


def _overlay(image: NDArray[np.uint8], lm: NDArray[np.float32], words: list[WordEvent]) -> Any:
    import cv2

    from sign2text.landmarks.overlay import draw

    out = cv2.cvtColor(draw(image, lm), cv2.COLOR_RGB2BGR)
    text = " ".join(w.label for w in words[-6:])
    cv2.putText(out, text, (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (0, 255, 255), 2)
    return out


def run_live(
    source: FrameSource,
    recognizer: Recognizer,
    *,
    on_word: Callable[[WordEvent], None] | None = None,
    show: bool | None = None,
    config: StreamConfig | None = None,
    max_seconds: float | None = None,
) -> LiveStats:
    """Run live recognition until the source ends (or ``max_seconds``, or ``q`` pressed).

    ``show=None`` shows a window only when :func:`display_available`; ``on_word`` is
    called from the worker as each word is recognized.
    """
    if recognizer.metadata.input != "landmarks":
        raise ModelInputError(
            "live mode runs on landmarks and this model takes RGB clips: use a landmark "
            "model, or 'sign2text recognize' on a clip"
        )
    stats = LiveStats()
    window = display_available() if show is None else show
    buf = LatestFrame()
    stop = threading.Event()
    stream = StreamRecognizer(recognizer, config)
    extractor = HolisticExtractor(recognizer.holistic_config)
    extractor.warm_up()  # before the replay clock starts, or the sign's start is dropped
    thread = threading.Thread(
        target=_capture, args=(source, buf, stop, stats), name="sign2text-capture", daemon=True
    )
    start = time.monotonic()
    thread.start()

    def emit(events: list[WordEvent]) -> None:
        for ev in events:
            stats.words.append(ev)
            if on_word is not None:
                on_word(ev)

    try:
        while True:
            if max_seconds is not None and time.monotonic() - start > max_seconds:
                break
            frame = buf.get(timeout=0.5)
            if frame is None:
                if not thread.is_alive():
                    break
                continue
            lm = extractor.process(frame.image)
            stats.processed += 1
            emit(stream.push(lm, frame.time_s))
            if window:
                import cv2

                cv2.imshow(WINDOW, _overlay(frame.image, lm, stats.words))
                if cv2.waitKey(1) & 0xFF == ord("q"):
                    break
        emit(stream.flush())
    finally:
        stop.set()
        stats.seconds = time.monotonic() - start
        thread.join(timeout=5.0)
        extractor.close()
        stats.captured = buf.put_count
        stats.dropped = buf.dropped
        if window:
            import cv2

            cv2.destroyAllWindows()
    return stats
