"""``sign2text prototypes``: store the built-in words' prototypes (k-means centres of their
embeddings) in a model file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "prototypes",
        help="store the built-in words' prototypes in a model (for personal vocabularies)",
        description=(
            "Embeds labelled recordings with the model, clusters each built-in word's "
            "embeddings (k-means) and writes the centres into the model's metadata "
            "(atomically). A personal "
            "vocabulary then compares a user word with the nearest built-in word instead "
            "of the classifier's probability (docs/personal_vocabulary.md). Use the data "
            "the model was trained on: --config (the training config, its train part) or "
            "--data (optionally one part of a split file)."
        ),
    )
    p.add_argument("model", type=Path, help="an exported .onnx model (changed in place)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", type=Path, help="training config: the train part of its data")
    src.add_argument("--data", type=Path, help="a landmark dataset (any importer's format)")
    p.add_argument("--split-file", type=Path, help="split JSON (sign2text split) for --data")
    p.add_argument(
        "--split", help="part of the split file to use (default train; needs --split-file)"
    )
    p.add_argument(
        "--per-word",
        type=int,
        default=None,
        help="prototypes per built-in word (k-means clusters; default: the tuned value)",
    )
    p.set_defaults(func=run)


def _samples(args: argparse.Namespace) -> list[Any]:
    from sign2text.errors import ConfigError

    if args.split_file is None and args.split is not None:
        raise ConfigError("--split picks a part of a split file: give --split-file too")
    if args.config is not None and args.split_file is not None:
        raise ConfigError("--split-file is for --data; --config uses its own data and split")
    if args.config is not None:
        from sign2text.train.config import load_config
        from sign2text.train.data import training_samples

        return training_samples(load_config(args.config).data)
    from sign2text.data.importers import load_landmarks

    samples = load_landmarks(args.data)
    if args.split_file is not None:
        from sign2text.data.splits import load_split

        samples = load_split(args.split_file, samples).take(samples, args.split or "train")
    return samples


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sign2text.errors import ConfigError
    from sign2text.export import store_prototypes
    from sign2text.runtime.vocab import PROTOTYPES_PER_WORD

    per_word = PROTOTYPES_PER_WORD if args.per_word is None else args.per_word
    if not 1 <= per_word <= 64:
        raise ConfigError(f"--per-word must be 1-64, got {per_word}")
    samples = _samples(args)
    protos = store_prototypes(
        args.model,
        samples,
        per_word=per_word,
        progress=lambda it: tqdm(it, total=len(samples), desc="embedding", disable=args.quiet),
    )
    print(
        f"{len(protos.labels)} prototypes of {len(set(protos.labels))} built-in words from "
        f"{len(samples)} recordings written to {args.model}"
    )
    return 0
