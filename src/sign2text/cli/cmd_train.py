"""``sign2text train CONFIG.toml [--set k=v ...] [--out RUN_DIR] [--resume]``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "train",
        help="train a classifier from a TOML config",
        description=(
            "Train a model on landmark datasets as a TOML config says (see configs/). "
            "Writes config.json, split.json, best.pt, last.pt, curves.png, TensorBoard logs "
            "and val/test reports into the run dir. Multi-GPU: launch with torchrun."
        ),
    )
    p.add_argument("config", type=Path, help="TOML config (or a run's config.json)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set optim.lr=3e-4 --set model.args.dim=128",
    )
    p.add_argument("--out", type=Path, help="run dir (default: runs/<config name>)")
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR/last.pt")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sign2text.train.config import load_config
    from sign2text.train.trainer import train

    cfg = load_config(args.config, args.overrides)
    out = args.out or Path("runs") / args.config.stem
    result = train(cfg, out, resume=args.resume, progress=None if args.quiet else tqdm)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun only rank 0 reports
    if not result.history:
        print(f"{out}: nothing to do (already trained {result.epochs_run} epochs)")
        return 0
    print(f"run dir: {result.run_dir}")
    print(f"best epoch {result.best_epoch + 1}: {result.monitored} = {result.best_metric:.4f}")
    if result.test_metrics:
        figures = ", ".join(f"{k} {v:.4f}" for k, v in result.test_metrics.items())
        print(f"test ({cfg.data.split} split): {figures}")
    return 0
