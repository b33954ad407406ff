"""Recognize every real clip in a folder (``<word>__<source>__<name>.mp4``) and report.

In-vocabulary clips: is the answer right, with what confidence. Out-of-vocabulary clips:
is the answer rejected (``_none_`` / below the model's calibrated threshold) rather
than a confident wrong word.

    .venv-dev/bin/python benchmarks/eval_clips.py [--videos ../shared/videos] [--model M]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sign2text.errors import Sign2TextError
from sign2text.runtime import Recognizer
from sign2text.settings import get_settings


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=Path, default=get_settings().videos_dir)
    p.add_argument("--model", type=Path, default=None)
    p.add_argument("--fps", type=float, default=15.0)
    args = p.parse_args()
    rec = Recognizer(args.model, extract_fps=args.fps or None)
    vocab = set(rec.labels)
    rows = []
    for clip in sorted(args.videos.glob("*.mp4")):
        word = clip.name.split("__")[0]
        try:
            r = rec.recognize_video(clip)
            got, conf, rejected = r.label, r.confidence, r.rejected
            top = r.top_k[0][0] if r.top_k else ""
        except Sign2TextError as exc:
            got, conf, rejected, top = f"error: {exc.code}", 0.0, True, ""
        rows.append((clip.name, word, word in vocab, got, top, conf, rejected))
    inv = [r for r in rows if r[2]]
    oov = [r for r in rows if not r[2]]
    right = [r for r in inv if r[3] == r[1]]
    right_top = [r for r in inv if r[4] == r[1]]
    rejected_oov = [r for r in oov if r[6]]
    print(f"model: {args.model or 'bundled'}; extraction at {args.fps or 'all'} fps\n")
    print(
        f"- in vocabulary: {len(right)}/{len(inv)} right after rejection, "
        f"{len(right_top)}/{len(inv)} right as top-1 before rejection"
    )
    print(
        f"- out of vocabulary: {len(rejected_oov)}/{len(oov)} rejected "
        f"(answered `_none_`), {len(oov) - len(rejected_oov)} answered with a word\n"
    )
    print("| clip | word | in vocabulary | answer | top-1 | confidence |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, word, iv, got, top, conf, _ in rows:
        print(f"| {name} | {word} | {'yes' if iv else 'no'} | {got} | {top} | {conf:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
