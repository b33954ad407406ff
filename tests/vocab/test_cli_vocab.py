"""``sign2text vocab`` and ``recognize --vocab`` on real clips and pack sequences."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sign2text.cli.main import main


def _npy(tmp: Path, seqs: list[Any], stem: str) -> list[str]:
    out = []
    for i, lm in enumerate(seqs):
        p = tmp / f"{stem}{i}.npy"
        np.save(p, lm)
        out.append(str(p))
    return out


@pytest.fixture()
def vocab_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "vocab.json"
    monkeypatch.setenv("SIGN2TEXT_VOCAB", str(path))
    return path


def _err(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("sign2text: error:") and "\n" not in err, err
    return err


def test_add_list_remove_export_import(
    tmp_path: Path, vocab_file: Path, bhutan: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sun = _npy(tmp_path, bhutan["sun"][:5], "sun")
    moon = _npy(tmp_path, bhutan["moon"][:3], "moon")
    assert main(["vocab", "add", "sun", *sun]) == 0
    assert main(["vocab", "add", "moon", *moon]) == 0
    assert main(["vocab", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert listed["words"] == {"moon": 3, "sun": 5}
    # duplicate: an error unless --append or --replace
    assert main(["vocab", "add", "sun", sun[0]]) == 2
    assert "already a user word" in _err(capsys)
    assert main(["vocab", "add", "--append", "sun", sun[0]]) == 0
    assert main(["vocab", "add", "--replace", "sun", sun[0], sun[1]]) == 0
    out = tmp_path / "exported.json"
    assert main(["vocab", "export", str(out)]) == 0
    assert main(["vocab", "remove", "sun"]) == 0
    assert main(["vocab", "remove", "sun"]) == 2
    _err(capsys)
    assert main(["vocab", "import", str(out)]) == 2  # moon is still there
    assert "--replace" in _err(capsys)
    assert main(["vocab", "import", "--replace", str(out)]) == 0
    capsys.readouterr()
    assert main(["vocab", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["words"] == {"moon": 3, "sun": 2}
    assert json.loads(out.read_text()) == json.loads(vocab_file.read_text())


def test_bad_inputs(
    tmp_path: Path, vocab_file: Path, bhutan: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sun = _npy(tmp_path, bhutan["sun"][:2], "sun")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    nobody = tmp_path / "nobody.npy"
    np.save(nobody, np.full((20, 543, 3), np.nan, np.float32))
    cases = [
        (["vocab", "add", "star", str(empty)], "empty"),
        (["vocab", "add", "star", str(nobody)], "nobody signs"),
        (["vocab", "add", "hello", *sun], "built-in word"),
        (["vocab", "add", "_none_", *sun], "built-in word"),
        (["vocab", "add", "star"], "clips or --camera"),
        (["vocab", "add", "star", str(tmp_path / "missing.mp4")], "no such file"),
        (["vocab", "add", "star", str(tmp_path)], "is a folder, not a clip"),
        (["vocab", "add", "star", *sun, "--count", "3"], "are for --camera recording"),
    ]
    for argv, msg in cases:
        assert main(argv) == 2, argv
        assert msg in _err(capsys), argv
    usage = [
        (["vocab", "add", "star", "--camera", "0", "--seconds", "nan"], "finite number"),
        (["vocab", "add", "star", "--camera", "0", "--seconds", "600"], "0.5 to 60 seconds"),
        (["vocab", "add", "star", "--camera", "0", "--count", "99"], "must be 1 to 50"),
    ]
    for argv, msg in usage:  # argparse usage errors: exit 2 before anything runs
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2 and msg in capsys.readouterr().err, argv
    assert not vocab_file.exists()  # nothing was written by a failed add
    vocab_file.write_text("{not json")
    assert main(["vocab", "list"]) == 2
    assert "not valid JSON" in _err(capsys)
    other = json.dumps(
        {
            "format": "sign2text-vocab/1",
            "model": {"sha256": "0" * 64},
            "embedding_dim": 128,
            "words": {},
        }
    )
    vocab_file.write_text(other)
    assert main(["vocab", "list"]) == 2
    assert "another model" in _err(capsys)
    (tmp_path / "o.json").write_text(other)
    vocab_file.unlink()
    assert main(["vocab", "import", str(tmp_path / "o.json")]) == 2
    assert "another model" in _err(capsys)


def test_teach_from_video_then_recognize(
    tmp_path: Path, vocab_file: Path, videos_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real clip of a word outside the built-in vocabulary (cow), taught and recognized."""
    clip = videos_dir / "cow__Osushi2022__13703.mp4"
    assert main(["vocab", "add", "cow", str(clip)]) == 0
    capsys.readouterr()
    assert main(["recognize", str(clip), "--json"]) == 0  # default: $SIGN2TEXT_VOCAB
    result = json.loads(capsys.readouterr().out)
    assert result["label"] == "cow" and result["confidence"] > 0.99
    missing = tmp_path / "none.json"
    assert main(["recognize", str(clip), "--vocab", str(missing)]) == 2
    assert "no such vocabulary" in _err(capsys)


def test_camera_recording_keeps_the_camera_for_every_example(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """All ``--count`` examples come from one open camera, released once at the end
    (each example used to open a new frame generator, and closing the first one
    released the camera, so examples 2.. had no frames); the graph is warmed up before
    the first example's clock starts."""
    import itertools
    import time as _time

    from sign2text.cli import cmd_vocab
    from sign2text.io import camera
    from sign2text.io.video import Frame

    released: list[bool] = []

    class FakeCamera:
        def __init__(self, index: int) -> None:
            self.open = True

        def frames(self) -> Any:
            try:
                for i in itertools.count():
                    if not self.open:
                        return
                    _time.sleep(0.005)
                    yield Frame(index=i, time_s=0.0, image=np.zeros((4, 4, 3), np.uint8))
            finally:
                self.open = False
                released.append(True)

    class CountingExtractor:
        def __init__(self) -> None:
            self.calls = 0

        def reset(self) -> None:
            pass

        def warm_up(self) -> None:  # as HolisticExtractor.warm_up: one frame, then reset
            self.process(np.zeros((4, 4, 3), np.uint8))
            self.reset()

        def process(self, image: Any) -> Any:
            self.calls += 1
            return np.zeros((543, 3), np.float32)

    monkeypatch.setattr(camera, "CameraSource", FakeCamera)
    extractor = CountingExtractor()
    seqs = cmd_vocab._record(0, 3, 0.05, extractor)
    assert len(seqs) == 3 and all(len(s) > 0 for s in seqs)
    assert released == [True]
    assert extractor.calls == 1 + sum(len(s) for s in seqs)  # one warm-up frame
