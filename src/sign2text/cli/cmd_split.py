"""``sign2text split``: write a signer-independent (or random) split file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sign2text.cli.argtypes import fraction, non_negative_int


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "split",
        help="write a train/val/test split or signer folds to a JSON file",
        description=(
            "Signer-independent train/val/test split (no signer in two parts), signer "
            "folds (each signer tested once), or the seed's random 70/20/10 split for "
            "datasets without signer ids."
        ),
    )
    p.add_argument("dataset", type=Path, help="a landmark dataset (pack .npz, MP_Data, ...)")
    p.add_argument("out", type=Path, help="output JSON (folds: one file per fold, -k suffix)")
    p.add_argument("--protocol", choices=["signer", "folds", "random"], default="signer")
    p.add_argument("--val", type=fraction, help="val fraction (default: signer 0.15, random 0.2)")
    p.add_argument("--test", type=fraction, help="test fraction (default: signer 0.15, random 0.1)")
    p.add_argument("--folds", type=int, default=5, help="number of signer folds")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sign2text.data.importers import load_landmarks
    from sign2text.data.splits import (
        leave_signers_out_folds,
        make_signer_split,
        random_split,
        save_split,
    )

    samples = load_landmarks(args.dataset)
    if args.protocol == "folds":
        folds = leave_signers_out_folds(samples, args.folds, args.seed)
        for k, fold in enumerate(folds):
            path = args.out.with_name(f"{args.out.stem}-{k}{args.out.suffix or '.json'}")
            save_split(path, fold, samples)
            n_signers = len(fold.signers["test"])
            print(
                f"{path}: train {len(fold['train'])}, test {len(fold['test'])}"
                f" ({n_signers} signers)"
            )
        return 0
    if args.protocol == "signer":
        val = 0.15 if args.val is None else args.val
        test = 0.15 if args.test is None else args.test
        split = make_signer_split(samples, val=val, test=test, seed=args.seed)
    else:
        val = 0.2 if args.val is None else args.val
        test = 0.1 if args.test is None else args.test
        split = random_split(samples, train=1 - val - test, val=val, seed=args.seed)
    save_split(args.out, split, samples)
    sizes = ", ".join(f"{k} {len(v)}" for k, v in split.parts.items())
    print(f"{args.out}: {split.protocol} split: {sizes}")
    return 0
