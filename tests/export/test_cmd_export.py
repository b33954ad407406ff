"""``sign2text export`` end to end on a real checkpoint and a small real pack."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sign2text.cli.main import main  # noqa: E402
from sign2text.data.pack import read_pack, write_pack  # noqa: E402
from sign2text.data.splits import load_split, random_split, save_split  # noqa: E402
from sign2text.export import read_metadata  # noqa: E402
from sign2text.features import FeatureConfig, compute_features, feature_dim  # noqa: E402
from sign2text.models import create_model, save_checkpoint  # noqa: E402
from sign2text.runtime import OnnxClassifier  # noqa: E402

pytestmark = pytest.mark.torch

LABELS = ["coffee", "hello", "thank-you", "_none_"]


@pytest.fixture(scope="module")
def setup(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("cmd_export")
    samples = [s for s in read_pack(data_dir / "landmarks" / "traduttore.npz") if s.label in LABELS]
    picked = [s for lab in LABELS for s in [x for x in samples if x.label == lab][:12]]
    pack = tmp / "small.npz"
    write_pack(pack, picked)
    split_file = tmp / "split.json"
    save_split(split_file, random_split(picked, seed=0), picked)
    cfg = FeatureConfig()
    args = {"in_dim": feature_dim(cfg), "num_classes": len(LABELS), "hidden": 16, "depth": 1}
    torch.manual_seed(0)
    model = create_model("mlp", **args)
    ckpt = tmp / "best.pt"
    save_checkpoint(
        ckpt,
        model,
        model_name="mlp",
        model_args=args,
        labels=LABELS,
        features=cfg.to_dict(),
        metrics={"val_acc": 0.25},
    )
    return {"pack": pack, "split": split_file, "ckpt": ckpt, "out": tmp / "export"}


def test_export_with_validation_split(
    setup: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = setup["out"]
    code = main(
        [
            "export",
            str(setup["ckpt"]),
            "--out",
            str(out),
            "--data",
            str(setup["pack"]),
            "--split-file",
            str(setup["split"]),
        ]
    )
    assert code == 0
    for name in ("model.fp32.onnx", "model.int8.onnx", "parity.json", "parity.md"):
        assert (out / name).is_file(), name
    report = json.loads((out / "parity.json").read_text())
    assert report["n"] == 8  # 20% of 4 labels x 12 sequences
    assert report["max_abs_logit_diff"]["torch_vs_fp32"] < 1e-4
    # The accuracies are those of the written ONNX files on the split's val part.
    samples = read_pack(setup["pack"])
    val = load_split(setup["split"], samples).take(samples, "val")
    cfg = FeatureConfig()
    feats = [compute_features(s.landmarks, cfg) for s in val]
    x, m = np.stack([f for f, _ in feats]), np.stack([k for _, k in feats])
    y = np.array([LABELS.index(s.label) for s in val])
    for kind in ("fp32", "int8"):
        logits = OnnxClassifier(out / f"model.{kind}.onnx").logits(x, m)
        assert report["accuracy"][kind] == pytest.approx(float((logits.argmax(-1) == y).mean()))
    drop = 100 * (report["accuracy"]["fp32"] - report["accuracy"]["int8"])
    assert report["delta_points"] == pytest.approx(-drop, abs=1e-3)
    assert report["decision"] == ("int8" if drop <= 0.5 else "fp32")
    printed = capsys.readouterr().out
    assert f"decision: ship {report['decision']}" in printed
    # The calibrated reject threshold is stored in both files.
    for name in ("model.fp32.onnx", "model.int8.onnx"):
        meta = read_metadata(out / name)
        assert meta.card["reject_threshold"] == report["reject_threshold"]
        assert meta.reject_threshold == report["reject_threshold"]
        assert meta.labels == tuple(LABELS)
        assert meta.card["metrics"] == {"val_acc": 0.25}


def test_export_without_data_ships_fp32(setup: dict[str, Path], tmp_path: Path) -> None:
    assert main(["export", str(setup["ckpt"]), "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "parity.json").read_text())
    assert report["decision"] == "fp32"
    assert report["accuracy"] == {"fp32": None, "int8": None}


def test_export_missing_checkpoint_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(tmp_path / "nope.pt"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sign2text: error:")


def test_failed_export_keeps_the_earlier_one(
    setup: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt, out = str(setup["ckpt"]), tmp_path / "export"
    assert main(["export", ckpt, "--out", str(out), "--data", str(setup["pack"])]) == 0
    names = ("model.fp32.onnx", "model.int8.onnx", "parity.json", "parity.md")
    before = {name: (out / name).read_bytes() for name in names}
    assert read_metadata(out / "model.fp32.onnx").reject_threshold is not None
    capsys.readouterr()
    # Data with none of the model's words: the export fails after the graphs are built.
    other = [replace(s, label="elsewhere") for s in read_pack(setup["pack"]) if s.label == "hello"]
    foreign = tmp_path / "foreign.npz"
    write_pack(foreign, other)
    assert main(["export", ckpt, "--out", str(out), "--data", str(foreign)]) == 2
    assert "no validation sequence" in capsys.readouterr().err
    assert {name: (out / name).read_bytes() for name in names} == before
    assert sorted(p.name for p in out.iterdir()) == sorted(names)


@pytest.mark.parametrize("opset", ["14", "17", "999"])
def test_unsupported_opset_is_refused(
    opset: str, setup: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(setup["ckpt"]), "--out", str(tmp_path), "--opset", opset]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "opset must be between 18 and" in err[0]
    assert list(tmp_path.iterdir()) == []
