"""Runtime benchmark: Holistic speed, classifier latency, end-to-end recognize, live replay.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_runtime.py [--model M] [--fp32 F] [--clip C] \\
        [--accuracy] [--append docs/benchmarks.md]

Measures, on this machine:

* MediaPipe Holistic frames/s on a real clip with 1 and 2 CPU cores (a child process
  pinned with ``sched_setaffinity``; MediaPipe's legacy API has no thread setting), for
  the full graph and for the graph without its face mesh that the recognizer runs for a
  model reading no face point (``HolisticConfig(face=False)``);
* classifier latency p50/p95 at batch 1, one ONNX Runtime thread, fp32 and int8: the
  model's precision is read from its graph; the other precision is ``--fp32 FILE`` or
  the export's sibling (``model.fp32.onnx`` / ``model.int8.onnx``), and an fp32 model
  without an int8 sibling is quantized with the project's ``quantize_int8`` (the bundled
  int8 model has no fp32 file: pass the ``model.fp32.onnx`` of
  ``scripts/train_default.sh``'s ``runs/default/cv`` folder);
* end-to-end ``sign2text recognize`` on the clip in a fresh process (model load
  included) for several Holistic frame rates, with the child's peak RSS;
* model file sizes;
* live-mode throughput: ``sign2text live --video`` style replay at the clip's own fps;
* with ``--accuracy``: top-1 on the clips of the videos folder whose word is in the
  model's vocabulary, per Holistic frame rate (the measurement behind ``extract_fps``).

Prints a markdown report; ``--append FILE`` also appends it with machine, command, date.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from benchlib import machine

DEFAULT_CLIP = "full__Osushi2022__23771.mp4"  # 3.07 s, 30 fps, 640x480

_HOLISTIC_CHILD = """
import os, sys, time, json
os.sched_setaffinity(0, set(range(int(sys.argv[2]))))
from sign2text.io.video import iter_frames
from sign2text.landmarks.holistic import HolisticConfig, HolisticExtractor
frames = [f.image for f in iter_frames(sys.argv[1])]
with HolisticExtractor(HolisticConfig(face=sys.argv[3] == "face")) as ex:
    ex.process(frames[0])  # graph start-up is not per-frame cost
    t = time.perf_counter()
    for img in frames:
        ex.process(img)
    dt = time.perf_counter() - t
print(json.dumps({"frames": len(frames), "seconds": dt}))
"""


# `--fps 0` here: a Holistic rate above any clip's, so every frame is kept (the
# recognizer's own default, when no rate is given, is 15 fps).
ALL_FRAMES = 1000.0


def holistic_fps(clip: Path, cores: int, *, face: bool = True) -> float:
    """Holistic frames/s on ``clip`` in a child process pinned to ``cores`` CPUs
    (``face=False``: the graph without its face mesh)."""
    graph = "face" if face else "body"
    out = subprocess.run(
        [sys.executable, "-c", _HOLISTIC_CHILD, str(clip), str(cores), graph],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return float(data["frames"]) / float(data["seconds"])


_INT8_OPS = {"MatMulInteger", "ConvInteger", "DynamicQuantizeMatMul", "DynamicQuantizeLinear"}


def precision(model: Path) -> str:
    """ "int8" when the graph has quantized operators, else "fp32"."""
    import onnx

    ops = {n.op_type for n in onnx.load(str(model), load_external_data=False).graph.node}
    return "int8" if ops & _INT8_OPS else "fp32"


def fp32_problem(fp32: Path | None, model: Path) -> str | None:
    """Why ``--fp32`` cannot be used with ``model`` (None: it can, or it was not given)."""
    if fp32 is None:
        return None
    if not fp32.is_file():
        return "no such file"
    if precision(fp32) != "fp32":
        return "not an fp32 export (it has int8 operators)"
    if precision(model) != "int8":
        return "only for an int8 --model (this one is fp32 already)"
    return None


def precision_pair(model: Path, fp32: Path | None, workdir: Path) -> dict[str, Path | None]:
    """The fp32 and int8 files to time for ``model`` (None: no file of that precision)."""
    if precision(model) == "int8":
        sibling = model.with_name("model.fp32.onnx")
        found = sibling if sibling.is_file() and sibling != model else None
        return {"fp32": fp32 or found, "int8": model}
    sibling = model.with_name("model.int8.onnx")
    if sibling.is_file() and sibling != model:
        return {"fp32": model, "int8": sibling}
    from sign2text.export import quantize_int8

    return {"fp32": model, "int8": quantize_int8(model, workdir / "bench.int8.onnx")}


def classifier_latency(path: Path, runs: int = 300) -> tuple[float, float]:
    """(p50, p95) ms of one batch-1 forward pass with one ORT thread."""
    import onnxruntime as ort

    from sign2text.features import feature_dim
    from sign2text.runtime import OnnxClassifier

    meta = OnnxClassifier(path).metadata
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    frames = meta.features.frames or 32
    rng = np.random.default_rng(0)
    feed = {
        "features": rng.standard_normal((1, frames, feature_dim(meta.features))).astype(np.float32),
        "mask": np.ones((1, frames), dtype=bool),
    }
    for _ in range(20):
        sess.run(["logits"], feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(["logits"], feed)
        times.append((time.perf_counter() - t) * 1000)
    q = np.percentile(times, [50, 95])
    return float(q[0]), float(q[1])


def recognize_e2e(clip: Path, model: Path, fps: float, repeats: int) -> tuple[float, int]:
    """(median wall seconds, peak child RSS KiB) of ``sign2text recognize`` in new processes."""
    cmd = [sys.executable, "-m", "sign2text.cli.main", "-q", "recognize", str(clip)]
    cmd += ["--model", str(model), "--json", "--fps", str(fps)]
    walls = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return statistics.median(walls), int(peak)


def live_replay(clip: Path, model: Path) -> dict[str, float]:
    """Processed fps and dropped frames of a real-time replay of ``clip``."""
    from sign2text.io.camera import VideoFileSource
    from sign2text.runtime import Recognizer
    from sign2text.runtime.live import run_live

    with Recognizer(model) as rec:
        stats = run_live(VideoFileSource(clip, realtime=True), rec, show=False)
    return {
        "source_fps": VideoFileSource(clip).fps,
        "processed": stats.processed,
        "captured": stats.captured,
        "dropped": stats.dropped,
        "processed_fps": stats.processed_fps,
    }


def clip_accuracy(model: Path, videos: Path, rates: list[float]) -> list[tuple[str, str]]:
    """Top-1 on in-vocabulary clips per Holistic frame rate (rows for the table)."""
    from sign2text.errors import NoSigningError
    from sign2text.runtime import Recognizer

    rows = []
    with Recognizer(model, reject_threshold=0.0) as rec:
        clips = [c for c in sorted(videos.glob("*.mp4")) if c.name.split("__")[0] in rec.labels]
        for fps in rates:
            hits, t0 = 0, time.perf_counter()
            for clip in clips:
                with contextlib.suppress(NoSigningError):
                    best = rec.recognize_video(clip, fps=fps).top_k[0][0]
                    hits += best == clip.name.split("__")[0]
            secs = (time.perf_counter() - t0) / max(len(clips), 1)
            name = "all frames" if fps == ALL_FRAMES else f"{fps:g} fps"
            rows.append(
                (f"clip top-1, Holistic at {name}", f"{hits}/{len(clips)} ({secs:.2f} s/clip)")
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    from sign2text.runtime import bundled_model_path
    from sign2text.settings import get_settings

    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--model", type=Path, default=None, help="exported .onnx (default: bundled)")
    p.add_argument(
        "--fp32", type=Path, default=None, help="the fp32 export of an int8 --model (for latency)"
    )
    p.add_argument("--clip", type=Path, default=None, help=f"clip (default {DEFAULT_CLIP})")
    p.add_argument("--repeats", type=int, default=3, help="end-to-end runs per setting")
    p.add_argument("--fps", type=float, nargs="*", default=[0, 15, 10], help="0 = all frames")
    p.add_argument("--accuracy", action="store_true", help="top-1 on in-vocabulary clips")
    p.add_argument("--skip-live", action="store_true")
    p.add_argument("--append", type=Path, help="append the report to this markdown file")
    args = p.parse_args(argv)

    model = (args.model or bundled_model_path()).resolve()
    if not model.is_file():
        print(f"bench_runtime: no model at {model} (pass --model)", file=sys.stderr)
        return 2
    problem = fp32_problem(args.fp32, model)
    if problem:
        print(f"bench_runtime: --fp32 {args.fp32}: {problem}", file=sys.stderr)
        return 2
    videos = get_settings().videos_dir
    clip = (args.clip or videos / DEFAULT_CLIP).resolve()
    rates = [ALL_FRAMES if f == 0 else f for f in args.fps]
    rows: list[tuple[str, str]] = []
    for face, graph in ((True, "full graph"), (False, "without face mesh (recognizer)")):
        for cores in (1, 2):
            if cores <= (os.cpu_count() or 1):
                fps = holistic_fps(clip, cores, face=face)
                rows.append((f"Holistic {graph}, {cores} core(s)", f"{fps:.1f} frames/s"))
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in precision_pair(model, args.fp32, Path(tmp)).items():
            if path is None:
                rows.append((f"classifier {name}", "no file given (--fp32)"))
                continue
            p50, p95 = classifier_latency(path)
            rows.append(
                (f"classifier {name}, batch 1, 1 thread", f"p50 {p50:.3f} ms, p95 {p95:.3f} ms")
            )
            rows.append((f"model size {name}", f"{path.stat().st_size / 1024:.0f} KiB"))
    for fps in rates:
        wall, rss = recognize_e2e(clip, model, fps, args.repeats)
        name = "all frames" if fps == ALL_FRAMES else f"--fps {fps:g}"
        rows.append(
            (
                f"`recognize` end to end ({name}), load incl.",
                f"{wall:.2f} s, peak RSS {rss / 1024:.0f} MiB",
            )
        )
    if not args.skip_live:
        live = live_replay(clip, model)
        rows.append(
            (
                "live replay (`--video`, real time)",
                f"{live['processed_fps']:.1f} fps processed of {live['source_fps']:.0f}; "
                f"dropped {live['dropped']:.0f}/{live['captured']:.0f}",
            )
        )
    if args.accuracy:
        rows += clip_accuracy(model, videos, rates)

    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join(["python", "benchmarks/bench_runtime.py", *(argv or sys.argv[1:])])
    lines = [
        f"## Runtime benchmark, {date}",
        "",
        f"- machine: {machine()}",
        f"- command: `{command}`",
        f"- model: `{model.name}` ({model.stat().st_size / 1024:.0f} KiB); clip: `{clip.name}`",
        "",
        "| measure | value |",
        "| --- | --- |",
        *[f"| {a} | {b} |" for a, b in rows],
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.append:
        from sign2text.io.atomic import atomic_write_text

        before = args.append.read_text(encoding="utf-8") if args.append.is_file() else ""
        atomic_write_text(args.append, before + ("\n" if before else "") + report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
