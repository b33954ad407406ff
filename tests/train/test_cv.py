"""Signer folds -> cross-validation report -> final export with a calibrated card."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

pytest.importorskip("torch")

from sign2text.cli.main import main
from sign2text.data.pack import read_pack, write_pack
from sign2text.data.sample import Sample
from sign2text.runtime import Recognizer
from sign2text.runtime.onnx_model import OnnxClassifier

pytestmark = [pytest.mark.torch, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
WORDS = ("coffee", "get", "hello", "_none_")


@pytest.fixture(scope="module")
def pack(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    per: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for s in read_pack(data_dir / "landmarks" / "traduttore.npz"):
        if s.label in WORDS and len(per[s.label, s.signer]) < 10:
            per[s.label, s.signer].append(s)
    path = tmp_path_factory.mktemp("cvdata") / "slice.npz"
    write_pack(path, [s for group in per.values() for s in group])
    return path


def test_folds_report_and_final_export(
    pack: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    common = [
        "--set",
        f'data.paths=["{pack}"]',
        "--set",
        "data.labels=[]",
        "--set",
        "data.vocabulary_rule=true",
        "--set",
        "data.min_per_signer=5",
        "--set",
        "data.dedupe=true",
    ]
    runs = []
    for k in range(3):
        out = tmp_path / f"fold-{k}"
        argv = ["-q", "train", str(ROOT / "configs" / "tiny.toml"), *common]
        argv += ["--set", "data.split=folds", "--set", "data.folds=3", "--set", f"data.fold={k}"]
        assert main([*argv, "--out", str(out)]) == 0
        runs.append(out)
    final = tmp_path / "final"
    argv = ["-q", "train", str(ROOT / "configs" / "tiny.toml"), *common, "--set", "data.split=none"]
    assert main([*argv, "--out", str(final)]) == 0
    bundle = tmp_path / "model.onnx"
    report_dir = tmp_path / "cv"
    argv = ["cv-report", *map(str, runs), "--out", str(report_dir)]
    assert main([*argv, "--final", str(final / "best.pt"), "--bundle", str(bundle)]) == 0

    cv = json.loads((report_dir / "cv.json").read_text())
    # Each of the three traduttore signers is tested exactly once, in its own fold.
    assert cv["signers"] == 3 and len(cv["folds"]) == 3
    assert {v["fold"] for v in cv["per_signer"].values()} == {"fold-0", "fold-1", "fold-2"}
    tested = sum(f["n"] for f in cv["folds"])
    assert tested == sum(v["n"] for v in cv["per_class"].values())
    assert cv["int8_parity"]["n"] == tested
    assert 0.0 < cv["reject_threshold"] <= 0.9
    assert "Per signer" in (report_dir / "cv.md").read_text()
    # The fold exports were scratch files: none is left, nor their hidden folder.
    left = sorted(p.name for p in report_dir.iterdir())
    assert not [n for n in left if n.startswith(("fold-", "."))], left

    # Refused before anything is written: a fold given twice, a run that is not a fold
    # run, a bundle path that is not an .onnx file (here: the final checkpoint itself),
    # and --bundle without --final.
    ckpt_bytes = (final / "best.pt").read_bytes()
    refused = [
        ([str(runs[0]), str(runs[0]), str(runs[1])], "given twice"),
        ([str(runs[0]), str(final)], "not a signer-fold run"),
        (
            [
                *map(str, runs),
                "--final",
                str(final / "best.pt"),
                "--bundle",
                str(final / "best.pt"),
            ],
            "the bundled model is an .onnx file",
        ),
        ([*map(str, runs), "--bundle", str(bundle)], "--bundle needs --final"),
    ]
    for args, message in refused:
        capsys.readouterr()
        assert main(["cv-report", *args, "--out", str(tmp_path / "cv_refused")]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "cv_refused").exists()
    assert (final / "best.pt").read_bytes() == ckpt_bytes

    # Interrupted while quantizing the second fold: nothing is left behind either.
    import sign2text.export as export_module
    from sign2text.train.cv import cv_report

    real_quantize = export_module.quantize_int8
    calls: list[Path] = []

    def interrupted(fp32: Path, int8: Path) -> Path:
        calls.append(Path(int8))
        if len(calls) == 2:
            assert Path(fp32).is_file()  # the fold's fp32 export exists at this point
            raise KeyboardInterrupt
        return real_quantize(fp32, int8)

    monkeypatch.setattr(export_module, "quantize_int8", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cv_report(runs, tmp_path / "cv_interrupted")
    assert len(calls) == 2
    assert list((tmp_path / "cv_interrupted").iterdir()) == []

    meta = OnnxClassifier(bundle).metadata
    assert meta.reject_threshold == cv["reject_threshold"]
    assert meta.card["evaluation"]["worst_fold_top1"] == cv["worst_fold_top1"]
    assert set(meta.labels) == set(WORDS)
    hello = next(s for s in read_pack(pack) if s.label == "hello")
    rec = Recognizer(bundle).recognize_landmarks(hello.landmarks)
    assert rec.label in WORDS
    # The final export carries the built-in prototypes of its training data.
    assert meta.prototypes is not None
    assert set(meta.prototypes.labels) == set(WORDS) - {"_none_"}

    # `sign2text prototypes` rewrites them from given data, here one per word.
    assert main(["prototypes", str(bundle), "--data", str(pack), "--per-word", "1"]) == 0
    again = OnnxClassifier(bundle).metadata
    assert again.prototypes is not None and sorted(again.prototypes.labels) == [
        "coffee",
        "get",
        "hello",
    ]
    assert again.reject_threshold == meta.reject_threshold  # the rest of the card is kept
    # Data without one of the model's words: a one-line error, the file is unchanged.
    only = tmp_path / "only_hello.npz"
    write_pack(only, [s for s in read_pack(pack) if s.label == "hello"])
    before = bundle.read_bytes()
    assert main(["prototypes", str(bundle), "--data", str(only)]) == 2
    assert bundle.read_bytes() == before
