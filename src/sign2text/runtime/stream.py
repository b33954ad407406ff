"""Continuous recognition: a stream of landmark frames -> words, one per signing segment.

Fed one frame (543, 3) at a time with its timestamp, :class:`StreamRecognizer`

1. **gates activity**: a segment starts when a hand *appears* after a rest (hands gone
   for ``gap_frames`` frames, as at the start of a stream), or when a visible wrist moves
   faster than ``move_speed`` (shoulder widths per second) for ``onset_frames`` frames in
   a row; a few frames before the onset are kept (``pre_roll``);
2. **buffers** the segment's frames;
3. **ends** it when the hands are gone for ``gap_frames`` frames, or visible but slower
   than ``rest_speed`` for ``still_s`` seconds, or when ``max_window_s`` is reached;
4. **classifies** the segment with the same Recognizer (features + model) as isolated
   clips, and emits a :class:`WordEvent` unless the result is rejected or ``_none_``
   (suppressed);
5. **hysteresis**: one word per segment at most; after a segment cut by the max window,
   nothing starts until the activity drops (hands gone or still), so a long sign is not
   emitted twice.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from sign2text.errors import ConfigError, NoSigningError
from sign2text.landmarks import skeleton as sk
from sign2text.runtime.metadata import NONE_LABEL
from sign2text.runtime.recognizer import Recognition

_WRISTS = (sk.LEFT_HAND.start, sk.RIGHT_HAND.start)
_SHOULDERS = (
    sk.POSE.start + sk.POSE_INDEX["left_shoulder"],
    sk.POSE.start + sk.POSE_INDEX["right_shoulder"],
)


class LandmarkClassifier(Protocol):
    """What the stream needs from a recognizer (``Recognizer`` satisfies it)."""

    def recognize_landmarks(self, landmarks: NDArray[Any]) -> Recognition: ...


@dataclass(frozen=True)
class StreamConfig:
    """Gate, segmentation and hysteresis settings (speeds in shoulder widths / s)."""

    move_speed: float = 0.5
    rest_speed: float = 0.25
    onset_frames: int = 2
    gap_frames: int = 4
    still_s: float = 1.0
    max_window_s: float = 4.0
    min_frames: int = 4
    pre_roll: int = 2
    default_scale: float = 0.2  # shoulder width in image units when no pose is seen

    def __post_init__(self) -> None:
        if self.onset_frames < 1 or self.gap_frames < 1 or self.min_frames < 1:
            raise ConfigError("onset_frames, gap_frames and min_frames must be >= 1")
        if not 0 < self.rest_speed <= self.move_speed:
            raise ConfigError("need 0 < rest_speed <= move_speed")
        if self.max_window_s <= 0 or self.still_s <= 0 or self.pre_roll < 0:
            raise ConfigError("max_window_s and still_s must be > 0, pre_roll >= 0")


@dataclass(frozen=True)
class WordEvent:
    """A recognized word and the time span (seconds, stream clock) of its segment."""

    label: str
    confidence: float
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Segment:
    """A closed activity segment and what became of it."""

    start_s: float
    end_s: float
    frames: int
    reason: str  # "rest", "still", "max_window" or "flush"
    label: str | None  # None when the classifier found no hand
    emitted: bool


class _State(Enum):
    IDLE = "idle"
    ACTIVE = "active"
    COOLDOWN = "cooldown"


class StreamRecognizer:
    """Segments a landmark stream into signs and classifies each segment.

    Call :meth:`push` per frame (it returns the words completed by that frame) and
    :meth:`flush` at the end of the stream. ``segments`` records every closed segment
    that was classified (one with too few frames with hands is dropped unrecorded).
    """

    def __init__(self, classifier: LandmarkClassifier, config: StreamConfig | None = None) -> None:
        self.classifier = classifier
        self.config = config or StreamConfig()
        self.segments: list[Segment] = []
        self.reset()

    def reset(self) -> None:
        """Forget the stream (state, buffers, previous frame); keep ``segments``."""
        c = self.config
        self._state = _State.IDLE
        self._recent: deque[tuple[NDArray[np.float32], float]] = deque(
            maxlen=c.pre_roll + c.onset_frames
        )
        self._buf: list[tuple[NDArray[np.float32], float]] = []
        self._prev_wrists: NDArray[np.float32] | None = None
        self._prev_t: float | None = None
        self._scale = c.default_scale
        self._absent = c.gap_frames  # a stream starts at rest
        self._moving = 0
        self._still_s = 0.0
        self._last_hand_t = 0.0

    # --- per-frame measurements -------------------------------------------------

    def _measure(self, lm: NDArray[np.float32], t: float) -> tuple[bool, float, bool]:
        """(hands present, wrist speed in shoulder widths / s, a hand just appeared)."""
        wrists = lm[list(_WRISTS), :2]
        seen = ~np.isnan(wrists).any(axis=1)
        sh = lm[list(_SHOULDERS), :2]
        if not np.isnan(sh).any():
            width = float(np.linalg.norm(sh[0] - sh[1]))
            if width > 1e-3:
                self._scale = 0.8 * self._scale + 0.2 * width if self._prev_t else width
        speed = 0.0
        appeared = False
        if self._prev_wrists is not None and self._prev_t is not None:
            dt = max(t - self._prev_t, 1e-3)
            prev_seen = ~np.isnan(self._prev_wrists).any(axis=1)
            both = seen & prev_seen
            if both.any():
                step = np.linalg.norm(wrists[both] - self._prev_wrists[both], axis=1)
                speed = float(step.max()) / dt / self._scale
        present = bool(seen.any())
        if present and self._absent >= self.config.gap_frames:
            appeared = True
        self._prev_wrists, self._prev_t = wrists, t
        return present, speed, appeared

    # --- the state machine --------------------------------------------------------

    def push(self, landmarks: NDArray[np.floating[Any]], t: float) -> list[WordEvent]:
        """Feed one frame (543, 3) taken at ``t`` seconds; return words it completed."""
        lm = np.asarray(landmarks, dtype=np.float32)
        if lm.shape != (sk.N_POINTS, sk.N_DIMS):
            raise ConfigError(f"stream frame must be ({sk.N_POINTS}, {sk.N_DIMS}), got {lm.shape}")
        c = self.config
        dt = 0.0 if self._prev_t is None else max(t - self._prev_t, 0.0)
        present, speed, appeared = self._measure(lm, t)
        self._absent = 0 if present else self._absent + 1
        self._moving = self._moving + 1 if present and speed >= c.move_speed else 0
        self._still_s = self._still_s + dt if present and speed < c.rest_speed else 0.0
        if present:
            self._last_hand_t = t
        frame = (lm, t)
        events: list[WordEvent] = []
        if self._state is _State.IDLE:
            self._recent.append(frame)
            if appeared or self._moving >= c.onset_frames:
                keep = 1 if appeared else c.onset_frames
                keep += c.pre_roll
                self._buf = list(self._recent)[-keep:]
                self._state = _State.ACTIVE
                self._still_s = 0.0
                self._recent.clear()
        elif self._state is _State.ACTIVE:
            self._buf.append(frame)
            reason = None
            if self._absent >= c.gap_frames:
                reason = "rest"
            elif self._still_s >= c.still_s:
                reason = "still"
            elif t - self._buf[0][1] >= c.max_window_s:
                reason = "max_window"
            if reason is not None:
                events += self._close(reason)
                self._state = _State.COOLDOWN if reason == "max_window" else _State.IDLE
        elif self._absent >= c.gap_frames or self._still_s >= c.still_s:  # COOLDOWN
            self._state = _State.IDLE
            self._moving = 0
        return events

    def flush(self) -> list[WordEvent]:
        """End of stream: classify a segment still open."""
        events = self._close("flush") if self._state is _State.ACTIVE else []
        self._state = _State.IDLE
        return events

    def _close(self, reason: str) -> list[WordEvent]:
        frames = self._buf
        self._buf = []
        # Drop the trailing frames without hands (the rest that ended the segment).
        while frames and np.isnan(frames[-1][0][list(_WRISTS), 0]).all():
            frames = frames[:-1]
        if not frames:
            return []
        start, end = frames[0][1], frames[-1][1]
        with_hands = sum(1 for lm, _ in frames if not np.isnan(lm[list(_WRISTS), 0]).all())
        if with_hands < self.config.min_frames:
            return []
        try:
            result = self.classifier.recognize_landmarks(np.stack([lm for lm, _ in frames]))
        except NoSigningError:
            self.segments.append(Segment(start, end, len(frames), reason, None, False))
            return []
        emit = not result.rejected and result.label != NONE_LABEL
        self.segments.append(Segment(start, end, len(frames), reason, result.label, emit))
        if not emit:
            return []
        return [WordEvent(result.label, float(result.confidence), start, end)]


def recognize_stream(
    classifier: LandmarkClassifier,
    landmarks: Iterable[NDArray[np.floating[Any]]],
    fps: float,
    config: StreamConfig | None = None,
) -> tuple[list[WordEvent], list[Segment]]:
    """Run a whole landmark sequence at ``fps`` through a :class:`StreamRecognizer`."""
    if not math.isfinite(fps) or fps <= 0:
        raise ConfigError(f"fps must be positive, got {fps}")
    stream = StreamRecognizer(classifier, config)
    events: list[WordEvent] = []
    for i, lm in enumerate(landmarks):
        events += stream.push(lm, i / fps)
    events += stream.flush()
    return events, stream.segments
