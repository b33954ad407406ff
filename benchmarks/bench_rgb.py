"""RGB models on the CPU: forward latency and peak memory for one clip, training throughput.

Each measurement runs in a fresh child process, so the peak RSS (``ru_maxrss``) belongs to
that model alone; the reported "peak memory" is the child's peak RSS minus its RSS right
before the first forward (torch and the model already loaded).

Usage::

    .venv-dev/bin/python benchmarks/bench_rgb.py --threads 2 [--models simplenet3d twooutnet]

Prints a Markdown table (``--out FILE`` also writes JSON).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
import torch
from sign2text.models import create_model
name, threads, frames, size, batch, steps = sys.argv[1], *map(int, sys.argv[2:7])
torch.set_num_threads(threads)
torch.manual_seed(0)
model = create_model(name, in_dim=3, num_classes=50, size=size, frames=frames).eval()
x = torch.randn(1, frames, 3, size, size)
m = torch.ones(1, frames, dtype=torch.bool)
def rss_mib():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
before = rss_mib()
with torch.no_grad():
    model(x, m)
    times = []
    for _ in range(10):
        t = time.perf_counter(); model(x, m); times.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
times.sort()
model.train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
xb = torch.randn(batch, frames, 3, size, size)
mb = torch.ones(batch, frames, dtype=torch.bool)
yb = torch.randint(0, 50, (batch,))
pose = torch.rand(batch, frames, 75, 2)
def step():
    if name == "twooutnet":
        logits, p = model.forward_both(xb, mb)
        loss = torch.nn.functional.cross_entropy(logits, yb) + model.pose_loss(p, pose, mb)
    else:
        loss = torch.nn.functional.cross_entropy(model(xb, mb), yb)
    opt.zero_grad(); loss.backward(); opt.step()
step()
t = time.perf_counter()
for _ in range(steps):
    step()
train_s = time.perf_counter() - t
params = sum(p.numel() for p in model.parameters())
print(json.dumps({"model": name, "params": params, "forward_ms_median": 1000 * times[5],
  "forward_ms_min": 1000 * times[0], "rss_before_mib": before, "peak_rss_mib": peak,
  "train_clips_per_s": batch * steps / train_s, "train_batch": batch}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["simplenet3d", "twooutnet"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    rows = []
    for name in args.models:
        cmd = [sys.executable, "-c", CHILD, name]
        cmd += [str(v) for v in (args.threads, args.frames, args.size, args.batch, args.steps)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"CPU: {platform.processor() or platform.machine()}, torch threads {args.threads}, ")
    print(f"clip 1 x {args.frames} x 3 x {args.size} x {args.size}\n")
    print(
        "| model | params | forward ms (median / min of 10) | peak RSS (MiB) | "
        "peak - RSS before forward (MiB) | training clips/s (batch) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['model']} | {r['params'] / 1e6:.2f} M | {r['forward_ms_median']:.0f} / "
            f"{r['forward_ms_min']:.0f} | {r['peak_rss_mib']:.0f} | "
            f"{r['peak_rss_mib'] - r['rss_before_mib']:.0f} | "
            f"{r['train_clips_per_s']:.1f} ({r['train_batch']}) |"
        )
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
