"""Stream segmentation on real held-out recordings, hysteresis, _none_ suppression."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sign2text.data.pack import read_pack
from sign2text.errors import ConfigError
from sign2text.landmarks import skeleton as sk
from sign2text.runtime import Recognition, StreamConfig, StreamRecognizer, recognize_stream
from sign2text.runtime.wer import word_error_rate

SIGNER = "traduttore/traduttore-model:TheCamNelson"
WORDS = ("hello", "thank-you", "coffee", "tea", "no", "can", "large", "water", "please", "get")
FPS = 15.0


class StubClassifier:
    """Stands in for the Recognizer: labels a segment by the recording it mostly holds.

    It looks up the segment's frames in the ground-truth frame->word map, so the test
    checks segmentation alone, independently of any trained model.
    """

    def __init__(self, truth: dict[bytes, str] | None = None, label: str = "word") -> None:
        self.truth = truth or {}
        self.label = label
        self.calls: list[int] = []

    def recognize_landmarks(self, landmarks: Any) -> Recognition:
        self.calls.append(len(landmarks))
        votes: dict[str, int] = defaultdict(int)
        for lm in landmarks:
            word = self.truth.get(np.asarray(lm, dtype=np.float32).tobytes())
            if word:
                votes[word] += 1
        label = max(votes, key=lambda k: votes[k]) if votes else self.label
        return Recognition(label, 0.9, [(label, 0.9)], len(landmarks), 1.0)


@pytest.fixture(scope="module")
def recordings(data_dir: Path) -> dict[str, list[np.ndarray]]:
    out: dict[str, list[np.ndarray]] = defaultdict(list)
    for s in read_pack(data_dir / "landmarks" / "traduttore.npz"):
        if s.signer == SIGNER and s.label in WORDS:
            out[s.label].append(np.asarray(s.landmarks, dtype=np.float32))
    return out


def _rest(like: np.ndarray, frames: int) -> np.ndarray:
    rest = np.repeat(like[-1:], frames, axis=0).copy()
    rest[:, sk.LEFT_HAND.start : sk.LEFT_HAND.stop] = np.nan
    rest[:, sk.RIGHT_HAND.start : sk.RIGHT_HAND.stop] = np.nan
    return rest


def _sequence(
    recordings: dict[str, list[np.ndarray]], seed: int, n: int
) -> tuple[np.ndarray, list[str], dict[bytes, str]]:
    rng = np.random.default_rng(seed)
    words = [str(w) for w in rng.choice(WORDS, n)]
    parts: list[np.ndarray] = []
    truth: dict[bytes, str] = {}
    for w in words:
        rec = recordings[w][int(rng.integers(len(recordings[w])))]
        parts += [_rest(rec, int(rng.integers(5, 31))), rec]
        truth.update({lm.tobytes(): w for lm in rec})
    parts.append(_rest(parts[-1], int(rng.integers(5, 31))))
    return np.concatenate(parts), words, truth


@pytest.mark.parametrize("seed", range(8))
def test_one_segment_per_sign(recordings: dict[str, list[np.ndarray]], seed: int) -> None:
    seq, words, truth = _sequence(recordings, seed, n=6)
    stub = StubClassifier(truth)
    events, segments = recognize_stream(stub, seq, FPS)
    assert len(segments) == len(words)
    assert len(stub.calls) == len(words)
    assert [e.label for e in events] == words
    assert word_error_rate(words, [e.label for e in events]) == 0.0
    starts = [e.start_s for e in events]
    assert starts == sorted(starts)
    assert all(e.end_s > e.start_s for e in events)


def test_gaps_shorter_than_the_gate_merge(recordings: dict[str, list[np.ndarray]]) -> None:
    a, b = recordings["hello"][0], recordings["tea"][0]
    seq = np.concatenate([_rest(a, 10), a, _rest(a, 2), b, _rest(b, 10)])
    _, segments = recognize_stream(StubClassifier(), seq, FPS)
    assert len(segments) == 1  # a 2-frame dropout is not a pause


def test_none_and_rejected_are_suppressed(recordings: dict[str, list[np.ndarray]]) -> None:
    seq = np.concatenate(
        [
            _rest(recordings["hello"][0], 10),
            recordings["hello"][0],
            _rest(recordings["hello"][0], 10),
        ]
    )

    class Rejecting(StubClassifier):
        def recognize_landmarks(self, landmarks: Any) -> Recognition:
            self.calls.append(len(landmarks))
            return Recognition("_none_", 0.3, [("hello", 0.3)], len(landmarks), 1.0, rejected=True)

    stub = Rejecting()
    events, segments = recognize_stream(stub, seq, FPS)
    assert events == [] and len(stub.calls) == 1
    assert segments[0].label == "_none_" and not segments[0].emitted
    events, _ = recognize_stream(StubClassifier(label="_none_"), seq, FPS)
    assert events == []


def _moving_hand(frames: int, fps: float, speed: float) -> np.ndarray:
    """Synthetic frames: shoulders 0.2 apart, right wrist circling at ``speed`` units/s."""
    lm = sk.empty(frames)
    lm[:, sk.POSE.start + sk.POSE_INDEX["left_shoulder"], :2] = (0.6, 0.5)
    lm[:, sk.POSE.start + sk.POSE_INDEX["right_shoulder"], :2] = (0.4, 0.5)
    t = np.arange(frames) / fps
    radius = 0.05
    omega = speed / radius
    hand = np.zeros((frames, 21, 3), dtype=np.float32)
    hand[:, :, 0] = 0.5 + radius * np.cos(omega * t)[:, None]
    hand[:, :, 1] = 0.4 + radius * np.sin(omega * t)[:, None]
    lm[:, sk.RIGHT_HAND.start : sk.RIGHT_HAND.stop] = hand
    return lm


def test_max_window_emits_once_until_activity_drops() -> None:
    cfg = StreamConfig(max_window_s=2.0)
    stub = StubClassifier()
    stream = StreamRecognizer(stub, cfg)
    moving = _moving_hand(int(7 * FPS), FPS, speed=0.3)  # 1.5 shoulder widths / s for 7 s
    events = []
    for i, lm in enumerate(moving):
        events += stream.push(lm, i / FPS)
    assert len(events) == 1  # cut at the max window, then no re-emission while moving
    assert stream.segments[0].reason == "max_window"
    assert events[0].end_s - events[0].start_s == pytest.approx(2.0, abs=0.2)
    t0 = len(moving) / FPS
    rest = _rest(moving, 10)
    for i, lm in enumerate(rest):  # activity drops (hands gone)
        events += stream.push(lm, t0 + i / FPS)
    t1 = t0 + len(rest) / FPS
    for i, lm in enumerate(moving[: int(1.5 * FPS)]):
        events += stream.push(lm, t1 + i / FPS)
    events += stream.flush()
    assert len(events) == 2


def test_still_visible_hands_do_not_start_segments() -> None:
    still = _moving_hand(int(4 * FPS), FPS, speed=0.0)
    stub = StubClassifier()
    stream = StreamRecognizer(stub, StreamConfig())
    stream.push(_rest(still, 1)[0], 0.0)
    events = []
    for i, lm in enumerate(still):
        events += stream.push(lm, (i + 1) / FPS)
    events += stream.flush()
    # The hand appearing opens one segment; held still it closes after still_s, and
    # nothing restarts while it stays still.
    assert len(stream.segments) == 1 and stream.segments[0].reason == "still"
    assert len(events) == 1


def test_bad_frames_and_configs_are_refused() -> None:
    stream = StreamRecognizer(StubClassifier())
    with pytest.raises(ConfigError):
        stream.push(np.zeros((10, 3)), 0.0)
    with pytest.raises(ConfigError):
        StreamConfig(rest_speed=2.0, move_speed=1.0)
    with pytest.raises(ConfigError):
        recognize_stream(StubClassifier(), [], fps=0.0)
