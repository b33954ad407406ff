"""``sign2text info`` and ``sign2text convert`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cli_checks import one_line_error
from sign2text.cli.main import main
from sign2text.data.pack import read_pack


def test_info_pack_json_matches_manifest(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = data_dir / "landmarks" / "traduttore_letters.npz"
    assert main(["info", str(pack), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    sources = json.loads((data_dir / "landmarks" / "manifest.json").read_text())["sources"]
    expected = next(s for s in sources if s["name"] == "traduttore_letters")
    assert got["format"] == "pack"
    for key in ("sequences", "frames", "counts_per_label", "counts_per_signer"):
        assert got[key] == expected[key], key
    assert got["frames_per_sequence"] == expected["frames_per_sequence"]
    assert got["pose_rate"] == 0.0 and 0 < got["hand_rate"] <= 1


def test_info_text_on_mp_data_sample(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(data_dir / "samples" / "traduttore")]) == 0
    out = capsys.readouterr().out
    assert "(mp_data)" in out and "sequences: 3" in out and "frames: 60" in out
    assert "hand detection rate: 81.7% of frames" in out
    assert "thank-you  1" in out


def test_info_on_video_folder(videos_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(videos_dir)]) == 0
    out = capsys.readouterr().out
    assert "clips: 49" in out
    assert "book (2): book__Osushi2022__07074.mp4, book__sdb1228__book.mp4" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["info", "/nonexistent/dataset"], "no such file or folder"),
        (["info", "{empty}"], "unknown dataset layout; landmark formats: gislr, mp_data"),
        (["info", "{empty}", "--format", "bogus"], "unknown format 'bogus'"),
        (["convert", "{empty}", "{tmp}/x.npz"], "unknown landmark dataset layout"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    argv = [a.format(empty=tmp_path / "empty", tmp=tmp_path) for a in args]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in one_line_error(captured.err)
    assert captured.out == ""


def test_malformed_npy_is_named_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seq = tmp_path / "MP_Data" / "hello" / "0"
    seq.mkdir(parents=True)
    np.save(seq / "0.npy", np.zeros(258))
    np.save(seq / "1.npy", np.zeros(17))
    assert main(["info", str(tmp_path)]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert str(seq / "1.npy") in line


def test_convert_to_slim_pack(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dst = tmp_path / "slim.npz"
    src = str(data_dir / "samples" / "traduttore")
    assert main(["convert", src, str(dst), "--parts", "hands,pose"]) == 0
    assert "3 sequences, 60 frames (mp_data -> pack)" in capsys.readouterr().out
    assert [s.label for s in read_pack(dst)] == ["coffee", "hello", "thank-you"]
    assert main(["convert", str(dst), str(tmp_path / "md"), "--to", "mp_data"]) == 0
    assert (tmp_path / "md" / "MP_Data" / "hello" / "0" / "19.npy").is_file()
    assert main(["convert", str(dst), str(tmp_path / "p"), "--to", "pose", "--from", "pack"]) == 0
    assert len(list((tmp_path / "p").glob("*/*.pose"))) == 3
    capsys.readouterr()
    assert main(["convert", src, str(tmp_path / "bad.npz"), "--parts", "feet"]) == 2
    assert "unknown landmark part 'feet'" in one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "bad.npz").exists()
