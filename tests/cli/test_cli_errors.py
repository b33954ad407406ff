"""Bad input on the command line: a one-line ``sign2text: error:`` and exit 2, never a
traceback or an "internal error", and no output file destroyed or left half-made."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from cli_checks import one_line_error
from sign2text.cli import cmd_split
from sign2text.cli.main import main
from sign2text.errors import DatasetError

HELLO = "hello__sdb1228__hello.mp4"


def test_multi_line_messages_become_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def fails(args: object) -> int:
        raise DatasetError("first part\n  second part\n")

    monkeypatch.setattr(cmd_split, "run", fails)
    assert main(["split", str(tmp_path / "x.npz"), str(tmp_path / "s.json")]) == 2
    assert one_line_error(capsys.readouterr().err) == "sign2text: error: first part; second part"


def test_a_file_where_a_folder_should_be(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    pack = data_dir / "landmarks" / "traduttore.npz"
    assert main(["split", str(pack), str(blocker / "split.json")]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert str(blocker) in line and "internal" not in line


def test_deeply_nested_json_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000)
    assert main(["train", str(deep), "--out", str(tmp_path / "run")]) == 2
    one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [("list.json", "[1, 2]"), ("str.json", '"x"'), ("img.toml", b"\x89PNG\r\n\x1a\n\xff\xfe")],
)
def test_config_files_that_are_not_tables(
    name: str, content: str | bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == 2
    assert str(path) in one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize(
    "argv",
    [
        ["split", "x.npz", "s.json", "--seed", "-1"],
        ["split", "x.npz", "s.json", "--val", "nan"],
        ["split", "x.npz", "s.json", "--test", "1.5"],
        ["recognize", "clip.mp4", "--fps", "inf"],
        ["recognize", "clip.mp4", "--fps", "0"],
        ["evaluate", "m.onnx", "x.npz", "--batch-size", "0"],
        ["serve", "--max-upload-mb", "nan"],
        ["live", "--video", "clip.mp4", "--seconds", "-5"],
        ["convert", "x.npz", "out", "--to", "pose", "--fps", "nan"],
        ["extract", "videos", "out", "--workers", "-1"],
        ["extract", "videos", "out", "--workers", "100000"],
        ["recognize", "clip.mp4", "--threads", "100000"],
        ["recognize", "clip.mp4", "--threads", "0"],
    ],
)
def test_bad_numbers_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err and "Traceback" not in err


def test_grid_never_overwrites_its_clip(
    videos_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = tmp_path / "clip.mp4"
    shutil.copyfile(videos_dir / HELLO, clip)
    before = clip.read_bytes()
    assert main(["grid", str(clip), str(clip)]) == 2
    one_line_error(capsys.readouterr().err)
    assert main(["grid", str(clip), str(tmp_path / "grid.txt")]) == 2
    assert ".png" in one_line_error(capsys.readouterr().err)
    assert clip.read_bytes() == before and not (tmp_path / "grid.txt").exists()


def test_frames_of_a_truncated_clip_leave_no_partial_output(
    videos_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = (videos_dir / HELLO).read_bytes()  # index first: the cut file still opens
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    out, again = tmp_path / "frames", tmp_path / "again"
    assert main(["frames", str(cut), str(out)]) == 2
    assert "could be decoded" in one_line_error(capsys.readouterr().err)
    assert list(out.iterdir()) == []
    # Over an earlier good export of the whole clip, the failed one changes nothing.
    assert main(["frames", str(videos_dir / HELLO), str(again)]) == 0
    before = {p.name: p.read_bytes() for p in again.iterdir()}
    assert len(before) == 78
    capsys.readouterr()
    assert main(["frames", str(cut), str(again)]) == 2
    one_line_error(capsys.readouterr().err)
    assert {p.name: p.read_bytes() for p in again.iterdir()} == before


def test_extract_pack_name_stays_in_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "videos" / "hello").mkdir(parents=True)
    out = tmp_path / "deep" / "out"
    assert main(["extract", str(tmp_path / "videos"), str(out), "--name", "../../escape"]) == 2
    assert "plain file name" in one_line_error(capsys.readouterr().err)
    assert not list(tmp_path.rglob("escape.npz"))


def test_vocab_refuses_infinite_landmarks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    example = tmp_path / "inf.npy"
    np.save(example, np.full((20, 543, 3), np.inf, dtype=np.float32))
    vocab = tmp_path / "vocab.json"
    assert main(["vocab", "add", "thing", str(example), "--vocab", str(vocab)]) == 2
    assert "infinite" in one_line_error(capsys.readouterr().err)
    assert not vocab.exists()


def test_cv_report_checks_its_runs_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cv"
    assert main(["cv-report", str(tmp_path / "nonexistent"), "--out", str(out)]) == 2
    assert "no such training run" in one_line_error(capsys.readouterr().err)
    run = tmp_path / "fold-0"
    (run / "test").mkdir(parents=True)
    for name in ("config.json", "best.pt"):
        (run / name).write_text("{}")
    (run / "split.json").write_text('{"protocol": "signer-folds-5/0"}')
    (run / "test" / "report.json").write_text("{")
    assert main(["cv-report", str(run), "--out", str(out)]) == 2
    assert "report.json" in one_line_error(capsys.readouterr().err)
    assert not out.exists()


def test_garbage_checkpoint_with_a_matching_checksum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    from sign2text.io.atomic import sha256_bytes

    ckpt = tmp_path / "best.pt"
    data = bytes(range(256)) * 8  # not a zip: torch tries its legacy pickle format
    ckpt.write_bytes(data)
    Path(str(ckpt) + ".sha256").write_text(sha256_bytes(data) + "\n")
    assert main(["export", str(ckpt), "--out", str(tmp_path / "e")]) == 2
    assert "not a readable torch checkpoint" in one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "conv_transformer"}, "checkpoint 'model' must be a table of name and args"),
        ({"model": {"name": "mlp", "args": {}}}, "checkpoint 'model' must be a table"),
        ({"labels": []}, "checkpoint 'labels' must list at least 2 words"),
        ({"labels": ["a", 2]}, "checkpoint 'labels' must list at least 2 words"),
        ({"labels": ["a", "b", "c"]}, "checkpoint has 3 labels for a model of 2 classes"),
        ({"state_dict": [1, 2]}, "checkpoint 'state_dict' and 'features' must be tables"),
    ],
)
def test_well_formed_checkpoints_with_wrong_contents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, object], message: str
) -> None:
    """A checkpoint in the right format, with a matching checksum, whose entries are of
    the wrong kind: a one-line error naming the entry, not a TypeError or AxisError."""
    torch = pytest.importorskip("torch")
    import io

    from sign2text.io.atomic import write_checked
    from sign2text.models import create_model
    from sign2text.models.checkpoint import CHECKPOINT_FORMAT

    model = create_model("mlp", in_dim=8, num_classes=2)
    ckpt = {
        "format": CHECKPOINT_FORMAT,
        "model": {"name": "mlp", "args": {"in_dim": 8, "num_classes": 2}},
        "state_dict": model.state_dict(),
        "labels": ["hello", "bye"],
        "features": {},
        **change,
    }
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    path = tmp_path / "best.pt"
    write_checked(path, buf.getvalue())
    assert main(["export", str(path), "--out", str(tmp_path / "e")]) == 2
    assert message in one_line_error(capsys.readouterr().err)


def test_serve_checks_the_vocabulary_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "vocab.json"
    bad.write_text("{")
    assert main(["serve", "--port", "0", "--vocab", str(bad)]) == 2
    assert str(bad) in one_line_error(capsys.readouterr().err)
    assert main(["serve", "--port", "0", "--vocab", str(tmp_path / "missing.json")]) == 2
    one_line_error(capsys.readouterr().err)


def test_model_whose_metadata_does_not_fit_its_graph(
    videos_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import dataclasses

    from sign2text.errors import ModelError
    from sign2text.export import read_metadata, write_metadata
    from sign2text.runtime import OnnxClassifier, bundled_model_path

    meta = read_metadata(bundled_model_path())
    cases = {
        "fewer_labels.onnx": dataclasses.replace(meta, labels=meta.labels[:5], prototypes=None),
        "twice.onnx": dataclasses.replace(
            meta, labels=(meta.labels[0],) * len(meta.labels), prototypes=None
        ),
        "features.onnx": dataclasses.replace(
            meta, features=dataclasses.replace(meta.features, velocities=False)
        ),
    }
    for name, bad in cases.items():
        model = tmp_path / name
        shutil.copyfile(bundled_model_path(), model)
        write_metadata(model, bad)
        with pytest.raises(ModelError, match=r"disagree|twice"):
            OnnxClassifier(model)
    model = tmp_path / "fewer_labels.onnx"
    assert main(["recognize", str(videos_dir / HELLO), "--model", str(model)]) == 2
    assert "disagree" in one_line_error(capsys.readouterr().err)


def test_a_broken_model_is_named_even_with_a_user_vocabulary(
    videos_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With a user vocabulary file present, a broken --model was reported as "a
    vocabulary made for another model"; the model's own fault comes first."""
    vocab = tmp_path / "vocabulary.json"
    vocab.write_text("{}")
    monkeypatch.setenv("SIGN2TEXT_VOCAB", str(vocab))
    broken = tmp_path / "model.onnx"
    broken.write_text("not a model")
    assert main(["recognize", str(videos_dir / HELLO), "--model", str(broken)]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert "not a loadable ONNX model" in line and "vocabulary" not in line
    assert vocab.read_text() == "{}"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["evaluate", "m.onnx", "x.npz", "--split", "train"], "give --split-file too"),
        (["export", "best.pt", "--split-file", "s.json"], "give --data too"),
        (["export", "best.pt", "--data", "x.npz", "--split", "val"], "give --split-file too"),
        (["prototypes", "m.onnx", "--data", "x.npz", "--split", "test"], "give --split-file too"),
        (["prototypes", "m.onnx", "--config", "c.toml", "--split-file", "s.json"], "is for --data"),
    ],
)
def test_options_that_need_another_are_not_ignored(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--split`` without ``--split-file`` used to score the whole dataset silently."""
    assert main([argv[0], *[str(tmp_path / a) if "." in a else a for a in argv[1:]]]) == 2
    assert message in one_line_error(capsys.readouterr().err)
