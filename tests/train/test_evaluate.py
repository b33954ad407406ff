"""Evaluation: NumPy metrics (checked against torchmetrics), reports, OOV accounting,
and evaluating a NumPy predictor without importing torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sign2text.data.importers import load_landmarks
from sign2text.data.sample import Sample
from sign2text.errors import InputError
from sign2text.features.core import FeatureConfig
from sign2text.train import metrics
from sign2text.train.data import compute_all, pad_batch
from sign2text.train.evaluate import Predictor, evaluate

FEATS = FeatureConfig(frames=16)


def test_metrics_by_hand() -> None:
    y = np.array([0, 0, 1, 1, 2, 2])
    logits = np.array(
        [[3, 1, 0], [0, 2, 1], [0, 5, 1], [0, 1, 3], [0, 0, 4], [1, 0, 9]], dtype=np.float32
    )
    cm = metrics.confusion_matrix(y, logits.argmax(1), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 1], [0, 0, 2]]
    assert metrics.topk_accuracy(logits, y, 1) == pytest.approx(4 / 6)
    assert metrics.topk_accuracy(logits, y, 2) == pytest.approx(5 / 6)  # row 1 misses
    assert metrics.topk_accuracy(logits, y, 3) == 1.0
    # F1 per class: 2/3, 1/2, 4/5.
    assert metrics.macro_f1(cm) == pytest.approx((2 / 3 + 1 / 2 + 4 / 5) / 3)
    assert metrics.mcc(np.diag([3, 4])) == pytest.approx(1.0)
    assert metrics.mcc(np.array([[5, 0], [5, 0]])) == 0.0
    groups = metrics.group_accuracy(["a", "a", "b", "b", "b", "b"], y, logits.argmax(1))
    assert groups["a"] == {"n": 2, "correct": 1, "accuracy": 0.5}


def test_metrics_agree_with_torchmetrics() -> None:
    torch = pytest.importorskip("torch")
    tm = pytest.importorskip("torchmetrics.classification")
    rng = np.random.default_rng(0)
    c = 7
    logits = rng.normal(size=(300, c)).astype(np.float32)
    y = rng.integers(0, c - 1, size=300)  # class 6 never occurs in the targets
    t_logits, t_y = torch.from_numpy(logits), torch.from_numpy(y)
    ours = metrics.summary(logits, y)
    assert ours["top1"] == pytest.approx(
        float(tm.MulticlassAccuracy(c, average="micro")(t_logits, t_y)), abs=1e-6
    )
    assert ours["top5"] == pytest.approx(
        float(tm.MulticlassAccuracy(c, top_k=5, average="micro")(t_logits, t_y)), abs=1e-6
    )
    assert ours["macro_f1"] == pytest.approx(
        float(tm.MulticlassF1Score(c, average="macro")(t_logits, t_y)), abs=1e-5
    )
    assert ours["mcc"] == pytest.approx(
        float(tm.MulticlassMatthewsCorrCoef(c)(t_logits, t_y)), abs=1e-5
    )


def _centroid_predictor(train: list[Sample], labels: tuple[str, ...]) -> Predictor:
    """A real (if weak) NumPy classifier: nearest class centroid of pooled features."""

    def pooled(x: np.ndarray, m: np.ndarray) -> np.ndarray:
        w = m[..., None].astype(np.float32)
        return (x * w).sum(1) / np.maximum(w.sum(1), 1)

    x, m = pad_batch(compute_all(train, FEATS))
    emb = pooled(x, m)
    centroids = np.stack(
        [emb[[i for i, s in enumerate(train) if s.label == lab]].mean(0) for lab in labels]
    )

    def predict(x: np.ndarray, m: np.ndarray) -> np.ndarray:
        d = ((pooled(x, m)[:, None] - centroids[None]) ** 2).sum(-1)
        return (-d).astype(np.float32)

    return Predictor(predict, labels, FEATS, name="centroid")


def test_report_files_and_out_of_vocabulary(data_dir: Path, tmp_path: Path) -> None:
    samples = load_landmarks(data_dir / "samples" / "traduttore" / "MP_Data")
    known = tuple(sorted(s.label for s in samples if s.label != "coffee"))
    predictor = _centroid_predictor([s for s in samples if s.label in known], known)
    extra = Sample(samples[0].landmarks, "coffee", "someone", "extra")
    report = evaluate(predictor, [*samples, extra], out_dir=tmp_path, meta={"split": "test"})
    assert report.n_samples == 4 and report.n_evaluated == 2
    assert report.out_of_vocabulary == {"coffee": 2}
    assert report.top1 == 1.0  # its own training clips, nearest centroid is exact
    assert set(report.per_class) == set(known)
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["out_of_vocabulary"] == {"coffee": 2}
    md = (tmp_path / "report.md").read_text()
    assert "| coffee | 2 |" in md and "![confusion matrix](confusion.png)" in md
    assert (tmp_path / "confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_no_sample_in_the_vocabulary_is_an_error(data_dir: Path, tmp_path: Path) -> None:
    samples = load_landmarks(data_dir / "samples" / "traduttore" / "MP_Data")
    known = tuple(sorted(s.label for s in samples))
    predictor = _centroid_predictor(samples, known)
    strangers = [Sample(s.landmarks, "cow", s.signer, s.source_id) for s in samples]
    with pytest.raises(InputError, match="none of the 3 samples has a label of the model"):
        evaluate(predictor, strangers, out_dir=tmp_path / "report")
    assert not (tmp_path / "report").exists()


def test_numpy_predictor_path_never_imports_torch(data_dir: Path, tmp_path: Path) -> None:
    code = f"""
import sys, numpy as np
from sign2text.data.importers import load_landmarks
from sign2text.features.core import FeatureConfig
from sign2text.train.evaluate import Predictor, evaluate
s = load_landmarks({str(data_dir / "samples" / "traduttore" / "MP_Data")!r})
labels = tuple(sorted({{x.label for x in s}}))
p = Predictor(lambda x, m: np.tile(np.arange(len(labels), dtype=np.float32), (len(x), 1)),
              labels, FeatureConfig(frames=8))
r = evaluate(p, s, out_dir={str(tmp_path)!r})
assert "torch" not in sys.modules, "torch was imported"
print(r.top1)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    # Always predicts the last label (thank-you): 1 of 3 right.
    assert float(out.stdout.strip()) == pytest.approx(1 / 3)


def test_evaluate_cli_label_map(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))
    from tiny_export import export_tiny

    from cli_checks import one_line_error
    from sign2text.cli.main import main

    _, model = export_tiny(tmp_path / "tiny.onnx")  # coffee, hello, thank-you, _none_
    mp_data = str(data_dir / "samples" / "traduttore" / "MP_Data")  # one of each word
    out = tmp_path / "plain"
    assert main(["-q", "evaluate", str(model), mp_data, "--out", str(out)]) == 0
    plain = json.loads((out / "report.json").read_text())
    assert plain["n_evaluated"] == 3 and plain["out_of_vocabulary"] == {}
    out = tmp_path / "mapped"
    args = ["-q", "evaluate", str(model), mp_data, "--out", str(out)]
    assert main([*args, "--label-map", "coffee=tea"]) == 0
    mapped = json.loads((out / "report.json").read_text())
    assert mapped["n_evaluated"] == 2 and mapped["out_of_vocabulary"] == {"tea": 1}
    assert mapped["meta"]["label_map"] == "coffee=tea"
    capsys.readouterr()
    for bad in (["coffee"], ["a=b", "b=c"], ["coffee=tea", "coffee=milk"]):
        extra = [x for pair in bad for x in ("--label-map", pair)]
        assert main([*args, *extra]) == 2
        assert one_line_error(capsys.readouterr().err).startswith("sign2text: error: --label-map")
