"""``sign2text landmarks``, ``frames`` and ``grid`` on real clips and on garbage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cli_checks import one_line_error
from sign2text.cli.main import main
from sign2text.data.pack import read_pack
from sign2text.io.video import read_video, write_video

CLIP = "more__sdb1228__more.mp4"


@pytest.fixture(scope="module")
def small_clip(videos_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real clip at 10 fps, longer side 480 (fast to process)."""
    video = read_video(videos_dir / CLIP, target_fps=10, max_side=480)
    path = tmp_path_factory.mktemp("clip") / "more.mp4"
    write_video(path, video.frames, video.fps)
    return path


def _garbage(tmp_path: Path, kind: str, videos_dir: Path) -> Path:
    path = tmp_path / f"{kind}.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("hello, I am a text file pretending to be a video\n" * 5)
    else:
        data = (videos_dir / CLIP).read_bytes()
        path.write_bytes(data[: len(data) // 3])
    return path


@pytest.mark.parametrize("kind", ["empty", "text", "truncated"])
def test_cli_landmarks_garbage_is_one_line_error(
    tmp_path: Path, videos_dir: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _garbage(tmp_path, kind, videos_dir)
    code = main(["landmarks", str(path), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 2
    assert str(path) in one_line_error(captured.err)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cli_landmarks_garbage_subprocess(tmp_path: Path, videos_dir: Path) -> None:
    path = _garbage(tmp_path, "text", videos_dir)
    proc = subprocess.run(
        [sys.executable, "-m", "sign2text.cli.main", "landmarks", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    one_line_error(proc.stderr)
    assert proc.stdout == ""


@pytest.mark.slow
def test_cli_landmarks_writes_pack_overlays_and_rates(
    small_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["landmarks", str(small_clip), "--out", str(out), "--json", "--label", "more"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 20
    assert summary["rates"]["pose"] >= 0.95 and summary["rates"]["hands"] >= 0.3
    [sample] = read_pack(out / "more.landmarks.npz")
    assert sample.label == "more" and sample.frames == 20
    sheet = np.asarray(Image.open(out / "more.overlay.png").convert("RGB"))
    assert sheet.shape[1] == 4 * 320  # 4 columns of 320 px tiles
    overlay = read_video(out / "more.overlay.mp4")
    assert len(overlay.frames) == 20
    raw = read_video(small_clip)
    assert np.abs(overlay.frames.astype(int) - raw.frames.astype(int)).max() > 100

    code = main(["landmarks", str(small_clip), "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and "pose" in text and "hands" in text and "more.overlay.mp4" in text


def test_cli_frames_single_clip(
    small_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "frames"
    assert main(["frames", str(small_clip), str(out), "--fps", "5", "--size", "64x48"]) == 0
    files = sorted(out.glob("*.jpg"), key=lambda p: int(p.stem))
    assert len(files) == 10
    assert [p.stem for p in files] == [str(i) for i in range(10)]
    assert Image.open(files[0]).size == (64, 48)
    assert "10 frames" in capsys.readouterr().out


def test_cli_frames_again_leaves_only_the_new_frames(
    small_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "frames"
    assert main(["frames", str(small_clip), str(out), "--fps", "5", "--format", "png"]) == 0
    (out / "notes.txt").write_text("mine")
    assert main(["frames", str(small_clip), str(out), "--fps", "2"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"{i}.jpg" for i in range(4)] + ["notes.txt"])


def test_cli_frames_layout_of_a_single_clip_is_an_error(
    small_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["frames", str(small_clip), str(tmp_path / "f"), "--layout", "wlasl"])
    assert code == 2
    assert "--layout applies to a dataset folder" in one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "f").exists()


def test_cli_frames_dataset_keeps_label_layout(
    small_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "data"
    for label in ("more", "again"):
        (root / label).mkdir(parents=True)
        (root / label / "clip1.mp4").write_bytes(small_clip.read_bytes())
    (root / "again" / "bad.mp4").write_text("nope")
    out = tmp_path / "frames"
    code = main(["frames", str(root), str(out), "--fps", "2", "--format", "png"])
    assert code == 0
    assert len(list((out / "more" / "clip1").glob("*.png"))) == 4
    assert len(list((out / "again" / "clip1").glob("*.png"))) == 4
    assert "failed: again/bad.mp4" in capsys.readouterr().out


def test_cli_frames_bad_size_is_error(
    small_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["frames", str(small_clip), str(tmp_path), "--size", "big"]) == 2
    assert "bad size" in capsys.readouterr().err


def test_cli_grid(small_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    assert (
        main(["grid", str(small_clip), str(out), "--frames", "6", "--cols", "3", "--size", "100"])
        == 0
    )
    image = np.asarray(Image.open(out).convert("RGB"))
    raw = read_video(small_clip).frames
    h, w = raw.shape[1:3]
    tile_h, tile_w = round(h * 100 / max(h, w)), round(w * 100 / max(h, w))
    assert image.shape == (2 * tile_h, 3 * tile_w, 3)
    # first tile is the first frame, scaled
    assert np.abs(image[:tile_h, :tile_w].mean() - raw[0].mean()) < 3
