"""Bounded load on a running ``sign2text serve``: concurrent clients from this process.

``--clients`` tasks share ``--requests`` requests: every ``--upload-every``-th one is a
clip upload (``POST /v1/recognize``, seconds of MediaPipe), the others are landmark
requests (``POST /v1/recognize/landmarks``, milliseconds). A healthy server answers
each with 200 or a clean 503 ``busy`` (with ``Retry-After``); anything else, or a
transport error, is counted as a failure. Prints a JSON summary (``--out`` writes it).

Usage::

    .venv-dev/bin/sign2text serve --port 8000 &
    .venv-dev/bin/python benchmarks/bench_load.py --url http://127.0.0.1:8000 \\
        --clients 32 --requests 320 --upload-every 80
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np


def landmark_body(data_dir: Path, frames: int) -> bytes:
    """A real recording (first 'hello' of the traduttore pack) as the API's JSON."""
    from sign2text.data.pack import read_pack

    for s in read_pack(data_dir / "landmarks" / "traduttore.npz"):
        if s.label == "hello":
            lm = np.asarray(s.landmarks, dtype=np.float64)[:frames]
            break
    else:  # pragma: no cover - the pack always has it
        raise SystemExit("no 'hello' in the traduttore pack")
    rows: list[list[list[float] | None]] = []
    for frame in lm:
        missing = np.isnan(frame).any(axis=1)
        values = np.round(frame, 5).tolist()
        rows.append([None if missing[i] else values[i] for i in range(len(values))])
    return json.dumps({"landmarks": rows, "top_k": 3}).encode()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    lm_body = landmark_body(args.data_dir, args.frames)
    clip = args.clip.read_bytes()
    jobs: asyncio.Queue[int] = asyncio.Queue()
    for i in range(args.requests):
        jobs.put_nowait(i)
    statuses: Counter[str] = Counter()
    latency: dict[str, list[float]] = {"landmarks": [], "upload": []}
    failures: list[str] = []
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(base_url=args.url, timeout=args.timeout, limits=limits) as client:

        async def worker() -> None:
            while True:
                try:
                    i = jobs.get_nowait()
                except asyncio.QueueEmpty:
                    return
                upload = args.upload_every > 0 and i % args.upload_every == 0
                kind = "upload" if upload else "landmarks"
                started = time.perf_counter()
                try:
                    if upload:
                        r = await client.post(
                            "/v1/recognize", files={"file": ("clip.mp4", clip, "video/mp4")}
                        )
                    else:
                        r = await client.post(
                            "/v1/recognize/landmarks",
                            content=lm_body,
                            headers={"Content-Type": "application/json"},
                        )
                except httpx.HTTPError as exc:
                    failures.append(f"{kind}: {type(exc).__name__}: {exc}")
                    statuses[f"{kind} transport_error"] += 1
                    continue
                latency[kind].append((time.perf_counter() - started) * 1000.0)
                statuses[f"{kind} {r.status_code}"] += 1
                if r.status_code == 503 and "retry-after" not in r.headers:
                    failures.append(f"{kind}: 503 without Retry-After")
                elif r.status_code not in (200, 503):
                    failures.append(f"{kind}: {r.status_code} {r.text[:200]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.clients)))
        wall = time.perf_counter() - started

    def summary(values: list[float]) -> dict[str, float]:
        if not values:
            return {}
        ordered = sorted(values)
        return {
            "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
            "max_ms": round(ordered[-1], 1),
        }

    return {
        "url": args.url,
        "clients": args.clients,
        "requests": args.requests,
        "uploads": sum(
            1 for i in range(args.requests) if args.upload_every and i % args.upload_every == 0
        ),
        "wall_s": round(wall, 2),
        "requests_per_s": round(args.requests / wall, 1) if wall > 0 else 0.0,
        "statuses": dict(sorted(statuses.items())),
        "latency": {k: summary(v) for k, v in latency.items()},
        "failures": failures[:20],
        "n_failures": len(failures),
    }


def main(argv: list[str] | None = None) -> int:
    from sign2text.settings import get_settings

    s = get_settings()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--requests", type=int, default=320)
    p.add_argument("--upload-every", type=int, default=80, help="0: no uploads")
    p.add_argument("--frames", type=int, default=30, help="frames per landmark request")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--data-dir", type=Path, default=s.data_dir)
    p.add_argument("--clip", type=Path, default=s.videos_dir / "hello__sdb1228__hello.mp4")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    result = asyncio.run(run(args))
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0 if result["n_failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
