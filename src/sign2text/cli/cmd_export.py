"""``sign2text export``: checkpoint -> model.fp32.onnx, model.int8.onnx, parity report."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "export",
        help="export a checkpoint to ONNX (fp32 + int8) with a parity report",
        description=(
            "Writes model.fp32.onnx and model.int8.onnx (each self-describing: labels, "
            "feature settings, model card) and parity.json / parity.md comparing torch, "
            "fp32 and int8 on validation data. Rule: ship int8 only if its accuracy is "
            "within 0.5 point of fp32, else fp32. With validation data, the reject "
            "threshold for unknown signs is calibrated and stored in both files."
        ),
    )
    p.add_argument("checkpoint", type=Path, help="a training checkpoint (.pt)")
    p.add_argument("--out", type=Path, help="output folder (default: the checkpoint's folder)")
    p.add_argument("--data", type=Path, help="landmark dataset for the parity report")
    p.add_argument("--split-file", type=Path, help="split JSON (sign2text split) for --data")
    p.add_argument("--split", help="part of the split to use (default val; needs --split-file)")
    p.add_argument("--opset", type=int, default=18, help="ONNX opset, 18 or newer (default 18)")
    p.set_defaults(func=run)


def _validation(
    args: argparse.Namespace, ckpt: dict[str, Any]
) -> tuple[list[Any], list[Any], list[int], str]:
    """Features, masks and label indices of the validation samples in the vocabulary."""
    import numpy as np

    from sign2text.data.importers import load_landmarks
    from sign2text.features import FeatureConfig, compute_features

    samples = load_landmarks(args.data)
    desc = str(args.data)
    if args.split_file is not None:
        from sign2text.data.splits import load_split

        samples = load_split(args.split_file, samples).take(samples, args.split)
        desc += f", {args.split_file} part {args.split!r}"
    index = {label: i for i, label in enumerate(ckpt["labels"])}
    cfg = FeatureConfig.from_dict(dict(ckpt["features"]))
    feats, masks, labels = [], [], []
    for s in samples:
        if s.label not in index:
            continue
        f, m = compute_features(np.asarray(s.landmarks, dtype=np.float32), cfg)
        feats.append(f)
        masks.append(m)
        labels.append(index[s.label])
    skipped = len(samples) - len(labels)
    if skipped:
        desc += f" ({skipped} sequences outside the vocabulary skipped)"
    return feats, masks, labels, desc


def _export(
    args: argparse.Namespace,
    model: Any,
    ckpt: dict[str, Any],
    scratch: Path,
    step: Callable[[], object],
) -> dict[str, Any]:
    """Write both ONNX files into ``scratch``; return the parity report. ``step`` is
    called after each of the three stages (fp32 graph, int8 graph, parity)."""
    import dataclasses

    import numpy as np

    from sign2text.errors import DatasetError
    from sign2text.export import (
        export_onnx,
        parity_report,
        quantize_int8,
        read_metadata,
        write_metadata,
    )
    from sign2text.features import feature_dim

    fp32 = export_onnx(model, ckpt, scratch / "model.fp32.onnx", opset=args.opset)
    step()
    int8 = quantize_int8(fp32, scratch / "model.int8.onnx")
    step()
    meta = read_metadata(fp32)
    labels: list[int] | None
    if meta.input == "rgb":  # RGB models: clips from a video dataset (docs/rgb_models.md)
        from sign2text.data.clips import ClipConfig
        from sign2text.train.video_eval import rgb_parity_inputs

        clip_cfg = ClipConfig.from_dict(meta.input_config)
        feats, masks, labels, desc = rgb_parity_inputs(
            args.data, args.split_file, args.split, list(ckpt["labels"]), clip_cfg
        )
    elif args.data is not None:
        feats, masks, labels, desc = _validation(args, ckpt)
        if not feats:
            raise DatasetError(f"{args.data}: no validation sequence has a label of the model")
    else:
        # No labelled data: logit parity on random features only; accuracy unmeasured.
        rng = np.random.default_rng(0)
        frames = meta.features.frames or 32
        dim = feature_dim(meta.features)
        feats = [rng.standard_normal((frames, dim)).astype(np.float32) for _ in range(64)]
        masks = [np.ones(frames, dtype=bool) for _ in feats]
        labels, desc = None, "none (64 random feature sequences: logit parity only)"
    report = parity_report(fp32, int8, feats, masks, labels, torch_model=model, data=desc)
    step()
    if "reject_threshold" in report:
        card = {**meta.card, "reject_threshold": report["reject_threshold"]}
        card["parity"] = {k: report[k] for k in ("accuracy", "delta_points", "decision")}
        new = dataclasses.replace(meta, card=card)
        write_metadata(fp32, new)
        write_metadata(int8, new)
    return report


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sign2text.errors import ConfigError
    from sign2text.export import parity_markdown
    from sign2text.io.atomic import atomic_write_text, replace_all, staging_dir
    from sign2text.models import load_checkpoint

    if args.split_file is not None and args.data is None:
        raise ConfigError("--split-file splits the --data dataset: give --data too")
    if args.split is not None and args.split_file is None:
        raise ConfigError("--split picks a part of a split file: give --split-file too")
    args.split = args.split or "val"
    model, ckpt = load_checkpoint(args.checkpoint)
    model.eval()
    out = args.out or args.checkpoint.parent
    fp32, int8 = out / "model.fp32.onnx", out / "model.int8.onnx"
    names = ("model.fp32.onnx", "model.int8.onnx", "parity.json", "parity.md")
    # Everything is built in a scratch folder inside ``out`` and renamed into place at
    # the end, the four files together: a failure (bad --data, a split file that does
    # not fit) or a Ctrl-C leaves an earlier export as it was.
    with (
        staging_dir(out, "export") as scratch,
        tqdm(total=3, desc="export", unit="step", disable=args.quiet, delay=0.5) as bar,
    ):
        report = _export(args, model, ckpt, scratch, bar.update)
        sizes = {k: (scratch / f"model.{k}.onnx").stat().st_size for k in ("fp32", "int8")}
        report["files"] = {"fp32": str(fp32), "int8": str(int8)}
        report["sizes_bytes"] = sizes
        atomic_write_text(scratch / "parity.json", json.dumps(report, indent=1) + "\n")
        atomic_write_text(scratch / "parity.md", parity_markdown(report, sizes))
        replace_all([(scratch / name, out / name) for name in names])
    acc = report["accuracy"]
    print(f"wrote {fp32} ({sizes['fp32'] / 1024:.0f} KiB), {int8} ({sizes['int8'] / 1024:.0f} KiB)")
    print(f"wrote {out / 'parity.json'}, {out / 'parity.md'}")
    if acc["fp32"] is not None:
        print(
            f"accuracy fp32 {acc['fp32']:.2%}, int8 {acc['int8']:.2%} "
            f"(delta {report['delta_points']:+.2f} points) on {report['n']} sequences"
        )
    chosen = fp32 if report["decision"] == "fp32" else int8
    print(f"decision: ship {report['decision']} ({chosen})")
    return 0
