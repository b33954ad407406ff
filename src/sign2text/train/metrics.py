"""Classification metrics on NumPy arrays (no torch), for evaluating any predictor.

The training loop uses torchmetrics; these functions compute the same quantities from
logits so that evaluating an ONNX model needs only NumPy. Conventions follow
torchmetrics: accuracy is micro (fraction of samples right), F1 is the unweighted mean
over classes present in the targets or the predictions, MCC is the multi-class
(Gorodkin) form.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray


def confusion_matrix(y_true: NDArray[Any], y_pred: NDArray[Any], num_classes: int) -> NDArray[Any]:
    """``cm[i, j]`` = number of samples of true class ``i`` predicted as ``j``."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return cm


def topk_accuracy(logits: NDArray[Any], y_true: NDArray[Any], k: int) -> float:
    """Fraction of samples whose true class is among the ``k`` highest logits."""
    if len(y_true) == 0:
        return float("nan")
    k = min(k, logits.shape[1])
    top = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    return float((top == np.asarray(y_true)[:, None]).any(axis=1).mean())


def f1_per_class(cm: NDArray[Any]) -> NDArray[Any]:
    """F1 of each class (NaN for a class absent from both targets and predictions)."""
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    denom = support + predicted
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), np.nan)


def macro_f1(cm: NDArray[Any]) -> float:
    """Mean F1 over classes that occur in the targets or the predictions."""
    f1 = f1_per_class(cm)
    return float(np.nanmean(f1)) if np.isfinite(f1).any() else float("nan")


def mcc(cm: NDArray[Any]) -> float:
    """Matthews correlation coefficient, multi-class form; 0 when undefined."""
    c = cm.astype(np.float64)
    n = c.sum()
    correct = np.trace(c)
    t = c.sum(axis=1)
    p = c.sum(axis=0)
    cov = correct * n - (t * p).sum()
    denom = np.sqrt((n * n - (p * p).sum()) * (n * n - (t * t).sum()))
    return float(cov / denom) if denom > 0 else 0.0


def group_accuracy(
    groups: Sequence[str], y_true: NDArray[Any], y_pred: NDArray[Any]
) -> dict[str, dict[str, float]]:
    """Accuracy per group (signer, label ...): ``{group: {n, correct, accuracy}}``."""
    out: dict[str, dict[str, float]] = {}
    right = np.asarray(y_true) == np.asarray(y_pred)
    for g in sorted(set(groups)):
        sel = np.array([x == g for x in groups], dtype=bool)
        n = int(sel.sum())
        c = int(right[sel].sum())
        out[g] = {"n": n, "correct": c, "accuracy": c / n if n else float("nan")}
    return out


def summary(logits: NDArray[Any], y_true: NDArray[Any]) -> dict[str, float]:
    """top1, top5, macro_f1 and mcc of ``logits`` (N, C) against ``y_true`` (N,)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    num_classes = logits.shape[1]
    pred = logits.argmax(axis=1) if len(logits) else np.zeros(0, dtype=np.int64)
    cm = confusion_matrix(y_true, pred, num_classes)
    return {
        "top1": topk_accuracy(logits, y_true, 1),
        "top5": topk_accuracy(logits, y_true, 5),
        "macro_f1": macro_f1(cm),
        "mcc": mcc(cm),
    }
