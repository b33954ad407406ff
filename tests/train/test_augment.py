"""Landmark augmentations: one draw per clip, NaN-safe, right shapes, registry/config."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sign2text.errors import ConfigError
from sign2text.features.augment import (
    AUGMENTATIONS,
    Affine,
    PartDropout,
    Reach,
    Stretch,
    build_augmenter,
    create_augmentation,
)
from sign2text.features.core import mirror
from sign2text.landmarks import skeleton as sk

LENGTH_KEEPING = ("affine", "mirror", "part_dropout", "noise", "reach", "stretch")


def _clip(t: int, seed: int = 0, nan_frac: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lm = rng.uniform(0.2, 0.8, size=(t, sk.N_POINTS, sk.N_DIMS)).astype(np.float32)
    lm[:, sk.FACE.start : sk.FACE.stop] = np.nan  # as in most packs
    hidden = rng.random(t) < nan_frac
    lm[hidden, sk.LEFT_HAND.start : sk.LEFT_HAND.stop] = np.nan
    return lm


def test_registry_names_and_errors() -> None:
    assert set(AUGMENTATIONS.names()) == {
        "affine",
        "frame_drop",
        "mirror",
        "noise",
        "part_dropout",
        "reach",
        "stretch",
        "time_crop",
        "time_resample",
    }
    with pytest.raises(ConfigError, match="valid names: affine"):
        create_augmentation("rotate")
    with pytest.raises(ConfigError, match="bad arguments"):
        create_augmentation("affine", degrees=3)
    with pytest.raises(ConfigError):
        build_augmenter([{"name": "mirror", "p": 1.5}])
    with pytest.raises(ConfigError, match="unknown part"):
        PartDropout(parts=("tail",))


def test_affine_is_one_transform_for_the_whole_clip() -> None:
    """A single similarity transform (no shear) scales every distance, in every frame and
    between frames, by the same factor."""
    lm = _clip(12)
    aug = Affine(rotate=30, scale=0.3, shear=0.0, translate=0.1)
    out = aug(lm, np.random.default_rng(3))
    a, b = sk.RIGHT_HAND.start, sk.POSE.start + 11
    before = np.linalg.norm(lm[:, a, :2] - lm[:, b, :2], axis=1)
    after = np.linalg.norm(out[:, a, :2] - out[:, b, :2], axis=1)
    ratio = after / before
    assert np.allclose(ratio, ratio[0], rtol=1e-4)
    # Inter-frame displacement of one point scales by the same factor too.
    step = np.linalg.norm(np.diff(lm[:, a, :2], axis=0), axis=1)
    step_out = np.linalg.norm(np.diff(out[:, a, :2], axis=0), axis=1)
    assert np.allclose(step_out / step, ratio[0], rtol=1e-4)
    assert not np.allclose(ratio[0], 1.0) or not np.allclose(out, lm)


def test_stretch_scales_heights_not_widths_by_one_factor_per_clip() -> None:
    """Vertical distances change by one factor within bounds, horizontal ones not at all,
    and a missing point stays missing."""
    lm = _clip(8, nan_frac=0.5)
    factors = []
    for seed in range(30):
        out = Stretch(max_factor=1.4)(lm, np.random.default_rng(seed))
        np.testing.assert_array_equal(out[..., 0], lm[..., 0])
        np.testing.assert_array_equal(out[..., 2], lm[..., 2])
        np.testing.assert_array_equal(np.isnan(out), np.isnan(lm))
        a, b = sk.RIGHT_HAND.start, sk.POSE.start + 11
        ratio = (out[:, a, 1] - out[:, b, 1]) / (lm[:, a, 1] - lm[:, b, 1])
        assert np.allclose(ratio, ratio[0], rtol=1e-3)
        factors.append(float(ratio[0]))
    assert 1 / 1.4 - 1e-4 <= min(factors) < 0.9 and 1.1 < max(factors) <= 1.4 + 1e-4
    with pytest.raises(ConfigError):
        Stretch(max_factor=0.5)


def test_reach_moves_arms_about_the_shoulders_and_keeps_hand_shapes() -> None:
    """Elbows and wrists move away from (or towards) their shoulder by one factor per
    clip, the same for both arms; each hand keeps its shape up to one scale factor; the
    rest of the body, z and the missing points do not change."""
    lm = _clip(10, nan_frac=0.3)
    p = sk.POSE.start
    arm_points = {p + j for j in (13, 14, 15, 16, 17, 18, 19, 20, 21, 22)}
    hands = set(range(sk.LEFT_HAND.start, sk.LEFT_HAND.stop)) | set(
        range(sk.RIGHT_HAND.start, sk.RIGHT_HAND.stop)
    )
    still = [i for i in range(sk.N_POINTS) if i not in arm_points | hands]
    reaches, sizes = [], []
    for seed in range(20):
        out = Reach(max_factor=1.3, hand_size=0.2)(lm, np.random.default_rng(seed))
        np.testing.assert_array_equal(out[:, still], lm[:, still])
        np.testing.assert_array_equal(out[..., 2], lm[..., 2])
        np.testing.assert_array_equal(np.isnan(out), np.isnan(lm))
        ratios = [
            (out[:, p + j, :2] - lm[:, p + s, :2]) / (lm[:, p + j, :2] - lm[:, p + s, :2])
            for s, j in ((11, 13), (11, 15), (12, 14), (12, 16))
        ]
        r = np.stack(ratios)
        assert np.allclose(r, r.flat[0], rtol=1e-3)
        reaches.append(float(r.flat[0]))
        hand = slice(sk.RIGHT_HAND.start, sk.RIGHT_HAND.stop)
        rel_in = lm[:, hand, :2] - lm[:, hand, :2][:, :1]
        rel_out = out[:, hand, :2] - out[:, hand, :2][:, :1]
        k = rel_out[:, 1:] / rel_in[:, 1:]
        assert np.allclose(k, k.flat[0], rtol=1e-3)
        sizes.append(float(k.flat[0]))
    assert 1 / 1.3 - 1e-4 <= min(reaches) < 0.95 and 1.05 < max(reaches) <= 1.3 + 1e-4
    assert 1 / 1.2 - 1e-4 <= min(sizes) < 0.97 and 1.03 < max(sizes) <= 1.2 + 1e-4
    no_pose = lm.copy()
    no_pose[:, sk.POSE.start : sk.POSE.stop] = np.nan
    np.testing.assert_array_equal(Reach()(no_pose, np.random.default_rng(0)), no_pose)
    with pytest.raises(ConfigError):
        Reach(max_factor=0.9)


def test_mirror_twice_is_identity_and_swaps_hands() -> None:
    lm = _clip(5, nan_frac=0.5)
    once = mirror(lm)
    np.testing.assert_allclose(once[:, sk.RIGHT_HAND.start, 0], 1 - lm[:, sk.LEFT_HAND.start, 0])
    np.testing.assert_allclose(mirror(once), lm, atol=1e-6)
    aug = create_augmentation("mirror")
    np.testing.assert_allclose(
        aug(aug(lm, np.random.default_rng(0)), np.random.default_rng(1)), lm, atol=1e-6
    )


def test_part_dropout_hides_a_part() -> None:
    lm = _clip(10)
    out = PartDropout(parts=("right_hand",), whole=1.0)(lm, np.random.default_rng(0))
    assert np.isnan(out[:, sk.RIGHT_HAND.start : sk.RIGHT_HAND.stop]).all()
    np.testing.assert_array_equal(out[:, sk.POSE.start], lm[:, sk.POSE.start])
    span = PartDropout(parts=("right_hand",), whole=0.0, max_span=0.5)(lm, np.random.default_rng(1))
    hidden = np.isnan(span[:, sk.RIGHT_HAND.start, 0]).sum()
    assert 1 <= hidden <= 5


def test_time_augmentations_change_length_within_bounds() -> None:
    lm = _clip(40)
    rng = np.random.default_rng(0)
    lengths = [len(create_augmentation("time_resample")(lm, rng)) for _ in range(50)]
    assert min(lengths) >= 20 and max(lengths) <= 60 and len(set(lengths)) > 5
    crop = create_augmentation("time_crop", min_frac=0.5)(lm, rng)
    assert 20 <= len(crop) <= 40
    start = int(np.flatnonzero(lm[:, sk.POSE.start, 0] == crop[0, sk.POSE.start, 0])[0])
    np.testing.assert_array_equal(crop, lm[start : start + len(crop)])


def test_pipeline_is_reproducible_from_the_seed() -> None:
    specs = [{"name": n, "p": 0.7} for n in AUGMENTATIONS.names()]
    aug = build_augmenter(specs)
    lm = _clip(20)
    a = aug(lm, np.random.default_rng(42))
    b = aug(lm, np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    c = aug(lm, np.random.default_rng(43))
    assert a.shape != c.shape or not np.array_equal(a, c, equal_nan=True)


@settings(max_examples=40, deadline=None)
@given(
    t=st.integers(1, 30),
    seed=st.integers(0, 2**31),
    nan_frac=st.floats(0, 1),
    name=st.sampled_from(sorted(AUGMENTATIONS.names())),
    half=st.booleans(),
)
def test_outputs_are_finite_where_inputs_were_seen(
    t: int, seed: int, nan_frac: float, name: str, half: bool
) -> None:
    lm = _clip(t, seed, nan_frac)
    if half:
        lm = lm.astype(np.float16)
    out = build_augmenter([{"name": name, "p": 1.0}])(lm, np.random.default_rng(seed))
    assert out.dtype == np.float32
    assert out.ndim == 3 and out.shape[1:] == (sk.N_POINTS, sk.N_DIMS) and len(out) >= 1
    if name in LENGTH_KEEPING:
        assert len(out) == t
    # NaN never spreads to a part that was seen, and a missing part is never invented.
    assert np.isfinite(out[:, sk.POSE.start : sk.POSE.stop]).all() or name == "part_dropout"
    assert np.isnan(out[:, sk.FACE.start : sk.FACE.stop]).all()
    assert not np.isinf(out).any()
