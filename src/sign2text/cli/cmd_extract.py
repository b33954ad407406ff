"""``sign2text extract``: a video dataset -> a landmark pack (parallel, resumable)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sign2text.cli.argtypes import int_range, positive_float


def register(sub: Any) -> None:
    """Add the ``extract`` subcommand."""
    p: argparse.ArgumentParser = sub.add_parser(
        "extract",
        help="extract landmarks of every clip of a video dataset into a pack",
        description=(
            "Run MediaPipe Holistic over every clip of a video dataset in worker "
            "processes. Each clip is cached under OUT/cache (checksummed), so an "
            "interrupted run resumes where it stopped; the pack OUT/<name>.npz (or "
            "OUT/shard-i-of-n.npz) is written at the end, byte-identical across runs. "
            "Clips that cannot be decoded are listed in OUT/failures.json."
        ),
    )
    p.add_argument("dataset", type=Path, help="a video dataset folder (e.g. <root>/<label>/*.mp4)")
    p.add_argument("out", type=Path, help="output folder")
    p.add_argument(
        "--workers", type=int_range(0, 64), default=1, help="worker processes (0: in-process)"
    )
    p.add_argument("--shard", default="0/1", help="i/n: do shard i of n (0-based), e.g. 2/4")
    p.add_argument("--fps", type=positive_float, help="resample clips to this frame rate first")
    p.add_argument("--layout", help="dataset layout, e.g. folder or wlasl (default: detected)")
    p.add_argument("--name", help="pack name (default: the dataset folder's name)")
    p.add_argument(
        "--no-face",
        action="store_true",
        help="skip Holistic's face mesh (face points NaN; pose and hands unchanged, faster): "
        "enough for models that read no face point, such as the default recipe",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the extraction with a progress bar and print a summary."""
    from tqdm import tqdm

    from sign2text.data.extract import (
        ClipResult,
        ExtractConfig,
        Shard,
        check_pack_name,
        extract_dataset,
    )
    from sign2text.landmarks.holistic import HolisticConfig

    shard = Shard.parse(args.shard)
    check_pack_name(args.name)  # before the progress bar shows
    bar = tqdm(unit="clip", desc="extract", disable=args.quiet)

    def on_plan(total: int, todo: int) -> None:
        bar.total = todo
        bar.set_postfix_str(f"{total - todo} cached")

    def on_result(result: ClipResult) -> None:
        bar.update(1)
        if result.status == "failed":
            bar.write(f"failed: {result.key}: {result.error}")

    with bar:
        report = extract_dataset(
            args.dataset,
            args.out,
            config=ExtractConfig(
                target_fps=args.fps, holistic=HolisticConfig(face=not args.no_face)
            ),
            workers=args.workers,
            shard=shard,
            layout=args.layout,
            name=args.name,
            on_plan=on_plan,
            on_result=on_result,
        )
    print(
        f"{report.total} clips: {report.done} extracted, {report.cached} already cached, "
        f"{len(report.failed)} failed"
    )
    if report.frames_extracted:
        print(
            f"{report.frames_extracted} frames in {report.extract_seconds:.1f} s "
            f"({report.frames_per_second:.1f} frames/s)"
        )
    for failure in report.failed:
        print(f"  failed: {failure.key}: {failure.error}")
    if report.failed:
        print(f"failures: {report.failures_path}")
    if report.pack is None:
        print("no clip could be extracted; no pack written")
        return 2 if report.total else 0
    print(f"pack: {report.pack}")
    return 0
