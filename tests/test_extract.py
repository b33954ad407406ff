"""Batch extraction: resumable after SIGKILL, deterministic packs, cache integrity, shards."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cli_checks import one_line_error
from sign2text.cli.main import main
from sign2text.data.extract import (
    ExtractConfig,
    Shard,
    cache_name,
    clip_key,
    extract_dataset,
    plan,
)
from sign2text.data.importers.base import VideoItem
from sign2text.data.pack import read_pack
from sign2text.errors import ConfigError, DatasetError
from sign2text.io.atomic import checksum_listed
from sign2text.io.video import read_video, write_video
from sign2text.landmarks.holistic import HolisticConfig
from sign2text.landmarks.skeleton import FACE

# (label, source clip): short studio clips, downscaled and cut to 10 fps for speed.
DATASET_CLIPS = (
    ("more", "more__sdb1228__more.mp4"),
    ("food", "food__sdb1228__food.mp4"),
    ("no", "no__sdb1228__no.mp4"),
    ("water", "water__sdb1228__water.mp4"),
)
FPS = 10.0
# ExtractConfig().fingerprint() before HolisticConfig had its face setting.
PRE_FACE_SETTING_FINGERPRINT = "80f8898b5d637a50"


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def video_dataset(videos_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """<root>/<label>/<clip>.mp4 with 4 small real clips and one undecodable file."""
    root = tmp_path_factory.mktemp("extract") / "signs"
    for label, name in DATASET_CLIPS:
        video = read_video(videos_dir / name, target_fps=FPS, max_side=480)
        write_video(root / label / f"{label}-1.mp4", video.frames, video.fps)
    (root / "broken").mkdir()
    (root / "broken" / "text.mp4").write_text("this is not a video\n")
    return root


@pytest.fixture(scope="module")
def run_a(video_dataset: Path) -> Path:
    """An uninterrupted run with 2 workers."""
    out = video_dataset.parent / "A"
    report = extract_dataset(video_dataset, out, workers=2)
    assert report.total == 5 and report.done == 4 and report.cached == 0
    assert [f.key for f in report.failed] == ["broken/text.mp4"]
    assert report.pack == out / "signs.npz"
    return out


def _cli_extract(dataset: Path, out: Path, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "sign2text.cli.main", "extract", str(dataset), str(out)]
    return subprocess.Popen(
        [*cmd, "--workers", "1", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # own process group: the kill takes the workers too
    )


@pytest.mark.slow
def test_extract_resume_after_sigkill_gives_identical_pack(
    video_dataset: Path, run_a: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_b = video_dataset.parent / "B"
    proc = _cli_extract(video_dataset, out_b)
    cache = out_b / "cache"
    deadline = time.monotonic() + 60
    try:
        # the checksum sidecar is written before the .npz (write_checked), and the .npz
        # appears by an atomic rename: a cache is complete once its .npz exists
        while not list(cache.glob("*.npz")):
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "no cache file after 60 s"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done_before = sum(checksum_listed(p, p.read_bytes()) for p in cache.glob("*.npz"))
    assert 1 <= done_before < 4, "the run was not interrupted mid-way"
    assert not (out_b / "signs.npz").exists()

    code = main(["extract", str(video_dataset), str(out_b), "--workers", "1"])
    assert code == 0
    summary = capsys.readouterr().out
    assert f"{done_before} already cached" in summary
    assert "1 failed" in summary and "broken/text.mp4" in summary

    pack_a, pack_b = run_a / "signs.npz", out_b / "signs.npz"
    assert pack_a.read_bytes() == pack_b.read_bytes()
    assert not _temp_files(out_b) and not _temp_files(run_a)
    samples = read_pack(pack_b)
    assert [s.source_id for s in samples] == sorted(
        f"{lbl}/{lbl}-1.mp4" for lbl, _ in DATASET_CLIPS
    )
    assert [s.label for s in samples] == sorted(lbl for lbl, _ in DATASET_CLIPS)
    for s in samples:
        assert 15 <= s.frames <= 30  # ~2 s at 10 fps
        hands = ~np.isnan(s.landmarks[:, 468:489, 0]).all(1) | ~np.isnan(
            s.landmarks[:, 522:543, 0]
        ).all(1)
        # detection rates differ slightly between CPUs (MediaPipe picks SIMD paths at run
        # time), so only require that hands were found at all; pose is found on every frame
        assert hands.any()
        assert (~np.isnan(s.landmarks[:, 489:522, 0]).all(1)).mean() >= 0.9
    failures = json.loads((out_b / "failures.json").read_text())
    assert [f["id"] for f in failures] == ["broken/text.mp4"]
    assert failures[0]["code"] == "undecodable_media"


@pytest.mark.slow
def test_extract_rebuilds_corrupt_cache(video_dataset: Path, run_a: Path) -> None:
    out = video_dataset.parent / "C"
    shutil.copytree(run_a, out)
    caches = sorted((out / "cache").glob("*.npz"))
    assert len(caches) == 4
    data = bytearray(caches[1].read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip bits in the middle of the payload
    caches[1].write_bytes(bytes(data))
    Path(str(caches[2]) + ".sha256").unlink()  # and lose one checksum sidecar
    (out / "signs.npz").unlink()
    stale = out / "cache" / f".{caches[0].name}.abc123.tmp"
    stale.write_bytes(b"half-written")

    report = extract_dataset(video_dataset, out, workers=0)
    assert report.cached == 2 and report.done == 2
    assert (out / "signs.npz").read_bytes() == (run_a / "signs.npz").read_bytes()
    assert caches[1].read_bytes() == (run_a / "cache" / caches[1].name).read_bytes()
    assert not _temp_files(out)


@pytest.mark.slow
def test_extract_shards_partition_the_clips(video_dataset: Path, run_a: Path) -> None:
    out = video_dataset.parent / "S"
    shutil.copytree(run_a / "cache", out / "cache")  # all cached: only the packs are built
    ids: list[str] = []
    for i in range(2):
        report = extract_dataset(video_dataset, out, workers=0, shard=Shard(i, 2))
        assert report.done == 0
        if report.pack is not None:
            assert report.pack.name == f"shard-{i}-of-2.npz"
            ids += [s.source_id for s in read_pack(report.pack)]
    whole = [s.source_id for s in read_pack(run_a / "signs.npz")]
    assert sorted(ids) == whole


def _item(source_id: str, start: int | None = None, end: int | None = None) -> VideoItem:
    return VideoItem(Path(f"/x/{source_id}"), "lbl", "", source_id, None, start, end)


def test_extract_plan_is_sorted_and_sharded_by_index() -> None:
    items = [_item(f"c{i:02d}") for i in (5, 3, 9, 0, 7, 1, 2)]
    config = ExtractConfig()
    whole = [c.key for c in plan(items, config)]
    assert whole == sorted(whole)
    parts = [[c.key for c in plan(items, config, Shard(i, 3))] for i in range(3)]
    assert parts[0] == whole[0::3] and parts[1] == whole[1::3] and parts[2] == whole[2::3]
    with pytest.raises(DatasetError, match="share the id"):
        plan([*items, _item("c05")], config)


def test_extract_cache_ids_are_stable_and_depend_on_settings() -> None:
    item = _item("a/b c.mp4", 3, 40)
    assert clip_key(item) == "a/b c.mp4@3-40"
    assert clip_key(_item("a/b c.mp4")) == "a/b c.mp4"
    name = cache_name(clip_key(item), ExtractConfig())
    assert name == cache_name(clip_key(item), ExtractConfig())
    assert name != cache_name(clip_key(item), ExtractConfig(target_fps=15))
    assert "/" not in name and name.endswith(".npz")
    # The full graph keeps the id it had before the face setting existed.
    assert ExtractConfig().fingerprint() == PRE_FACE_SETTING_FINGERPRINT
    no_face = ExtractConfig(holistic=HolisticConfig(face=False))
    assert cache_name(clip_key(item), no_face) != name


@pytest.mark.slow
def test_extract_cli_no_face_keeps_pose_and_hands(
    video_dataset: Path, run_a: Path, tmp_path: Path
) -> None:
    out = tmp_path / "noface"
    assert main(["-q", "extract", str(video_dataset), str(out), "--no-face"]) == 0
    full = {s.source_id: s for s in read_pack(run_a / "signs.npz")}
    body = read_pack(out / "signs.npz")
    assert sorted(s.source_id for s in body) == sorted(full)
    for s in body:
        ref = np.asarray(full[s.source_id].landmarks)
        lm = np.asarray(s.landmarks)
        assert np.isnan(lm[:, FACE.start : FACE.stop]).all()
        assert not np.isnan(ref[:, FACE.start : FACE.stop]).all()
        np.testing.assert_array_equal(lm[:, FACE.stop :], ref[:, FACE.stop :])


@pytest.mark.parametrize("text", ["2/2", "-1/3", "1/0", "a/b", "3"])
def test_extract_bad_shard_is_config_error(text: str) -> None:
    with pytest.raises(ConfigError):
        Shard.parse(text)


def test_extract_cli_bad_shard_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["extract", str(tmp_path), str(tmp_path / "out"), "--shard", "5/2"]) == 2
    assert one_line_error(capsys.readouterr().err).startswith("sign2text: error: bad shard")
