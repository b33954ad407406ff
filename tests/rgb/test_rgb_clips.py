"""Video clip dataset: importers, cache (hit, corruption), sampling, clip-consistent
augmentation, real clips."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from sign2text.data import clips as C
from sign2text.data.clips import (
    ClipCache,
    ClipConfig,
    ClipView,
    VideoClipDataset,
    build_clip_augmenter,
    clip_samples,
    render,
    sample_indices,
)
from sign2text.errors import ConfigError

CFG = ClipConfig(size=24, resize=32, frames=6, fps=0.0)


def test_folder_and_flat_layouts(folder_dataset: Path, tmp_path: Path, make_clip) -> None:
    samples = clip_samples(folder_dataset)
    assert sorted({s.label for s in samples}) == ["blue", "red"]
    assert all(Path(s.meta["video"]).is_file() for s in samples)
    flat = tmp_path / "flat"
    make_clip(flat / "red__me__a.mp4", "red")
    make_clip(flat / "blue__me__b.mp4", "blue")
    assert sorted(s.label for s in clip_samples(flat)) == ["blue", "red"]


def test_cache_hit_avoids_decoding_and_corrupt_cache_is_rebuilt(
    folder_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    sample = clip_samples(folder_dataset)[0]
    cache = ClipCache(tmp_path / "cache", CFG)
    frames, pose = cache.load(sample)
    assert cache.decodes == 1 and pose is None
    assert frames.dtype == np.uint8 and frames.shape == (10, 32, 32, 3)
    files = sorted((tmp_path / "cache").glob("clip-*.npz"))
    assert len(files) == 1 and Path(str(files[0]) + ".sha256").is_file()

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(C, "decode_clip", boom)
    again = ClipCache(tmp_path / "cache", CFG)
    np.testing.assert_array_equal(again.load(sample)[0], frames)
    assert again.decodes == 0
    monkeypatch.undo()

    data = bytearray(files[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    files[0].write_bytes(bytes(data))
    rebuilt = ClipCache(tmp_path / "cache", CFG)
    with caplog.at_level(logging.WARNING):
        np.testing.assert_array_equal(rebuilt.load(sample)[0], frames)
    assert rebuilt.decodes == 1 and "corrupt" in caplog.text
    assert ClipCache(tmp_path / "cache", CFG).load(sample)[0].shape == frames.shape


def test_cache_key_changes_with_the_file_and_settings(folder_dataset: Path, make_clip) -> None:
    sample = clip_samples(folder_dataset)[0]
    key = ClipCache(None, CFG).key(sample)
    assert ClipCache(None, ClipConfig(size=24, resize=40, frames=6)).key(sample) != key
    make_clip(Path(sample.meta["video"]), "blue", seed=99, n=12)
    assert ClipCache(None, CFG).key(sample) != key


def test_sampling_uniform_random_and_short_clips() -> None:
    np.testing.assert_array_equal(sample_indices(10, 4), [0, 3, 6, 9])
    assert list(sample_indices(2, 4)) == [0, 0, 1, 1]  # short clips repeat frames
    rng = np.random.default_rng(0)
    for _ in range(20):
        idx = sample_indices(50, 8, "random", rng, 0.5)
        assert idx.min() >= 0 and idx.max() <= 49 and np.all(np.diff(idx) >= 0)
        assert idx[-1] - idx[0] >= 0.5 * 49 - 1


def test_augmentation_is_the_same_for_every_frame() -> None:
    cfg = ClipConfig(size=24, resize=32, frames=6)
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, size=(32, 32, 3), dtype=np.uint8)
    static = np.repeat(base[None], 20, axis=0)  # a clip whose frames are all identical
    aug = build_clip_augmenter(
        [
            {"name": "random_crop"},
            {"name": "flip"},
            {"name": "color_jitter"},
            {"name": "time_resample"},
        ]
    )
    for seed in range(5):
        view = C.train_view(20, cfg, np.random.default_rng(seed), aug)
        out, _ = render(static, view, cfg)
        assert out.shape == (6, 3, 24, 24)
        for t in range(1, 6):
            np.testing.assert_array_equal(out[t], out[0])  # same crop/flip/colour
    # and with distinct frames, frame t is exactly the transform of source frame idx[t]
    frames = rng.integers(0, 255, size=(20, 32, 32, 3), dtype=np.uint8)
    view = ClipView(indices=np.array([0, 4, 8, 12, 16, 19]), top=3, left=5, flip=True)
    out, _ = render(frames, view, cfg)
    for t, i in enumerate(view.indices):
        want = C.normalize(frames[i : i + 1, 3:27, 5:29][:, :, ::-1].copy(), cfg)[0]
        np.testing.assert_allclose(out[t], want)


def test_pose_targets_follow_crop_and_flip() -> None:
    cfg = ClipConfig(size=24, resize=32, frames=2)
    frames = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    frames[:, 10, 20] = 255  # one bright pixel at (y=10, x=20) of the full frame
    pose = np.full((2, 75, 2), np.nan, dtype=np.float32)
    pose[:, 15] = [(20 + 0.5) / 32, (10 + 0.5) / 32]  # left wrist (pose 15)
    view = ClipView(indices=np.array([0, 1]), top=4, left=6, flip=True)
    out, p = render(frames, view, cfg, pose)
    assert p is not None
    y, x = np.unravel_index(np.argmax(out[0, 0]), out[0, 0].shape)
    moved = p[0][np.isfinite(p[0, :, 0])]
    assert len(moved) == 1  # still one target, moved by the flip to the mirrored point
    assert np.isfinite(p[0, 16]).all()  # pose 15 <-> 16 swap under the flip
    np.testing.assert_allclose(p[0, 16] * 24, [x + 0.5, y + 0.5], atol=1e-4)


def test_config_and_registry_errors() -> None:
    with pytest.raises(ConfigError, match="size"):
        ClipConfig(size=64, resize=32)
    with pytest.raises(ConfigError, match="sampling"):
        ClipConfig(sampling="nope")
    with pytest.raises(ConfigError, match="random_crop"):
        build_clip_augmenter([{"name": "spin"}])
    with pytest.raises(ConfigError, match="unknown clips key"):
        ClipConfig.from_dict({"sise": 3})
    assert ClipConfig.from_dict(ClipConfig().to_dict()) == ClipConfig()


def test_real_clips_through_the_dataset(videos_dir: Path, tmp_path: Path) -> None:
    samples = [s for s in clip_samples(videos_dir, "flat") if s.label in {"book", "hello"}][:2]
    assert len(samples) == 2
    cfg = ClipConfig(size=48, resize=56, frames=8)
    ds = VideoClipDataset(samples, [0, 1], ClipCache(tmp_path / "c", cfg), train=True)
    clip, mask, target, pose = ds[0]
    assert clip.shape == (8, 3, 48, 48) and clip.dtype == np.float32
    assert mask.all() and target == 0 and pose.shape == (8, 75, 2) and np.isnan(pose).all()
    assert np.isfinite(clip).all() and clip.std() > 0.05
    ev = VideoClipDataset(samples, [0, 1], ds.cache, train=False)
    np.testing.assert_array_equal(ev[1][0], ev[1][0])  # deterministic
