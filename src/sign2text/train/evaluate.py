"""Evaluate a model on samples: metrics, per-class / per-signer accuracy, reports.

The model is anything that maps a padded batch to logits::

    predict_logits(features (B, T, F) float32, mask (B, T) bool) -> logits (B, C) ndarray

wrapped in a :class:`Predictor` with its label list and feature config. A torch
checkpoint path becomes one through :func:`torch_predictor` (imports torch); the ONNX
runtime passes its own callable, and then nothing here needs torch.

Samples whose label is not in the model's vocabulary are counted per label under
``out_of_vocabulary`` and left out of the metrics (they cannot be right), never
silently dropped.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.data.sample import Sample
from sign2text.errors import InputError, ModelError
from sign2text.features.core import FeatureConfig
from sign2text.io.atomic import atomic_write_text
from sign2text.train import metrics
from sign2text.train.data import compute_all, pad_batch

log = logging.getLogger(__name__)

PredictLogits = Callable[[NDArray[Any], NDArray[Any]], NDArray[Any]]
Progress = Callable[[Iterable[Any]], Iterable[Any]]


@dataclass(frozen=True)
class Predictor:
    """A model seen from outside: logits function + its labels + its feature config."""

    predict_logits: PredictLogits
    labels: tuple[str, ...]
    features: FeatureConfig
    name: str = "model"


def torch_predictor(path: str | Path, device: str = "cpu") -> Predictor:
    """A :class:`Predictor` over a torch checkpoint (needs torch)."""
    import torch

    from sign2text.models import load_checkpoint

    model, ckpt = load_checkpoint(path)
    model.to(device)

    @torch.no_grad()
    def predict(feats: NDArray[Any], mask: NDArray[Any]) -> NDArray[Any]:
        out = model(torch.from_numpy(feats).to(device), torch.from_numpy(mask).to(device))
        result: NDArray[Any] = out.float().cpu().numpy()
        return result

    return Predictor(
        predict,
        tuple(ckpt["labels"]),
        FeatureConfig.from_dict(ckpt["features"]),
        name=f"{ckpt['model']['name']} ({Path(path).name})",
    )


def onnx_predictor(path: str | Path, threads: int = 1) -> Predictor:
    """A :class:`Predictor` over an exported ONNX model (ONNX Runtime; no torch)."""
    from sign2text.runtime.onnx_model import OnnxClassifier

    clf = OnnxClassifier(path, threads=threads)
    return Predictor(clf.logits, tuple(clf.labels), clf.metadata.features, name=Path(path).name)


def load_predictor(path: str | Path) -> Predictor:
    """A predictor for a model file: ``.onnx`` via ONNX Runtime, otherwise a checkpoint."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: model file not found")
    return onnx_predictor(p) if p.suffix == ".onnx" else torch_predictor(p)


@dataclass
class EvalReport:
    """Everything :func:`evaluate` measured. ``to_dict`` is what report.json holds."""

    model: str
    labels: list[str]
    n_samples: int
    n_evaluated: int
    top1: float
    top5: float
    macro_f1: float
    mcc: float
    per_class: dict[str, dict[str, float]]
    per_signer: dict[str, dict[str, float]]
    out_of_vocabulary: dict[str, int]
    confusion: list[list[int]]
    meta: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_markdown(self) -> str:
        """A human-readable report."""
        lines = [f"# Evaluation: {self.model}", ""]
        for key, value in self.meta.items():
            lines.append(f"- {key}: {value}")
        lines += [
            f"- samples: {self.n_samples} ({self.n_evaluated} in the model's vocabulary)",
            "",
            "| metric | value |",
            "| --- | --- |",
            f"| top-1 accuracy | {_fmt(self.top1)} |",
            f"| top-5 accuracy | {_fmt(self.top5)} |",
            f"| macro F1 | {_fmt(self.macro_f1)} |",
            f"| MCC | {_fmt(self.mcc)} |",
            "",
            "## Per class",
            "",
            "| label | n | correct | accuracy |",
            "| --- | --- | --- | --- |",
        ]
        for label, row in self.per_class.items():
            lines.append(f"| {label} | {row['n']} | {row['correct']} | {_fmt(row['accuracy'])} |")
        lines += ["", "## Per signer", "", "| signer | n | accuracy |", "| --- | --- | --- |"]
        for signer, row in self.per_signer.items():
            lines.append(f"| {signer or '(unknown)'} | {row['n']} | {_fmt(row['accuracy'])} |")
        lines += ["", "## Outside the model's vocabulary (not scored)", ""]
        if self.out_of_vocabulary:
            lines += ["| label | n |", "| --- | --- |"]
            lines += [f"| {k} | {v} |" for k, v in self.out_of_vocabulary.items()]
        else:
            lines.append("none")
        if "confusion_png" in self.files:
            lines += ["", f"![confusion matrix]({Path(self.files['confusion_png']).name})"]
        return "\n".join(lines) + "\n"


def _json_safe(value: Any) -> Any:
    """NaN/inf -> None, so report.json is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _fmt(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"


def predict_all(
    predictor: Predictor,
    feats: Sequence[tuple[NDArray[Any], NDArray[Any]]],
    batch_size: int = 64,
    progress: Progress | None = None,
) -> NDArray[Any]:
    """Logits (N, C) for precomputed features, in batches."""
    starts: Iterable[int] = range(0, len(feats), batch_size)
    if progress:
        starts = progress(starts)
    out = []
    for a in starts:
        x, m = pad_batch(feats[a : a + batch_size])
        logits = np.asarray(predictor.predict_logits(x, m), dtype=np.float32)
        if logits.shape != (len(x), len(predictor.labels)):
            raise ModelError(
                f"predictor returned logits {logits.shape}, "
                f"expected {(len(x), len(predictor.labels))}"
            )
        out.append(logits)
    return np.concatenate(out) if out else np.zeros((0, len(predictor.labels)), np.float32)


def evaluate(
    model: Predictor | str | Path,
    samples: Sequence[Sample],
    *,
    out_dir: str | Path | None = None,
    batch_size: int = 64,
    meta: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> EvalReport:
    """Evaluate ``model`` (a :class:`Predictor`, or a ``.pt`` / ``.onnx`` path) on ``samples``.

    With ``out_dir``, writes ``report.json``, ``report.md`` and ``confusion.png`` there.
    """
    predictor = model if isinstance(model, Predictor) else load_predictor(model)
    inside, y = in_vocabulary(samples, predictor.labels)
    feats = compute_all(inside, predictor.features)
    logits = predict_all(predictor, feats, batch_size, progress)
    report = report_from_logits(predictor.name, predictor.labels, samples, inside, y, logits, meta)
    if out_dir is not None:
        write_report(report, out_dir)
    return report


def in_vocabulary(
    samples: Sequence[Sample], labels: Sequence[str]
) -> tuple[list[Sample], NDArray[np.int64]]:
    """The samples whose label the model knows, and their class indices.

    Raises :class:`InputError` for an empty set or when no label is the model's; the
    others are counted in the report
    (``out_of_vocabulary``), never silently dropped.
    """
    if not samples:
        raise InputError("no samples to evaluate")
    index = {lab: i for i, lab in enumerate(labels)}
    inside = [s for s in samples if s.label in index]
    outside = len(samples) - len(inside)
    if not inside:
        seen = sorted({s.label for s in samples})
        shown = ", ".join(seen[:8]) + (", ..." if len(seen) > 8 else "")
        raise InputError(
            f"none of the {len(samples)} samples has a label of the model "
            f"(dataset labels: {shown}; the model knows {len(labels)} words)"
        )
    if outside:
        log.warning("%d samples have labels outside the model's vocabulary", outside)
    return inside, np.array([index[s.label] for s in inside], dtype=np.int64)


def report_from_logits(
    name: str,
    labels: Sequence[str],
    samples: Sequence[Sample],
    inside: Sequence[Sample],
    y: NDArray[np.int64],
    logits: NDArray[Any],
    meta: dict[str, Any] | None = None,
) -> EvalReport:
    """Metrics, per-class/per-signer accuracy and the confusion matrix of ``logits``
    (one row per sample of ``inside``, classes ``y``); ``samples`` is the whole set."""
    known = set(labels)
    oov = Counter(s.label for s in samples if s.label not in known)
    pred = logits.argmax(axis=1) if len(logits) else np.zeros(0, np.int64)
    cm = metrics.confusion_matrix(y, pred, len(labels))
    summary = (
        metrics.summary(logits, y)
        if len(y)
        else dict.fromkeys(("top1", "top5", "macro_f1", "mcc"), float("nan"))
    )
    return EvalReport(
        model=name,
        labels=list(labels),
        n_samples=len(samples),
        n_evaluated=len(inside),
        per_class=metrics.group_accuracy([s.label for s in inside], y, pred),
        per_signer=metrics.group_accuracy([s.signer for s in inside], y, pred),
        out_of_vocabulary=dict(sorted(oov.items())),
        confusion=cm.tolist(),
        meta=dict(meta or {}),
        top1=summary["top1"],
        top5=summary["top5"],
        macro_f1=summary["macro_f1"],
        mcc=summary["mcc"],
    )


def write_report(report: EvalReport, out_dir: str | Path, cm: NDArray[Any] | None = None) -> None:
    """Write ``confusion.png``, ``report.json`` and ``report.md`` into ``out_dir``."""
    from sign2text.train.plots import save_confusion_png

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = out / "confusion.png"
    matrix = cm if cm is not None else np.asarray(report.confusion)
    save_confusion_png(matrix, report.labels, png, title=report.model)
    report.files = {
        "confusion_png": str(png),
        "report_json": str(out / "report.json"),
        "report_md": str(out / "report.md"),
    }
    text = json.dumps(_json_safe(report.to_dict()), indent=1, allow_nan=False)
    atomic_write_text(out / "report.json", text + "\n")
    atomic_write_text(out / "report.md", report.to_markdown())
