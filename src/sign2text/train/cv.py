"""Cross-validation report over signer folds, and the final export that ships.

Each fold run (``sign2text train ... --set data.split=folds --set data.fold=K``) tests a
model on signers it never saw. This module pools the folds into one report — mean and
worst fold, per signer, per class — and measures int8 against fp32 on the same held-out
signers. The reject threshold for unknown signs is calibrated on those held-out
predictions, not on training data. :func:`export_final` then exports the final model
(trained on every signer) with that threshold, the int8 decision and the figures in its
model card.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.data.sample import Sample
from sign2text.errors import ConfigError
from sign2text.features.core import FeatureConfig, compute_features
from sign2text.io.atomic import atomic_write_text, replace_all, staging_dir
from sign2text.runtime.metadata import NONE_LABEL
from sign2text.train import data as tdata
from sign2text.train.config import load_config

log = logging.getLogger(__name__)

Progress = Callable[[Iterable[Any]], Iterable[Any]]


def _fold_test_samples(run: Path, cache: dict[str, list[Sample]]) -> list[Sample]:
    """Rebuild a fold's test part from its saved config (deterministic)."""
    cfg = load_config(run / "config.json")
    key = json.dumps(cfg.to_dict()["data"], sort_keys=True)
    if key not in cache:
        cache[key] = tdata.load_data(cfg.data)
    samples, _ = tdata.select_samples(cache[key], cfg.data)
    parts, _ = tdata.make_split(samples, cfg.data)
    saved = _read_json(run / "split.json")["parts"]["test"]
    test = [samples[i] for i in parts["test"]]
    if sorted(s.source_id for s in test) != sorted(saved):
        raise ConfigError(f"{run}: rebuilt test part differs from split.json")
    return test


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            f"{path.parent}: not a finished training run ({path.name} missing)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable ({exc})") from None


def _run_reports(runs: Sequence[str | Path]) -> list[dict[str, Any]]:
    """The test reports of ``runs``, after checking each is a finished fold run (before
    anything is written)."""
    reports = []
    seen: set[Path] = set()
    for run_path in runs:
        run = Path(run_path)
        if not run.is_dir():
            raise ConfigError(f"{run}: no such training run folder")
        if run.resolve() in seen:
            raise ConfigError(f"{run}: given twice (each fold counts once)")
        seen.add(run.resolve())
        for name in ("config.json", "split.json", "best.pt"):
            if not (run / name).is_file():
                raise ConfigError(f"{run}: not a finished training run ({name} missing)")
        split = _read_json(run / "split.json")
        protocol = split.get("protocol") if isinstance(split, dict) else None
        if not isinstance(protocol, str) or not protocol.startswith("signer-folds-"):
            raise ConfigError(
                f"{run}: not a signer-fold run (split protocol {protocol!r}; train with "
                "--set data.split=folds --set data.fold=K)"
            )
        report = _read_json(run / "test" / "report.json")
        if not isinstance(report, dict) or "n_evaluated" not in report:
            raise ConfigError(f"{run / 'test' / 'report.json'}: not an evaluation report")
        reports.append(report)
    return reports


def cv_report(
    runs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Pool fold runs into ``cv.json`` / ``cv.md`` (with int8 parity on the held-out folds)."""
    from sign2text.export import export_onnx, quantize_int8
    from sign2text.export.parity import calibrate_reject_threshold, choose_model
    from sign2text.models import load_checkpoint
    from sign2text.runtime.onnx_model import OnnxClassifier, softmax

    reports = _run_reports(runs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache: dict[str, list[Sample]] = {}
    folds: list[dict[str, Any]] = []
    per_signer: dict[str, dict[str, Any]] = {}
    per_class: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    probs_all: list[NDArray[Any]] = []
    y_all: list[NDArray[Any]] = []
    n32 = n8 = n_total = 0
    max_diff = 0.0
    agree = 0
    labels: list[str] = []
    pairs = list(zip(runs, reports, strict=True))
    it: Iterable[tuple[str | Path, dict[str, Any]]] = progress(pairs) if progress else pairs
    # The fold exports are scratch files: built in a hidden folder that is removed even
    # when the report is interrupted (or, after a kill, by the next run).
    with staging_dir(out, "cv") as scratch:
        for run_path, report in it:
            run = Path(run_path)
            model, ckpt = load_checkpoint(run / "best.pt")
            labels = list(ckpt["labels"])
            index = {lab: i for i, lab in enumerate(labels)}
            fp32 = export_onnx(model, ckpt, scratch / f"{run.name}.fp32.onnx")
            int8 = quantize_int8(fp32, scratch / f"{run.name}.int8.onnx")
            cfg = FeatureConfig.from_dict(dict(ckpt["features"]))
            test = [s for s in _fold_test_samples(run, cache) if s.label in index]
            feats = [compute_features(s.landmarks, cfg) for s in test]
            y = np.array([index[s.label] for s in test])
            x = np.stack([f for f, _ in feats])
            m = np.stack([k for _, k in feats])
            l32 = OnnxClassifier(fp32).logits(x, m)
            l8 = OnnxClassifier(int8).logits(x, m)
            n32 += int((l32.argmax(-1) == y).sum())
            n8 += int((l8.argmax(-1) == y).sum())
            agree += int((l32.argmax(-1) == l8.argmax(-1)).sum())
            n_total += len(y)
            max_diff = max(max_diff, float(np.abs(l32 - l8).max()))
            probs_all.append(softmax(l32))
            y_all.append(y)
            folds.append(
                {
                    "run": run.name,
                    "n": report["n_evaluated"],
                    "signers": len(report["per_signer"]),
                    "top1": report["top1"],
                    "top5": report["top5"],
                    "macro_f1": report["macro_f1"],
                    "mcc": report["mcc"],
                    "int8_top1": float((l8.argmax(-1) == y).mean()),
                }
            )
            for signer, row in report["per_signer"].items():
                per_signer[signer] = {**row, "fold": run.name}
            for label, row in report["per_class"].items():
                per_class[label][0] += int(row["correct"])
                per_class[label][1] += int(row["n"])
            fp32.unlink()
            int8.unlink()
    if not folds:
        raise ConfigError("no fold runs given")
    top1 = [f["top1"] for f in folds]
    parity = {
        "n": n_total,
        "accuracy": {"fp32": n32 / n_total, "int8": n8 / n_total},
        "delta_points": round(100 * (n8 - n32) / n_total, 3),
        "top1_agreement_fp32_int8": agree / n_total,
        "max_abs_logit_diff_fp32_int8": max_diff,
    }
    parity["decision"] = choose_model(parity)
    # `_none_` answers are rejected whatever the threshold: calibrate on word answers.
    none = labels.index(NONE_LABEL) if NONE_LABEL in labels else None
    threshold = calibrate_reject_threshold(
        np.concatenate(probs_all), np.concatenate(y_all), ignore=none
    )
    signer_acc = [r["accuracy"] for r in per_signer.values()]
    result: dict[str, Any] = {
        "protocol": f"{len(folds)} signer folds (each signer tested once, never trained on)",
        "labels": labels,
        "folds": folds,
        "mean_top1": float(np.mean(top1)),
        "worst_fold_top1": float(np.min(top1)),
        "pooled_top1": n32 / n_total,
        "signers": len(per_signer),
        "mean_signer_top1": float(np.mean(signer_acc)),
        "per_signer": dict(sorted(per_signer.items())),
        "per_class": {
            k: {"correct": c, "n": n, "accuracy": c / n if n else 0.0}
            for k, (c, n) in sorted(per_class.items())
        },
        "int8_parity": parity,
        "reject_threshold": threshold,
    }
    atomic_write_text(out / "cv.json", json.dumps(result, indent=1) + "\n")
    atomic_write_text(out / "cv.md", cv_markdown(result))
    return result


def cv_markdown(r: dict[str, Any]) -> str:
    """The report as Markdown tables."""

    def pct(v: float) -> str:
        return f"{100 * v:.1f}%"

    lines = [
        f"# Cross-validation: {r['protocol']}",
        "",
        f"- mean fold top-1 **{pct(r['mean_top1'])}**, worst fold **{pct(r['worst_fold_top1'])}**,"
        f" pooled {pct(r['pooled_top1'])}; mean over {r['signers']} signers"
        f" {pct(r['mean_signer_top1'])}",
        f"- int8 vs fp32 on the held-out folds: {pct(r['int8_parity']['accuracy']['int8'])} vs"
        f" {pct(r['int8_parity']['accuracy']['fp32'])}"
        f" ({r['int8_parity']['delta_points']:+.2f} points) -> ship"
        f" {r['int8_parity']['decision']}",
        "- reject threshold (keeps 95% of the correct held-out word answers; `_none_`"
        f" answers are rejected anyway): {r['reject_threshold']}",
        "",
        "| fold | test sequences | signers | top-1 | top-5 | macro-F1 | MCC | int8 top-1 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in r["folds"]:
        lines.append(
            f"| {f['run']} | {f['n']} | {f['signers']} | {pct(f['top1'])} | {pct(f['top5'])}"
            f" | {f['macro_f1']:.3f} | {f['mcc']:.3f} | {pct(f['int8_top1'])} |"
        )
    lines += [
        "",
        "## Per class (pooled over folds)",
        "",
        "| label | n | top-1 |",
        "| --- | --- | --- |",
    ]
    for k, v in r["per_class"].items():
        lines.append(f"| {k} | {v['n']} | {pct(v['accuracy'])} |")
    lines += ["", "## Per signer", "", "| signer | fold | n | top-1 |", "| --- | --- | --- | --- |"]
    for k, v in sorted(r["per_signer"].items(), key=lambda kv: kv[1]["accuracy"]):
        lines.append(f"| {k} | {v['fold']} | {v['n']} | {pct(v['accuracy'])} |")
    return "\n".join(lines) + "\n"


def export_final(
    checkpoint: str | Path, cv: dict[str, Any], out_dir: str | Path
) -> tuple[Path, dict[str, Any]]:
    """Export the final model with the CV figures, threshold and int8 decision in its card,
    and the built-in prototypes of its training data (``sign2text prototypes``).

    Returns the path of the file to ship (int8 when CV parity allows, else fp32).
    """
    from sign2text.export import export_onnx, quantize_int8, store_prototypes
    from sign2text.models import load_checkpoint

    out = Path(out_dir)
    model, ckpt = load_checkpoint(checkpoint)
    card = {
        "reject_threshold": cv["reject_threshold"],
        "evaluation": {
            "protocol": cv["protocol"],
            "mean_fold_top1": cv["mean_top1"],
            "worst_fold_top1": cv["worst_fold_top1"],
            "pooled_top1": cv["pooled_top1"],
            "signers": cv["signers"],
            "folds": [
                {k: f[k] for k in ("run", "n", "top1", "top5", "macro_f1")} for f in cv["folds"]
            ],
        },
        "int8_parity": cv["int8_parity"],
    }
    train = tdata.training_samples(load_config(Path(checkpoint).parent / "config.json").data)
    names = ("model.fp32.onnx", "model.int8.onnx")
    # Built aside and renamed into place together, prototypes included: an interrupt
    # never leaves a new graph without its prototypes next to an old one.
    with staging_dir(out, "final") as scratch:
        fp32 = export_onnx(model, ckpt, scratch / names[0], card=card)
        int8 = quantize_int8(fp32, scratch / names[1])
        for path in (fp32, int8):
            store_prototypes(path, train)
        replace_all([(scratch / name, out / name) for name in names])
    chosen = out / names[1] if cv["int8_parity"]["decision"] == "int8" else out / names[0]
    return chosen, card
