"""Continuous signing: word error rate on streams of held-out signers' recordings.

For every signer fold of a cross-validation run (``scripts/train_default.sh``), streams
are built from the recordings of that fold's *test* signers only (the fold's model never
saw them): one signer per stream, ``--words`` random recordings of in-vocabulary words
(not ``_none_``), separated by rests of random length (hands gone, the body kept still,
``--pause-min``..``--pause-max`` seconds) and framed by a 1 s rest. Each stream goes
frame by frame through the real :class:`~sign2text.runtime.StreamRecognizer` with the
fold's exported model (activity gate, segmentation, ``_none_`` suppression, rejection
threshold), and the emitted words are scored against the reference with WER. The same
recordings classified in isolation give the model's own top-1 on them, so the table
separates segmentation errors from recognition errors.

Usage (after ``scripts/train_default.sh runs/default``)::

    .venv-dev/bin/python benchmarks/bench_continuous.py runs/default --streams 60

Fold models are exported once to ``FOLD/export/model.fp32.onnx`` with
``sign2text export`` (needs the train extra). Results: Markdown on stdout, JSON with
``--out``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import fold_export, machine

from sign2text.data.sample import Sample
from sign2text.errors import NoSigningError
from sign2text.landmarks import skeleton as sk
from sign2text.runtime import Recognizer
from sign2text.runtime.metadata import NONE_LABEL
from sign2text.runtime.stream import recognize_stream
from sign2text.runtime.wer import wer_counts
from sign2text.train.config import load_config
from sign2text.train.data import load_data, select_samples


def _rest(like: np.ndarray, frames: int) -> np.ndarray:
    """``frames`` frames of rest: ``like``'s body held still, no hands."""
    rest = np.repeat(like[-1:], frames, axis=0).copy()
    rest[:, sk.LEFT_HAND.start : sk.LEFT_HAND.stop] = np.nan
    rest[:, sk.RIGHT_HAND.start : sk.RIGHT_HAND.stop] = np.nan
    return rest


def _build_stream(
    recs: list[Sample], rng: np.random.Generator, fps: float, pause: tuple[float, float]
) -> np.ndarray:
    parts: list[np.ndarray] = []
    first = np.asarray(recs[0].landmarks, dtype=np.float32)
    parts.append(_rest(first[:1], int(fps)))
    for i, s in enumerate(recs):
        lm = np.asarray(s.landmarks, dtype=np.float32)
        if i:
            parts.append(_rest(lm[:1], round(rng.uniform(*pause) * fps)))
        parts.append(lm)
    parts.append(_rest(parts[-1], int(fps)))
    return np.concatenate(parts)


def run_fold(
    fold: Path,
    samples: list[Sample],
    args: argparse.Namespace,
) -> dict[str, Any]:
    split = json.loads((fold / "split.json").read_text())
    test_signers = set(split["signers"]["test"])
    model = fold_export(fold)
    # The shipped decision: the threshold cv-report calibrated over all folds (fold
    # exports carry none of their own and would fall back to the default).
    rec = Recognizer(model, extract_fps=None, reject_threshold=args.reject_threshold)
    labels = set(rec.labels)
    by_signer: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        if s.signer in test_signers and s.label != NONE_LABEL and s.label in labels:
            by_signer[s.signer].append(s)
    signers = sorted(sg for sg, recs in by_signer.items() if len(recs) >= args.words)
    rng = np.random.default_rng(args.seed)
    totals = {"ref": 0, "sub": 0, "del": 0, "ins": 0, "iso_right": 0, "iso_n": 0}
    per_stream = []
    t0 = time.perf_counter()
    for k in range(args.streams):
        signer = signers[k % len(signers)]
        pool = by_signer[signer]
        chosen = [pool[int(i)] for i in rng.choice(len(pool), args.words, replace=False)]
        ref = [s.label for s in chosen]
        stream = _build_stream(chosen, rng, args.fps, (args.pause_min, args.pause_max))
        events, segments = recognize_stream(rec, stream, args.fps)
        hyp = [e.label for e in events]
        c = wer_counts(ref, hyp)
        totals["ref"] += len(ref)
        totals["sub"] += c.substitutions
        totals["del"] += c.deletions
        totals["ins"] += c.insertions
        for s in chosen:
            try:
                iso = rec.recognize_landmarks(s.landmarks)
                totals["iso_right"] += int(iso.label == s.label)
            except NoSigningError:
                pass
            totals["iso_n"] += 1
        per_stream.append(
            {"signer": signer, "ref": ref, "hyp": hyp, "segments": len(segments), "wer": c.wer}
        )
    rec.close()
    errors = totals["sub"] + totals["del"] + totals["ins"]
    return {
        "fold": fold.name,
        "test_signers": len(signers),
        "streams": args.streams,
        "words": totals["ref"],
        "wer": errors / max(totals["ref"], 1),
        "substitutions": totals["sub"],
        "deletions": totals["del"],
        "insertions": totals["ins"],
        "isolated_top1": totals["iso_right"] / max(totals["iso_n"], 1),
        "seconds": round(time.perf_counter() - t0, 1),
        "per_stream": per_stream,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_root", type=Path, help="folder with fold-*/ from train_default.sh")
    ap.add_argument("--config", type=Path, default=Path("configs/default.toml"))
    ap.add_argument("--streams", type=int, default=60, help="streams per fold")
    ap.add_argument("--words", type=int, default=4, help="signs per stream")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--pause-min", type=float, default=0.3, help="shortest pause (s)")
    ap.add_argument("--pause-max", type=float, default=1.5, help="longest pause (s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--reject-threshold",
        type=float,
        help="top probability below which an answer is rejected "
        "(default: RUN_ROOT/cv/cv.json's calibrated threshold)",
    )
    ap.add_argument("--out", type=Path, help="write the results as JSON here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.reject_threshold is None:
        cv_json = args.run_root / "cv" / "cv.json"
        if cv_json.is_file():
            args.reject_threshold = float(json.loads(cv_json.read_text())["reject_threshold"])
    cfg = load_config(args.config)
    samples, _ = select_samples(load_data(cfg.data), cfg.data)
    folds = sorted(p for p in args.run_root.glob("fold-*") if (p / "best.pt").is_file())
    if not folds:
        print(f"no fold-*/best.pt under {args.run_root}", file=sys.stderr)
        return 2
    results = [run_fold(f, samples, args) for f in folds]
    words = sum(r["words"] for r in results)
    errors = sum(r["substitutions"] + r["deletions"] + r["insertions"] for r in results)
    summary = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "command": " ".join(sys.argv),
        "settings": {
            k: getattr(args, k)
            for k in ("streams", "words", "fps", "pause_min", "pause_max", "reject_threshold")
        },
        "pooled_wer": errors / max(words, 1),
        "folds": results,
    }
    print("| fold | test signers | streams | words | WER | sub | del | ins | isolated top-1 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['fold']} | {r['test_signers']} | {r['streams']} | {r['words']} | "
            f"{r['wer']:.1%} | {r['substitutions']} | {r['deletions']} | {r['insertions']} | "
            f"{r['isolated_top1']:.1%} |"
        )
    print(f"\npooled WER {summary['pooled_wer']:.1%} over {words} words")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
