"""Figures for run dirs and reports (matplotlib, Agg backend; no torch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.io.atomic import atomic_write_bytes


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_figure(cm: NDArray[Any], labels: Sequence[str], title: str = "") -> Any:
    """A row-normalised confusion matrix figure (rows: true label)."""
    plt = _plt()
    n = len(labels)
    size = max(4.0, min(24.0, 0.35 * n + 2))
    fig, ax = plt.subplots(figsize=(size, size))
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=np.float64), where=rows > 0)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(n), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 30:
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    color = "white" if norm[i, j] > 0.5 else "black"
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=6, color=color)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def save_figure(fig: Any, path: str | Path) -> None:
    """Write a figure as PNG atomically and close it."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    _plt().close(fig)
    atomic_write_bytes(path, buf.getvalue())


def save_confusion_png(
    cm: NDArray[Any], labels: Sequence[str], path: str | Path, title: str = ""
) -> None:
    save_figure(confusion_figure(cm, labels, title), path)


def save_curves_png(history: Sequence[Mapping[str, float]], path: str | Path) -> None:
    """Loss (train/val), validation accuracy and learning rate per epoch."""
    plt = _plt()
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for key in ("train_loss", "val_loss"):
        axes[0].plot(epochs, [h.get(key, np.nan) for h in history], marker=".", label=key)
    axes[0].set_title("loss")
    axes[0].legend()
    for key in ("train_accuracy", "val_accuracy", "val_macro_f1"):
        axes[1].plot(epochs, [h.get(key, np.nan) for h in history], marker=".", label=key)
    axes[1].set_title("accuracy")
    axes[1].set_ylim(0, 1)
    axes[1].legend()
    axes[2].plot(epochs, [h.get("lr", np.nan) for h in history], marker=".")
    axes[2].set_title("learning rate")
    for ax in axes:
        ax.set_xlabel("epoch")
    fig.tight_layout()
    save_figure(fig, path)
