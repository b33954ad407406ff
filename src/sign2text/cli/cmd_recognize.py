"""``sign2text recognize``: the word signed in one clip."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sign2text.cli.argtypes import int_range, positive_float


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "recognize",
        help="recognize the sign in one video clip",
        description=(
            "Print '<word>  <confidence>' and the top-k candidates for one clip of one "
            "sign. '_none_' means no known sign (top probability under the model's "
            "reject threshold, or the no-sign class)."
        ),
    )
    p.add_argument("clip", type=Path, help="a video file (mp4, mov, webm, mkv, avi)")
    p.add_argument("--model", type=Path, help="an exported .onnx model (default: bundled)")
    p.add_argument("--top-k", type=int, default=5, help="candidates to list (default 5)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--fps",
        type=positive_float,
        help="frames per second given to Holistic (default: recognizer's)",
    )
    p.add_argument(
        "--threads", type=int_range(1, 64), default=1, help="ONNX Runtime threads (default 1)"
    )
    p.add_argument(
        "--vocab",
        type=Path,
        help="user vocabulary (sign2text vocab; default: the user file when it exists)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sign2text.errors import ConfigError
    from sign2text.runtime import Recognizer

    if args.top_k < 1:
        raise ConfigError(f"--top-k must be >= 1, got {args.top_k}")
    from sign2text.cli.cmd_vocab import open_vocabulary

    vocab = open_vocabulary(args.vocab, args.model)
    with Recognizer(args.model, top_k=args.top_k, threads=args.threads, vocabulary=vocab) as rec:
        result = rec.recognize_video(args.clip, fps=args.fps)
    if args.json:
        print(json.dumps({"clip": str(args.clip), **result.to_dict()}, indent=1))
        return 0
    note = f"  (unknown: below {rec.reject_threshold:.2f} or no-sign)" if result.rejected else ""
    print(f"{result.label}  {result.confidence:.3f}{note}")
    for i, (label, prob) in enumerate(result.top_k, 1):
        print(f"  {i}. {label:<20} {prob:.3f}")
    t = result.timings
    hands = "n/a (RGB model)" if rec.metadata.input == "rgb" else f"{result.hands_rate:.0%}"
    print(
        f"  {result.frames} frames, hands in {hands}; "
        f"{t['total_ms']:.0f} ms (decode {t['decode_ms']:.0f}, landmarks {t['landmarks_ms']:.0f}, "
        f"model {t['model_ms']:.1f})"
    )
    return 0
