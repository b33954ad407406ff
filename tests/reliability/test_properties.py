"""Property-based tests (hypothesis): importers round trip, features and augmentation
stay finite and well-shaped on any input, including garbage.

What ``tests/train/test_augment.py`` already covers (one augmentation at a time on
clips in [0.2, 0.8] with NaN faces and hidden left hands) is not repeated here; this
file adds extreme and non-finite coordinates, all-NaN clips, the whole default
augmentation pipeline, the features computed after augmentation, and the importers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sign2text.data.importers.mp_data import load_mp_data, write_mp_data
from sign2text.data.pack import read_pack, write_pack
from sign2text.data.sample import Sample
from sign2text.errors import DatasetError
from sign2text.features import FeatureConfig, compute_features, feature_dim
from sign2text.features.augment import AUGMENTATIONS, build_augmenter
from sign2text.landmarks import skeleton as sk

PARTS = {"face": sk.FACE, "left": sk.LEFT_HAND, "pose": sk.POSE, "right": sk.RIGHT_HAND}
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CONFIGS = [
    FeatureConfig(),
    FeatureConfig(frames=None),
    FeatureConfig(dims=3, frames=8, trim=False, mirror_left_dominant=False),
    FeatureConfig(hand_shape=False, velocities=False, frames=2),
]


@st.composite
def clips(draw: st.DrawFn, max_frames: int = 40, hostile: bool = True) -> np.ndarray:
    """(T, 543, 3) landmarks: any length from 1, parts missing at random, and (when
    ``hostile``) extreme coordinates, inf and -inf sprinkled in, all-NaN frames."""
    t = draw(st.integers(1, max_frames))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    lm = rng.uniform(0.1, 0.9, size=(t, sk.N_POINTS, sk.N_DIMS)).astype(np.float32)
    for part in PARTS.values():
        rate = draw(st.sampled_from([0.0, 0.3, 1.0]))  # never, sometimes, always missing
        hidden = rng.random(t) < rate
        lm[hidden, part.start : part.stop] = np.nan
    if hostile:
        scale = draw(st.sampled_from([1.0, 1e3, 1e6, -1e6]))
        lm *= np.float32(scale)
        values = [np.inf, -np.inf, np.nan, 1e6, -1e6, 3e38, -3e38]
        specials = draw(st.lists(st.sampled_from(values), max_size=6))
        for value in specials:  # on the points features use: hands and pose
            i, k = rng.integers(t), rng.integers(sk.N_DIMS)
            j = rng.integers(sk.LEFT_HAND.start, sk.N_POINTS)
            lm[i, j, k] = value
        if draw(st.booleans()):
            lm[rng.random(t) < 0.5] = np.nan  # whole frames lost
    return lm


def _check_features(feats: np.ndarray, mask: np.ndarray, cfg: FeatureConfig, t: int) -> None:
    assert feats.dtype == np.float32 and mask.dtype == np.bool_
    assert feats.ndim == 2 and feats.shape[1] == feature_dim(cfg)
    assert mask.shape == (feats.shape[0],)
    if cfg.frames is not None:
        assert feats.shape[0] == cfg.frames
    else:
        assert 1 <= feats.shape[0] <= t
    assert np.isfinite(feats).all()
    assert np.abs(feats).max(initial=0.0) <= 50.0


@FAST
@given(lm=clips(), cfg=st.sampled_from(CONFIGS))
def test_features_of_any_clip_are_finite_and_shaped(lm: np.ndarray, cfg: FeatureConfig) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning (overflow, invalid value) either
        feats, mask = compute_features(lm, cfg)
    _check_features(feats, mask, cfg, len(lm))


def _hand_frames(lm: np.ndarray) -> np.ndarray:
    left = ~np.isnan(lm[:, sk.LEFT_HAND.start : sk.LEFT_HAND.stop, 0]).all(axis=1)
    right = ~np.isnan(lm[:, sk.RIGHT_HAND.start : sk.RIGHT_HAND.stop, 0]).all(axis=1)
    return np.asarray(left | right)


# Without resampling the mask is frame for frame: with trimming, from the first to the
# last frame with a hand; without, over the whole clip.
UNRESAMPLED = [FeatureConfig(frames=None), FeatureConfig(frames=None, trim=False)]


@FAST
@given(lm=clips(hostile=False), cfg=st.sampled_from(UNRESAMPLED + CONFIGS))
def test_mask_marks_exactly_the_frames_with_a_hand(lm: np.ndarray, cfg: FeatureConfig) -> None:
    _, mask = compute_features(lm, cfg)
    seen = _hand_frames(lm)
    if not seen.any():
        assert not mask.any()
    if cfg.frames is None:
        expected = seen
        if cfg.trim and seen.any():
            first, last = np.flatnonzero(seen)[[0, -1]]
            expected = seen[first : last + 1]
        assert np.array_equal(mask, expected)


@pytest.mark.parametrize("frames", [1, 2, 3])
def test_features_of_all_nan_and_tiny_clips(frames: int) -> None:
    lm = np.full((frames, sk.N_POINTS, sk.N_DIMS), np.nan, dtype=np.float32)
    for cfg in CONFIGS:
        feats, mask = compute_features(lm, cfg)
        _check_features(feats, mask, cfg, frames)
        assert not mask.any() and not feats.any()


@FAST
@given(
    lm=clips(max_frames=30),
    seed=st.integers(0, 2**32 - 1),
    names=st.lists(st.sampled_from(sorted(AUGMENTATIONS.names())), min_size=1, max_size=4),
)
def test_augmentation_chain_then_features_stay_finite(
    lm: np.ndarray, seed: int, names: list[str]
) -> None:
    aug = build_augmenter([{"name": n, "p": 1.0} for n in names])
    with np.errstate(all="ignore"):  # inf in, NaN/0 out is allowed; crashes are not
        out = aug(lm, np.random.default_rng(seed))
    assert out.dtype == np.float32
    assert out.ndim == 3 and out.shape[1:] == (sk.N_POINTS, sk.N_DIMS) and len(out) >= 1
    cfg = FeatureConfig()
    feats, mask = compute_features(out, cfg)
    _check_features(feats, mask, cfg, len(out))


@FAST
@given(lm=clips(max_frames=30, hostile=False), seed=st.integers(0, 2**32 - 1))
def test_augmentation_never_invents_a_missing_hand(lm: np.ndarray, seed: int) -> None:
    lm[:, sk.RIGHT_HAND.start : sk.RIGHT_HAND.stop] = np.nan
    lm[:, sk.LEFT_HAND.start : sk.LEFT_HAND.stop] = np.nan
    names = sorted(AUGMENTATIONS.names())
    out = build_augmenter([{"name": n, "p": 1.0} for n in names])(lm, np.random.default_rng(seed))
    assert np.isnan(out[:, sk.LEFT_HAND.start : sk.LEFT_HAND.stop]).all()
    assert np.isnan(out[:, sk.RIGHT_HAND.start : sk.RIGHT_HAND.stop]).all()


# --- importers ------------------------------------------------------------------------

LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_0123456789", min_size=1, max_size=12)
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=20,
)


@st.composite
def samples(draw: st.DrawFn) -> list[Sample]:
    n = draw(st.integers(1, 5))
    out = []
    for i in range(n):
        lm = draw(clips(max_frames=6, hostile=False))
        out.append(
            Sample(
                landmarks=lm,
                label=draw(LABEL),
                signer=draw(TEXT),
                source_id=f"{i}:{draw(TEXT)}",
                split=draw(st.sampled_from([None, "train", "val", "test"])),
                synthetic=draw(st.booleans()),
            )
        )
    return out


@FAST
@given(batch=samples())
def test_pack_round_trip(batch: list[Sample], tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("pack") / "p.npz"
    write_pack(path, batch)
    back = read_pack(path)
    assert len(back) == len(batch)
    for a, b in zip(batch, back, strict=True):
        assert (b.label, b.signer, b.source_id) == (a.label, a.signer, a.source_id)
        assert b.split == a.split and b.synthetic == a.synthetic
        expected = a.landmarks.astype(np.float16)
        assert b.landmarks.shape == a.landmarks.shape
        assert np.array_equal(b.landmarks, expected, equal_nan=True)


@FAST
@given(batch=samples(), layout=st.sampled_from([1662, 258]))
def test_mp_data_round_trip(
    batch: list[Sample], layout: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # MP_Data writes a missing point as 0 and reads an all-zero part as missing: a part
    # that is partly missing within a frame is not representable, so draw whole parts.
    kept = {1662: PARTS.values(), 258: (sk.POSE, sk.LEFT_HAND, sk.RIGHT_HAND)}[layout]
    assume(all(s.label not in {".", ".."} for s in batch))
    dest = tmp_path_factory.mktemp("mp") / "out"
    write_mp_data(dest, batch, layout=layout)
    back = load_mp_data(dest)
    assert sum(s.frames for s in back) == sum(s.frames for s in batch)
    by_label: dict[str, list[Sample]] = {}
    for s in batch:
        by_label.setdefault(s.label, []).append(s)
    for s in back:
        word, seq = s.source_id.split("/")
        src = by_label[word if word != "-" else "_none_"][int(seq)]
        assert s.landmarks.shape == src.landmarks.shape
        for part in kept:
            got = s.landmarks[:, part.start : part.stop]
            want = src.landmarks[:, part.start : part.stop].astype(np.float32)
            assert np.allclose(got, want, equal_nan=True, atol=1e-6)
        if layout == 258:
            assert np.isnan(s.landmarks[:, sk.FACE.start : sk.FACE.stop]).all()


@FAST
@given(data=st.binary(max_size=2000))
def test_garbage_mp_data_frame_is_a_dataset_error(
    data: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("garbage") / "MP_Data" / "hello" / "0"
    root.mkdir(parents=True)
    (root / "0.npy").write_bytes(data)
    with pytest.raises(DatasetError):
        load_mp_data(root.parents[1])


@FAST
@given(data=st.binary(max_size=4000))
def test_garbage_pack_is_a_dataset_error(
    data: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("garbage") / "g.npz"
    path.write_bytes(data)
    with pytest.raises(DatasetError):
        read_pack(path)
