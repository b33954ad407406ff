"""``sign2text live``: continuous recognition from a camera or a replayed video."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sign2text.cli.argtypes import positive_float


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "live",
        help="recognize signs continuously from a camera or a video replayed in real time",
        description=(
            "Prints each word as it is recognized. Frames arriving while the recognizer "
            "is busy are dropped (never queued); the counts are reported at the end. A "
            "window with the landmarks is shown only when a display is available."
        ),
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, default=None, help="camera index (default 0)")
    src.add_argument("--video", type=Path, help="replay a video file at its own frame rate")
    p.add_argument("--model", type=Path, help="an exported .onnx model (default: bundled)")
    p.add_argument(
        "--vocab",
        type=Path,
        help="user vocabulary (sign2text vocab; default: the user file when it exists)",
    )
    p.add_argument("--no-window", action="store_true", help="never open a window")
    p.add_argument("--seconds", type=positive_float, help="stop after this many seconds")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sign2text.cli.cmd_vocab import open_vocabulary
    from sign2text.errors import InputError
    from sign2text.io.camera import CameraSource, FrameSource, VideoFileSource
    from sign2text.runtime import Recognizer, WordEvent
    from sign2text.runtime.live import run_live

    recognizer = Recognizer(args.model, vocabulary=open_vocabulary(args.vocab, args.model))
    source: FrameSource
    if args.video is not None:
        source = VideoFileSource(args.video, realtime=True)
    else:
        source = CameraSource(args.camera or 0)

    def on_word(ev: WordEvent) -> None:
        print(f"[{ev.start_s:6.2f}-{ev.end_s:6.2f} s] {ev.label}  {ev.confidence:.2f}", flush=True)

    with recognizer:
        stats = run_live(
            source,
            recognizer,
            on_word=on_word,
            show=False if args.no_window else None,
            max_seconds=args.seconds,
        )
    print(
        f"processed {stats.processed} frames in {stats.seconds:.1f} s "
        f"({stats.processed_fps:.1f} fps); dropped {stats.dropped} of {stats.captured} "
        f"captured frames; {len(stats.words)} words"
    )
    if stats.error:
        raise InputError(f"capture stopped early: {stats.error}")
    return 0
