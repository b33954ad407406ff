"""The named skeleton (mirror map, subsets) and the overlay drawing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sign2text.errors import ConfigError, InputError
from sign2text.io.video import read_video
from sign2text.landmarks.holistic import HolisticExtractor
from sign2text.landmarks.overlay import contact_sheet, draw, overlay_frames, save_png
from sign2text.landmarks.skeleton import (
    FACE,
    LEFT_HAND,
    N_POINTS,
    POSE,
    POSE_INDEX,
    RIGHT_HAND,
    limbs,
    mirror_map,
    subset,
)


def test_skeleton_mirror_map_is_an_involution_permutation() -> None:
    m = mirror_map()
    assert sorted(m.tolist()) == list(range(N_POINTS))
    np.testing.assert_array_equal(m[m], np.arange(N_POINTS))


def test_skeleton_mirror_map_swaps_hands_and_sides() -> None:
    m = mirror_map()
    np.testing.assert_array_equal(m[LEFT_HAND.start : LEFT_HAND.stop], RIGHT_HAND.indices)
    np.testing.assert_array_equal(m[RIGHT_HAND.start : RIGHT_HAND.stop], LEFT_HAND.indices)
    ls, rs = POSE.start + POSE_INDEX["left_shoulder"], POSE.start + POSE_INDEX["right_shoulder"]
    assert m[ls] == rs and m[rs] == ls
    nose = POSE.start + POSE_INDEX["nose"]
    assert m[nose] == nose
    face = m[FACE.start : FACE.stop]
    assert face.min() >= FACE.start and face.max() < FACE.stop
    assert (face != FACE.indices).sum() > 300  # most face points have a mirror partner


@pytest.mark.parametrize(("name", "size"), [("hands", 42), ("upper_body", 15), ("lips", 40)])
def test_skeleton_subset_sizes(name: str, size: int) -> None:
    idx = subset([name])
    assert len(idx) == size
    assert len(set(idx.tolist())) == size
    assert idx.min() >= 0 and idx.max() < N_POINTS


def test_skeleton_subset_union_and_unknown() -> None:
    both = subset(["hands", "lips", "hands"])
    assert len(both) == 82
    with pytest.raises(ConfigError, match="valid"):
        subset(["elbows"])


def test_skeleton_limbs_are_in_range() -> None:
    pairs = np.asarray(limbs())
    assert pairs.min() >= 0 and pairs.max() < N_POINTS


@pytest.fixture(scope="module")
def frame_and_landmarks(videos_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    video = read_video(videos_dir / "more__sdb1228__more.mp4", target_fps=10)
    with HolisticExtractor() as ex:
        lm = ex.extract(video.frames)
    from sign2text.landmarks.skeleton import hand_rate

    # pick a frame with a hand and the pose
    for i in range(len(lm)):
        if hand_rate(lm[i : i + 1]) == 1 and not np.isnan(lm[i, POSE.start]).any():
            return video.frames[i], lm[i]
    pytest.fail("no frame with a hand in the test clip")


def test_overlay_draws_where_landmarks_are(
    tmp_path: Path, frame_and_landmarks: tuple[np.ndarray, np.ndarray]
) -> None:
    frame, lm = frame_and_landmarks
    original = frame.copy()
    drawn = draw(frame, lm)
    assert drawn.shape == frame.shape and drawn.dtype == np.uint8
    np.testing.assert_array_equal(frame, original)  # input untouched
    h, w = frame.shape[:2]
    changed = (drawn != frame).any(axis=2)
    assert changed.any()
    # pixels at detected pose/hand points changed; far from every point nothing did
    pts = lm[FACE.stop :, :2]
    pts = pts[~np.isnan(pts).any(axis=1)]
    px = np.clip((pts * [w, h]).astype(int), 0, [w - 1, h - 1])
    inside = (pts >= 0).all(axis=1) & (pts < 1).all(axis=1)
    hit = changed[px[inside, 1], px[inside, 0]]
    assert hit.mean() > 0.9
    path = tmp_path / "overlay.png"
    save_png(path, drawn)
    loaded = np.asarray(Image.open(path).convert("RGB"))
    np.testing.assert_array_equal(loaded, drawn)
    assert not np.array_equal(loaded, frame)


def test_overlay_nan_landmarks_draw_nothing() -> None:
    frame = np.full((40, 60, 3), 90, np.uint8)
    out = draw(frame, np.full((N_POINTS, 3), np.nan, np.float32))
    np.testing.assert_array_equal(out, frame)
    wild = np.full((N_POINTS, 3), 1e12, np.float32)
    draw(frame, wild)  # far-off points must not crash OpenCV


def test_overlay_contact_sheet_and_frames() -> None:
    frames = np.stack([np.full((10, 20, 3), i, np.uint8) for i in range(30)])
    sheet = contact_sheet(frames, cols=4, max_tiles=12)
    assert sheet.shape == (30, 80, 3)
    assert sheet[0, 0, 0] == 0 and sheet[-1, -1, 0] == 29
    small = contact_sheet(frames[:2], cols=4)
    assert small.shape == (10, 40, 3)
    with pytest.raises(InputError):
        contact_sheet(frames[:0])
    lms = np.full((3, N_POINTS, 3), np.nan, np.float32)
    assert overlay_frames(frames[:3], lms).shape == (3, 10, 20, 3)
