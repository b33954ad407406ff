"""``sign2text evaluate MODEL DATASET [--split NAME --split-file F] [--out DIR]``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sign2text.cli.argtypes import positive_int


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "evaluate",
        help="evaluate a checkpoint (.pt) or an ONNX model on a landmark (or, RGB: video) dataset",
        description=(
            "Top-1/top-5 accuracy, macro F1, MCC, per-class and per-signer accuracy and a "
            "confusion matrix, written as report.json, report.md and confusion.png. "
            "Samples whose label the model does not know are counted, not scored."
        ),
    )
    p.add_argument("model", type=Path, help="a checkpoint (.pt) or an exported model (.onnx)")
    p.add_argument("dataset", type=Path, help="a landmark dataset (pack .npz, MP_Data, ...)")
    p.add_argument("--split-file", type=Path, help="a split JSON (sign2text split)")
    p.add_argument("--split", help="part of the split file (default: test; needs --split-file)")
    p.add_argument("--out", type=Path, help="report dir (default: <model>.eval/)")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument(
        "--label-map",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="rename a dataset label before scoring (repeatable), e.g. the data.label_map "
        "the model was trained with; other labels outside the model are reported apart",
    )
    p.set_defaults(func=run)


def parse_label_map(pairs: list[str]) -> dict[str, str]:
    """``["bye=goodbye", ...]`` -> {"bye": "goodbye"}; a ConfigError when malformed."""
    from sign2text.data.select import check_label_map
    from sign2text.errors import ConfigError

    mapping: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or old.strip() in mapping:
            raise ConfigError(f"--label-map {pair!r}: expected OLD=NEW, each OLD once")
        mapping[old.strip()] = new.strip()
    return check_label_map(mapping, "--label-map")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sign2text.errors import ConfigError
    from sign2text.train.data import load_samples
    from sign2text.train.evaluate import evaluate, load_predictor
    from sign2text.train.video_eval import load_rgb_predictor

    if args.split is not None and args.split_file is None:
        raise ConfigError("--split picks a part of a split file: give --split-file too")
    args.split = args.split or "test"
    rgb = load_rgb_predictor(args.model)  # RGB models evaluate on a video dataset
    if rgb is not None:
        from sign2text.data.clips import clip_samples

        samples = clip_samples(args.dataset)
    else:
        samples = load_samples(args.dataset)
    meta: dict[str, Any] = {"dataset": str(args.dataset)}
    if args.label_map:
        from sign2text.data.select import rename_labels

        samples = rename_labels(samples, parse_label_map(args.label_map))
        meta["label_map"] = ", ".join(args.label_map)
    if args.split_file is not None:
        from sign2text.data.splits import load_split

        split = load_split(args.split_file, samples)
        samples = split.take(samples, args.split)
        meta.update(split=f"{split.protocol} ({args.split_file.name})", part=args.split)
    else:
        meta["split"] = "whole dataset"
    out = args.out or args.model.with_name(args.model.name + ".eval")
    if rgb is not None:
        from sign2text.train.video_eval import evaluate_clips

        report = evaluate_clips(
            rgb[0], samples, rgb[1], out_dir=out, batch_size=min(args.batch_size, 16), meta=meta
        )
    else:
        report = evaluate(
            load_predictor(args.model),
            samples,
            out_dir=out,
            batch_size=args.batch_size,
            meta=meta,
            progress=None if args.quiet else lambda it: tqdm(it, desc="evaluate", unit="batch"),
        )
    print(
        f"{report.n_evaluated}/{report.n_samples} samples scored: top-1 {report.top1:.4f}, "
        f"top-5 {report.top5:.4f}, macro F1 {report.macro_f1:.4f}, MCC {report.mcc:.4f}"
    )
    if report.out_of_vocabulary:
        n = sum(report.out_of_vocabulary.values())
        print(f"{n} samples outside the model's vocabulary: {report.out_of_vocabulary}")
    print(f"report: {out / 'report.md'}")
    return 0
