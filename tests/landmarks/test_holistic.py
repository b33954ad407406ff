"""MediaPipe Holistic on real clips: detection rates, determinism, result layout."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from sign2text.errors import ConfigError, DependencyError, InputError, MediaError
from sign2text.landmarks.holistic import HolisticConfig, HolisticExtractor, extract_video
from sign2text.landmarks.skeleton import (
    FACE,
    LEFT_HAND,
    N_POINTS,
    POSE,
    RIGHT_HAND,
    detection_rate,
    hand_rate,
)

# Short studio clips (StartASL), ~2 s each. The reference extractor finds a hand in
# 30-100% of frames of the shared clips (hands rest below the frame at start and end).
HOLISTIC_CLIPS = (
    "more__sdb1228__more.mp4",
    "no__sdb1228__no.mp4",
    "book__sdb1228__book.mp4",
    "hello__sdb1228__hello.mp4",
    "drink__sdb1228__drink.mp4",
)
HAND_RATE_FLOOR = 0.3
POSE_RATE_FLOOR = 0.95


@pytest.fixture(scope="module")
def holistic_results(videos_dir: Path) -> dict[str, tuple[np.ndarray, float, float]]:
    """Landmarks of each test clip at 15 fps, with fps and seconds taken."""
    out: dict[str, tuple[np.ndarray, float, float]] = {}
    for name in HOLISTIC_CLIPS:
        t0 = time.perf_counter()
        landmarks, fps = extract_video(videos_dir / name, target_fps=15)
        out[name] = (landmarks, fps, time.perf_counter() - t0)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", HOLISTIC_CLIPS)
def test_holistic_finds_hands_and_pose_on_real_clip(
    holistic_results: dict[str, tuple[np.ndarray, float, float]], name: str
) -> None:
    landmarks, fps, _ = holistic_results[name]
    assert fps == 15
    assert landmarks.dtype == np.float32
    assert landmarks.shape[1:] == (N_POINTS, 3)
    assert 25 <= len(landmarks) <= 40  # ~2 s at 15 fps
    assert hand_rate(landmarks) >= HAND_RATE_FLOOR
    assert detection_rate(landmarks, POSE) >= POSE_RATE_FLOOR
    assert detection_rate(landmarks, FACE) >= POSE_RATE_FLOOR
    # a detected part is complete (no partial NaN rows) and normalised near the frame
    for part in (FACE, LEFT_HAND, POSE, RIGHT_HAND):
        block = landmarks[:, part.start : part.stop, :]
        seen = ~np.isnan(block[:, :, 0]).all(axis=1)
        assert not np.isnan(block[seen]).any()
        if seen.any():
            xy = block[seen][..., :2]
            assert np.median(xy) == pytest.approx(0.5, abs=0.4)


@pytest.mark.slow
def test_holistic_is_deterministic(
    videos_dir: Path, holistic_results: dict[str, tuple[np.ndarray, float, float]]
) -> None:
    name = HOLISTIC_CLIPS[0]
    again, _ = extract_video(videos_dir / name, target_fps=15)
    np.testing.assert_array_equal(again, holistic_results[name][0])


@pytest.mark.slow
def test_holistic_extractor_reset_forgets_previous_clip(
    videos_dir: Path, holistic_results: dict[str, tuple[np.ndarray, float, float]]
) -> None:
    # one extractor over two clips gives the same as a fresh one per clip
    with HolisticExtractor() as ex:
        extract_video(videos_dir / HOLISTIC_CLIPS[1], target_fps=15, extractor=ex)
        second, _ = extract_video(videos_dir / HOLISTIC_CLIPS[0], target_fps=15, extractor=ex)
    np.testing.assert_array_equal(second, holistic_results[HOLISTIC_CLIPS[0]][0])


@pytest.mark.slow
def test_holistic_warm_up_opens_the_graph_and_changes_no_landmark(
    videos_dir: Path, holistic_results: dict[str, tuple[np.ndarray, float, float]]
) -> None:
    # live mode warms the graph up before its clock starts; the clip's landmarks are
    # those of a fresh graph
    with HolisticExtractor() as ex:
        ex.warm_up()
        assert ex._graph is not None
        warm, _ = extract_video(videos_dir / HOLISTIC_CLIPS[0], target_fps=15, extractor=ex)
    np.testing.assert_array_equal(warm, holistic_results[HOLISTIC_CLIPS[0]][0])


@pytest.mark.slow
def test_holistic_without_face_keeps_pose_and_hands_bitwise(
    videos_dir: Path, holistic_results: dict[str, tuple[np.ndarray, float, float]]
) -> None:
    # The graph without its face branch runs the very pose and hand nodes of Holistic.
    for name in HOLISTIC_CLIPS[:2]:
        full = holistic_results[name][0]
        body, fps = extract_video(
            videos_dir / name, target_fps=15, config=HolisticConfig(face=False)
        )
        assert fps == 15
        assert body.shape == full.shape
        assert np.isnan(body[:, FACE.start : FACE.stop]).all()
        assert detection_rate(full, FACE) > 0  # the full graph did find the face
        rest = slice(FACE.stop, N_POINTS)  # left hand, pose, right hand
        np.testing.assert_array_equal(body[:, rest], full[:, rest])
        assert hand_rate(body) == hand_rate(full) > 0


def test_holistic_without_face_reset_and_blank_frames() -> None:
    with HolisticExtractor(HolisticConfig(face=False)) as ex:
        out = ex.extract([np.zeros((96, 128, 3), np.uint8)] * 2)
        ex.reset()
        again = ex.process(np.zeros((96, 128, 3), np.uint8))
    assert out.shape == (2, N_POINTS, 3)
    assert np.isnan(out).all() and np.isnan(again).all()


def test_holistic_config_checks_model_complexity() -> None:
    with pytest.raises(ConfigError, match="model_complexity"):
        HolisticConfig(model_complexity=3)


def test_body_graph_refuses_an_unexpected_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    from sign2text.landmarks import holistic

    assert [n.calculator for n in holistic.body_graph_config().node] == [
        "PoseLandmarkCpu",
        "HandLandmarksLeftAndRightCpu",
    ]
    # Another graph of the wheel (hand tracking) is not Holistic's: a typed error.
    other = ("modules", "hand_landmark", "hand_landmark_tracking_cpu.binarypb")
    monkeypatch.setattr(holistic, "_GRAPH_FILE", other)
    with pytest.raises(DependencyError, match="unexpected MediaPipe Holistic graph"):
        holistic.body_graph_config()


def test_holistic_blank_frames_give_nan() -> None:
    with HolisticExtractor() as ex:
        out = ex.extract([np.zeros((96, 128, 3), np.uint8)] * 2)
    assert out.shape == (2, N_POINTS, 3)
    assert np.isnan(out).all()
    assert hand_rate(out) == 0.0


def test_holistic_rejects_non_rgb_frame() -> None:
    with HolisticExtractor() as ex, pytest.raises(InputError):
        ex.process(np.zeros((10, 10), np.uint8))


def test_holistic_bad_video_fails_before_mediapipe(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(MediaError):
        extract_video(bad)
