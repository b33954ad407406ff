"""``sign2text recognize`` / ``live``: output formats and one-line errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_export import LABELS, export_tiny

from sign2text.cli.main import main


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("sign2text: error:")
    return err[0]


def test_missing_model_file(
    tmp_path: Path, videos_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = videos_dir / "yes__sdb1228__yes.mp4"
    assert main(["recognize", str(clip), "--model", str(tmp_path / "missing.onnx")]) == 2
    assert "missing.onnx" in _one_error_line(capsys)


def test_missing_bundled_model(
    tmp_path: Path,
    videos_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sign2text.runtime.recognizer as recognizer

    missing = tmp_path / "assets" / "model.onnx"
    monkeypatch.setattr(recognizer, "bundled_model_path", lambda: missing)
    assert main(["recognize", str(videos_dir / "yes__sdb1228__yes.mp4")]) == 2
    assert "no bundled model" in _one_error_line(capsys)


def test_corrupt_model_file(
    tmp_path: Path, videos_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x01garbage")
    assert main(["recognize", str(videos_dir / "yes__sdb1228__yes.mp4"), "--model", str(bad)]) == 2
    _one_error_line(capsys)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    return export_tiny(tmp_path_factory.mktemp("cli") / "tiny.onnx")[1]


def test_missing_clip_and_bad_top_k(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["recognize", str(tmp_path / "nope.mp4"), "--model", str(model)]) == 2
    assert "no such file" in _one_error_line(capsys)
    assert main(["recognize", str(tmp_path), "--model", str(model)]) == 2
    assert "is a folder" in _one_error_line(capsys)
    assert main(["recognize", str(tmp_path / "x.mp4"), "--model", str(model), "--top-k", "0"]) == 2
    _one_error_line(capsys)


def test_live_missing_video(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["live", "--video", str(tmp_path / "nope.mp4"), "--model", str(model)]) == 2
    _one_error_line(capsys)


@pytest.mark.slow
def test_recognize_prints_word_and_top_k(
    model: Path, videos_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = videos_dir / "thank-you__sdb1228__thank-you.mp4"
    assert main(["recognize", str(clip), "--model", str(model), "--top-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    word, conf = lines[0].split()[:2]
    assert word in LABELS and 0 < float(conf) <= 1
    assert [ln.strip()[:2] for ln in lines[1:4]] == ["1.", "2.", "3."]
    assert main(["recognize", str(clip), "--model", str(model), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["label"] in LABELS and len(data["top_k"]) == 4  # 4 labels < default 5
    assert data["frames"] > 0 and data["timings"]["total_ms"] > 0
