"""``sign2text landmarks``, ``frames`` and ``grid``: look at what is in a clip.

``landmarks`` runs MediaPipe Holistic over one clip and writes the landmarks (a
one-sequence pack), an overlay contact sheet (PNG) and an overlay video (MP4), then
prints how often each body part was found. ``frames`` dumps a clip or a folder-per-label
dataset as image files; ``grid`` tiles a clip's frames into one image.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sign2text.cli.argtypes import positive_float

# Tiles of the overlay contact sheet are scaled down to this longer side.
_SHEET_TILE = 320


def register(sub: Any) -> None:
    """Add the ``landmarks``, ``frames`` and ``grid`` subcommands."""
    p: argparse.ArgumentParser = sub.add_parser(
        "landmarks",
        help="extract MediaPipe landmarks from a clip, with overlay images for checking",
        description=(
            "Run MediaPipe Holistic over a clip. Writes <stem>.landmarks.npz (a pack with "
            "one sequence), <stem>.overlay.png (12 frames with landmarks drawn) and "
            "<stem>.overlay.mp4, and prints the detection rate of hands, pose and face."
        ),
    )
    p.add_argument("clip", type=Path, help="a video file (mp4, mov, webm, mkv, avi)")
    p.add_argument("--out", type=Path, default=Path(), help="output folder (default: .)")
    p.add_argument("--fps", type=positive_float, help="resample to this frame rate first")
    p.add_argument("--label", default="", help="label stored in the pack (default: none)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run_landmarks)

    f: argparse.ArgumentParser = sub.add_parser(
        "frames",
        help="write a clip's (or a dataset's) frames as image files",
        description=(
            "Video to image files at a given frame rate and size. A clip gives "
            "OUT/<i>.jpg; a folder-per-label dataset gives OUT/<label>/<clip>/<i>.jpg."
        ),
    )
    f.add_argument("source", type=Path, help="a video file or a video dataset folder")
    f.add_argument("out", type=Path, help="output folder")
    f.add_argument("--fps", type=positive_float, help="resample to this frame rate")
    f.add_argument("--size", help="resize every frame to WxH, e.g. 224x224")
    f.add_argument("--format", choices=["jpg", "png"], default="jpg", dest="fmt")
    f.add_argument("--layout", help="dataset layout (default: detected)")
    f.set_defaults(func=run_frames)

    g: argparse.ArgumentParser = sub.add_parser(
        "grid",
        help="tile a clip's frames into one image",
        description="Evenly spaced frames of a clip, tiled row by row into one PNG/JPEG.",
    )
    g.add_argument("clip", type=Path, help="a video file")
    g.add_argument("out", type=Path, help="output image (.png or .jpg)")
    g.add_argument("--frames", type=int, default=16, help="number of tiles (default 16)")
    g.add_argument("--cols", type=int, default=4, help="tiles per row (default 4)")
    g.add_argument("--size", type=int, default=160, help="longer side of a tile in px")
    g.set_defaults(func=run_grid)


def run_landmarks(args: argparse.Namespace) -> int:
    """Extract, save and summarise the landmarks of one clip."""
    import numpy as np

    from sign2text.data.pack import write_pack
    from sign2text.data.sample import Sample
    from sign2text.io.video import read_video, resize_max_side, write_video
    from sign2text.landmarks.holistic import HolisticExtractor
    from sign2text.landmarks.overlay import contact_sheet, draw, save_png
    from sign2text.landmarks.skeleton import (
        FACE,
        LEFT_HAND,
        POSE,
        RIGHT_HAND,
        detection_rate,
        hand_rate,
    )

    clip: Path = args.clip
    video = read_video(clip, target_fps=args.fps)  # fails fast, before MediaPipe loads
    with HolisticExtractor() as extractor:
        landmarks = extractor.extract(video.frames)
    out: Path = args.out
    stem = clip.stem or "clip"
    npz = out / f"{stem}.landmarks.npz"
    png = out / f"{stem}.overlay.png"
    mp4 = out / f"{stem}.overlay.mp4"
    write_pack(npz, [Sample(landmarks, args.label, "", clip.name)])
    drawn = [draw(f, lm) for f, lm in zip(video.frames, landmarks, strict=True)]
    write_video(mp4, drawn, video.fps)
    save_png(png, contact_sheet([resize_max_side(d, _SHEET_TILE) for d in drawn], 4, 12))
    rates = {
        "hands": hand_rate(landmarks),
        "left_hand": detection_rate(landmarks, LEFT_HAND),
        "right_hand": detection_rate(landmarks, RIGHT_HAND),
        "pose": detection_rate(landmarks, POSE),
        "face": detection_rate(landmarks, FACE),
    }
    summary = {
        "clip": str(clip),
        "frames": len(landmarks),
        "fps": float(video.fps),
        "size": [int(video.frames.shape[2]), int(video.frames.shape[1])],
        "rates": {k: round(float(v), 4) for k, v in rates.items()},
        "landmarks": str(npz),
        "overlay_png": str(png),
        "overlay_mp4": str(mp4),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    h, w = video.frames.shape[1:3]
    print(f"{clip}: {len(landmarks)} frames at {video.fps:.2f} fps, {w}x{h}")
    for part, rate in rates.items():
        print(f"  {part:<10} {100 * rate:5.1f}% of frames")
    if np.isnan(landmarks).all():
        print("  (no person found in any frame)")
    for key in ("landmarks", "overlay_png", "overlay_mp4"):
        print(f"  {key:<10} {summary[key]}")
    return 0


def run_frames(args: argparse.Namespace) -> int:
    """Dump a clip or a dataset as image files."""
    from tqdm import tqdm

    from sign2text.data.frames import export_dataset_frames, export_frames, parse_size
    from sign2text.errors import ConfigError

    size = parse_size(args.size) if args.size else None
    if not args.source.is_dir():
        if args.layout is not None:
            raise ConfigError(f"{args.source}: --layout applies to a dataset folder, not a clip")
        paths = export_frames(args.source, args.out, fps=args.fps, size=size, fmt=args.fmt)
        print(f"{args.source}: {len(paths)} frames -> {args.out}")
        return 0
    bar = tqdm(unit="clip", desc="frames", disable=args.quiet)

    def on_plan(total: int) -> None:
        bar.total = total
        bar.refresh()

    def on_clip(source_id: str, frames: int) -> None:
        bar.update(1)

    with bar:
        report = export_dataset_frames(
            args.source,
            args.out,
            fps=args.fps,
            size=size,
            fmt=args.fmt,
            layout=args.layout,
            on_plan=on_plan,
            on_clip=on_clip,
        )
    print(f"{len(report.clips)} clips, {report.frames} frames -> {args.out}")
    for source_id, error in sorted(report.failed.items()):
        print(f"  failed: {source_id}: {error}")
    return 0 if report.clips or not report.failed else 2


def run_grid(args: argparse.Namespace) -> int:
    """Tile a clip's frames into one image."""
    from sign2text.data.frames import encode_image, frame_grid
    from sign2text.errors import ConfigError
    from sign2text.io.atomic import atomic_write_bytes

    formats = {".png": "png", ".jpg": "jpg", ".jpeg": "jpg"}
    fmt = formats.get(args.out.suffix.lower())
    if fmt is None:
        raise ConfigError(f"{args.out}: the grid is an image; name it .png, .jpg or .jpeg")
    if args.out.exists() and args.out.resolve() == args.clip.resolve():
        raise ConfigError(f"{args.out}: the output would overwrite the input clip")
    image = frame_grid(args.clip, frames=args.frames, cols=args.cols, tile=args.size)
    atomic_write_bytes(args.out, encode_image(image, fmt))
    print(f"{args.out}: {image.shape[1]}x{image.shape[0]}")
    return 0
