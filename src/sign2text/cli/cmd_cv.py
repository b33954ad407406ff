"""``sign2text cv-report``: pool signer-fold runs; optionally export and bundle the final model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "cv-report",
        help="pool signer-fold training runs into one cross-validation report",
        description=(
            "Reads fold runs (each trained with data.split=folds), writes cv.json and cv.md "
            "(mean and worst fold, per signer, per class), measures int8 against fp32 on "
            "the held-out signers and calibrates the unknown-sign threshold there. With "
            "--final, exports that checkpoint with these figures in its model card."
        ),
    )
    p.add_argument("runs", nargs="+", type=Path, help="fold run folders")
    p.add_argument("--out", type=Path, required=True, help="report folder")
    p.add_argument("--final", type=Path, help="final checkpoint to export (best.pt)")
    p.add_argument("--bundle", type=Path, help="copy the shipped ONNX file here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sign2text.errors import ConfigError
    from sign2text.io.atomic import atomic_write_bytes
    from sign2text.train.cv import cv_report, export_final

    if args.bundle is not None:
        if args.final is None:
            raise ConfigError("--bundle needs --final (the checkpoint whose export is bundled)")
        if args.bundle.suffix != ".onnx":
            raise ConfigError(f"--bundle {args.bundle}: the bundled model is an .onnx file")
    result = cv_report(
        args.runs, args.out, progress=None if args.quiet else lambda it: tqdm(it, desc="folds")
    )
    print(
        f"mean fold top-1 {100 * result['mean_top1']:.1f}%,"
        f" worst {100 * result['worst_fold_top1']:.1f}%"
        f", int8 delta {result['int8_parity']['delta_points']:+.2f} points"
        f" -> {result['int8_parity']['decision']}; report: {args.out / 'cv.md'}"
    )
    if args.final is not None:
        chosen, _ = export_final(args.final, result, args.out)
        print(f"final model: {chosen}")
        if args.bundle is not None:
            atomic_write_bytes(args.bundle, chosen.read_bytes())
            print(f"bundled: {args.bundle}")
    return 0
