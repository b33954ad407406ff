"""fp32 vs int8 (vs torch) parity on validation data, and the ship decision.

Decision rule: ship the int8 model only when its validation accuracy is at most
:data:`MAX_INT8_ACCURACY_DROP_POINTS` points below the fp32 model's; otherwise ship
fp32. Without labelled validation data the int8 accuracy is unmeasured and fp32 ships.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.features import pad_batch
from sign2text.runtime.metadata import METADATA_KEY, NONE_LABEL, parse_metadata
from sign2text.runtime.onnx_model import softmax

MAX_INT8_ACCURACY_DROP_POINTS = 0.5
_BATCH = 64


def _run_onnx(
    path: Path,
    feats: Sequence[NDArray[np.float32]],
    masks: Sequence[NDArray[np.bool_]],
    threads: int,
) -> tuple[NDArray[np.float32], tuple[str, ...]]:
    """Logits of every sample, and the model's labels (from its metadata)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    out = []
    for i in range(0, len(feats), _BATCH):
        x, m = pad_batch(feats[i : i + _BATCH], masks[i : i + _BATCH])
        out.append(np.asarray(sess.run(["logits"], {"features": x, "mask": m})[0]))
    result: NDArray[np.float32] = np.concatenate(out).astype(np.float32)
    meta = sess.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    return result, parse_metadata(meta, str(path)).labels


def _run_torch(
    model: Any, feats: Sequence[NDArray[np.float32]], masks: Sequence[NDArray[np.bool_]]
) -> NDArray[np.float32]:
    import torch

    out = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(feats), _BATCH):
            x, m = pad_batch(feats[i : i + _BATCH], masks[i : i + _BATCH])
            out.append(model(torch.from_numpy(x), torch.from_numpy(m)).numpy())
    result: NDArray[np.float32] = np.concatenate(out).astype(np.float32)
    return result


def parity_report(
    fp32: str | Path,
    int8: str | Path,
    feats: Sequence[NDArray[np.float32]],
    masks: Sequence[NDArray[np.bool_]],
    labels: Sequence[int] | NDArray[np.int64] | None,
    *,
    torch_model: Any = None,
    threads: int = 1,
    data: str = "",
) -> dict[str, Any]:
    """Compare the torch model (optional), the fp32 and the int8 ONNX files.

    ``feats``/``masks`` are per-sample arrays from :func:`sign2text.features.compute_features`;
    ``labels`` are class indices (None when unlabelled). Returns a JSON-ready dict with
    max |logit diff| torch-vs-fp32 and fp32-vs-int8, top-1 agreement, accuracies, the
    accuracy delta in points and the decision of :func:`choose_model`.
    """
    fp32_logits, names = _run_onnx(Path(fp32), feats, masks, threads)
    int8_logits, _ = _run_onnx(Path(int8), feats, masks, threads)
    report: dict[str, Any] = {
        "n": len(feats),
        "data": data,
        "max_abs_logit_diff": {
            "torch_vs_fp32": None,
            "fp32_vs_int8": float(np.abs(fp32_logits - int8_logits).max()),
        },
        "top1_agreement_fp32_int8": float(
            (fp32_logits.argmax(-1) == int8_logits.argmax(-1)).mean()
        ),
        "accuracy": {"fp32": None, "int8": None},
        "delta_points": None,
    }
    if torch_model is not None:
        ref = _run_torch(torch_model, feats, masks)
        report["max_abs_logit_diff"]["torch_vs_fp32"] = float(np.abs(ref - fp32_logits).max())
        report["top1_agreement_torch_fp32"] = float(
            (ref.argmax(-1) == fp32_logits.argmax(-1)).mean()
        )
    if labels is not None:
        y = np.asarray(labels, dtype=np.int64)
        acc32 = float((fp32_logits.argmax(-1) == y).mean())
        acc8 = float((int8_logits.argmax(-1) == y).mean())
        report["accuracy"] = {"fp32": acc32, "int8": acc8}
        report["delta_points"] = round((acc8 - acc32) * 100.0, 4)
        none = names.index(NONE_LABEL) if NONE_LABEL in names else None
        report["reject_threshold"] = calibrate_reject_threshold(
            softmax(fp32_logits), y, ignore=none
        )
    report["decision"] = choose_model(report)
    report["rule"] = (
        f"ship int8 only if its accuracy is within {MAX_INT8_ACCURACY_DROP_POINTS} point "
        "of fp32 on the validation data, else fp32"
    )
    return report


def choose_model(report: dict[str, Any]) -> str:
    """``"int8"`` when its accuracy drop is within the allowed points, else ``"fp32"``."""
    delta = report.get("delta_points")
    if delta is None:
        return "fp32"
    return "int8" if float(delta) >= -MAX_INT8_ACCURACY_DROP_POINTS else "fp32"


def calibrate_reject_threshold(
    probs: NDArray[np.float32],
    labels: NDArray[np.int64],
    *,
    keep: float = 0.95,
    floor: float = 0.05,
    ceiling: float = 0.9,
    ignore: int | None = None,
) -> float:
    """A top-probability threshold that keeps ``keep`` of the correct predictions.

    Below it a prediction is reported as unknown. Calibrated on held-out predictions
    (correct ones only), clipped to [``floor``, ``ceiling``]; 0.5 when no prediction is
    correct. ``ignore`` is the class whose answers are rejected anyway (``_none_``):
    its correct answers, with tiny top probabilities of their own, would otherwise fill
    the bottom of the distribution and pull the threshold down (docs/rejection.md:
    0.2746 kept 99%, not 95%, of the correct word answers).
    """
    top = probs.max(axis=-1)
    pred = probs.argmax(axis=-1)
    correct = pred == labels
    if ignore is not None:
        correct &= pred != ignore
    if not correct.any():
        return 0.5
    thr = float(np.quantile(top[correct], 1.0 - keep))
    return round(min(max(thr, floor), ceiling), 4)


def _fmt(value: Any, pct: bool = False) -> str:
    if value is None:
        return "n/a"
    if pct:
        return f"{float(value) * 100:.2f}%"
    return f"{float(value):.3g}"


def parity_markdown(report: dict[str, Any], sizes: dict[str, int] | None = None) -> str:
    """A short markdown rendering of a :func:`parity_report` result."""
    d = report["max_abs_logit_diff"]
    acc = report["accuracy"]
    lines = [
        "# Export parity",
        "",
        f"Validation data: {report.get('data') or 'none'} ({report['n']} sequences)",
        "",
        "| check | value |",
        "| --- | --- |",
        f"| max abs logit diff, torch vs fp32 | {_fmt(d['torch_vs_fp32'])} |",
        f"| max abs logit diff, fp32 vs int8 | {_fmt(d['fp32_vs_int8'])} |",
        f"| top-1 agreement fp32 vs int8 | {_fmt(report['top1_agreement_fp32_int8'], True)} |",
        f"| accuracy fp32 | {_fmt(acc['fp32'], True)} |",
        f"| accuracy int8 | {_fmt(acc['int8'], True)} |",
        f"| delta (points) | {_fmt(report['delta_points'])} |",
    ]
    if "reject_threshold" in report:
        lines.append(f"| calibrated reject threshold | {report['reject_threshold']} |")
    for name, size in (sizes or {}).items():
        lines.append(f"| size {name} | {size / 1024:.1f} KiB |")
    lines += ["", f"Rule: {report['rule']}.", "", f"**Decision: ship {report['decision']}.**", ""]
    return "\n".join(lines)
