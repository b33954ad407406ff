"""``sign2text info`` and ``sign2text convert``: look at and convert datasets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sign2text.cli.argtypes import positive_float, positive_int


def register(sub: Any) -> None:
    """Add the ``info`` and ``convert`` subcommands."""
    info: argparse.ArgumentParser = sub.add_parser(
        "info",
        help="counts per label and signer, frames per sequence, detection rates",
        description=(
            "Summarise a landmark dataset (pack .npz, MP_Data, GISLR train.csv, .pose) or "
            "list the clips of a video dataset (WLASL, <label>/<clip> folders, flat folders). "
            "The format is detected unless --format is given."
        ),
    )
    info.add_argument("path", type=Path, help="dataset file or folder")
    info.add_argument("--format", dest="fmt", help="landmark format or video layout name")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(func=run_info)

    conv: argparse.ArgumentParser = sub.add_parser(
        "convert",
        help="convert a landmark dataset to a pack, MP_Data folders or .pose files",
        description=(
            "Read any landmark dataset and write it as a pack (.npz, float16), tutorial "
            "MP_Data folders or pose-format .pose files. --parts keeps only some parts "
            "(the others become NaN) to make a small pack."
        ),
    )
    conv.add_argument("src", type=Path, help="source dataset")
    conv.add_argument("dst", type=Path, help="destination (.npz file, or a new folder)")
    conv.add_argument("--from", dest="src_format", help="source format (default: detected)")
    conv.add_argument(
        "--to",
        dest="dst_format",
        choices=["pack", "mp_data", "pose"],
        help="output format (default: pack for a .npz destination)",
    )
    conv.add_argument(
        "--parts",
        help="comma-separated parts to keep: face, pose, left_hand, right_hand, hands",
    )
    conv.add_argument(
        "--layout",
        type=int,
        choices=[1662, 258, 170, 126],
        help="MP_Data vector length (default: 1662 if a face is present, else 258)",
    )
    conv.add_argument("--fps", type=positive_float, help=".pose frame rate (default 30)")
    conv.add_argument(
        "--width", type=positive_int, help=".pose image width in pixels (default 1280)"
    )
    conv.add_argument(
        "--height", type=positive_int, help=".pose image height in pixels (default 720)"
    )
    conv.set_defaults(func=run_convert)


def run_info(args: argparse.Namespace) -> int:
    """Print the summary of a landmark dataset, or the clips of a video dataset."""
    from sign2text.data.importers import (
        LANDMARK_IMPORTERS,
        VIDEO_IMPORTERS,
        detect_format,
        detect_video_layout,
        list_videos,
        load_landmarks,
    )
    from sign2text.data.info import dataset_info, video_info
    from sign2text.errors import DatasetError

    path: Path = args.path
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    fmt: str | None = args.fmt
    report: Any
    if fmt is not None and fmt not in LANDMARK_IMPORTERS and fmt not in VIDEO_IMPORTERS:
        known = ", ".join(LANDMARK_IMPORTERS.names() + VIDEO_IMPORTERS.names())
        raise DatasetError(f"unknown format {fmt!r}; known: {known}")
    if fmt is None:
        fmt = detect_format(path) or detect_video_layout(path)
    if fmt is None:
        raise DatasetError(
            f"{path}: unknown dataset layout; landmark formats: "
            f"{', '.join(LANDMARK_IMPORTERS.names())}; video layouts: "
            f"{', '.join(VIDEO_IMPORTERS.names())}"
        )
    if fmt in LANDMARK_IMPORTERS:
        report = dataset_info(load_landmarks(path, fmt))
    else:
        report = video_info(list_videos(path, fmt))
    if args.json:
        print(json.dumps({"format": fmt, **report.to_dict()}, indent=2, ensure_ascii=False))
    else:
        print(f"{path} ({fmt})")
        print(report.to_text(), end="")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    """Convert ``src`` to ``dst``."""
    from tqdm import tqdm

    from sign2text.data.convert import convert

    parts = [p for p in args.parts.split(",") if p.strip()] if args.parts else None
    bar = tqdm(total=2, desc="convert (read, write)", unit="step", disable=args.quiet, delay=0.5)
    with bar:
        result = convert(
            args.src,
            args.dst,
            source_format=args.src_format,
            to=args.dst_format,
            parts=parts,
            layout=args.layout,
            fps=args.fps,
            width=args.width,
            height=args.height,
            step=bar.update,
        )
    print(
        f"{result.output}: {result.sequences} sequences, {result.frames} frames "
        f"({result.source_format} -> {result.target_format})"
    )
    return 0
