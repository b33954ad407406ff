"""Service benchmark: memory of ``sign2text serve`` and latency under a burst of uploads.

Usage (from the repository root)::

    .venv-dev/bin/python benchmarks/bench_serve.py [--clip C] [--requests 16] \\
        [--workers 1] [--queue-size 8] [--out result.json]

Starts ``sign2text serve`` in a subprocess on a free loopback port and measures:

* resident memory of the server (its whole process tree) with the model loaded and
  idle, and its peak (``VmHWM``) and current RSS after the burst;
* the first upload (MediaPipe starts in the worker) on its own;
* a burst of ``--requests`` simultaneous uploads of one real clip from an httpx client
  on the same machine: status counts (200 with the expected word, 200 with another
  word, 503 busy, other), latency p50/p95 of the answered and of the refused requests,
  the burst's wall time, and the server's own queue and recognition times.

Prints a Markdown table; ``--out FILE`` also writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from benchlib import machine

DEFAULT_CLIP = "fine__Osushi2022__21869.mp4"  # 3.4 s, 320x240, 25 fps; the model gets it right


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from /proc/<pid>/task/*/children)."""
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            out += _tree(int(kid))
    return out


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_mib(pid: int) -> dict[str, float]:
    """Current (VmRSS) and peak (VmHWM) resident memory of the process tree, MiB."""
    pids = _tree(pid)
    return {
        "rss_mib": sum(_status_kib(p, "VmRSS") for p in pids) / 1024,
        "peak_mib": sum(_status_kib(p, "VmHWM") for p in pids) / 1024,
        "processes": float(len(pids)),
    }


def _server_command() -> list[str]:
    script = Path(sys.executable).with_name("sign2text")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "sign2text.cli.main"]


def start_server(port: int, workers: int, queue_size: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        *_server_command(),
        "-q",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--queue-size",
        str(queue_size),
        "--no-access-log",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server not ready in 120 s")


async def _one(
    client: httpx.AsyncClient, url: str, clip: bytes, name: str, go: asyncio.Event
) -> dict[str, Any]:
    await go.wait()
    t = time.perf_counter()
    r = await client.post(url, files={"file": (name, clip, "video/mp4")})
    ms = (time.perf_counter() - t) * 1000.0
    body = r.json()
    return {"status": r.status_code, "ms": ms, "body": body}


async def burst(base: str, clip: bytes, name: str, n: int) -> tuple[list[dict[str, Any]], float]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:
        go = asyncio.Event()
        tasks = [
            asyncio.create_task(_one(client, f"{base}/v1/recognize", clip, name, go))
            for _ in range(n)
        ]
        await asyncio.sleep(0.1)
        t = time.perf_counter()
        go.set()
        results = await asyncio.gather(*tasks)
        return list(results), time.perf_counter() - t


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def summarize(results: list[dict[str, Any]], expected: str) -> dict[str, Any]:
    ok = [r for r in results if r["status"] == 200]
    busy = [r for r in results if r["status"] == 503]
    correct = [r for r in ok if r["body"]["label"] == expected]
    return {
        "requests": len(results),
        "ok_correct": len(correct),
        "ok_other_word": len(ok) - len(correct),
        "busy_503": len(busy),
        "other": len(results) - len(ok) - len(busy),
        "busy_codes_ok": all(r["body"].get("error", {}).get("code") == "busy" for r in busy),
        "ok_p50_ms": _pct([r["ms"] for r in ok], 0.5),
        "ok_p95_ms": _pct([r["ms"] for r in ok], 0.95),
        "busy_p50_ms": _pct([r["ms"] for r in busy], 0.5),
        "busy_p95_ms": _pct([r["ms"] for r in busy], 0.95),
        "server_queue_ms_mean": statistics.fmean(r["body"]["queue_ms"] for r in ok) if ok else 0.0,
        "server_recognize_ms_mean": (
            statistics.fmean(r["body"]["timings"]["total_ms"] for r in ok) if ok else 0.0
        ),
    }


def report(data: dict[str, Any]) -> str:
    s = data["burst"]
    mem = data["memory"]
    lines = [
        f"## Service benchmark, {data['date']}",
        "",
        f"- machine: {data['machine']}",
        f"- command: `{data['command']}`",
        f"- server: `sign2text serve --workers {data['workers']} --queue-size "
        f"{data['queue_size']}` (bundled model, Holistic at 15 fps); client: httpx on "
        "the same machine over loopback",
        f"- clip: `{data['clip']}` ({data['clip_bytes']} bytes), expected `{data['expected']}`",
        f"- load average (1 min) before / after: {data['load_average_before'][0]:.2f} / "
        f"{data['load_average_after'][0]:.2f}",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| server RSS, model loaded, idle | {mem['idle_rss_mib']:.0f} MiB |",
        f"| first upload (MediaPipe starts) | {data['first_ms']:.0f} ms |",
        f"| burst of {s['requests']} simultaneous uploads: answers | "
        f"{s['ok_correct']} x 200 `{data['expected']}`, {s['ok_other_word']} x 200 other word, "
        f"{s['busy_503']} x 503 busy, {s['other']} other |",
        f"| latency of the 200s | p50 {s['ok_p50_ms']:.0f} ms, p95 {s['ok_p95_ms']:.0f} ms |",
        f"| latency of the 503s | p50 {s['busy_p50_ms']:.0f} ms, p95 {s['busy_p95_ms']:.0f} ms |",
        f"| burst wall time | {data['burst_s']:.1f} s "
        f"({data['clips_per_s']:.2f} clips/s answered) |",
        f"| server: mean queue wait / recognition of the 200s | "
        f"{s['server_queue_ms_mean']:.0f} ms / {s['server_recognize_ms_mean']:.0f} ms |",
        f"| server peak RSS (VmHWM, whole run) | {mem['peak_mib']:.0f} MiB |",
        f"| server RSS after the burst | {mem['after_rss_mib']:.0f} MiB |",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clip", default=DEFAULT_CLIP, help="a clip name in the videos dir, or a path"
    )
    parser.add_argument("--videos-dir", type=Path, default=None)
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--queue-size", type=int, default=8)
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)

    from sign2text.settings import get_settings

    clip_path = Path(args.clip)
    if not clip_path.is_file():
        clip_path = (args.videos_dir or get_settings().videos_dir) / args.clip
    clip = clip_path.read_bytes()
    expected = clip_path.name.split("__", 1)[0]
    load_before = os.getloadavg()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        proc = start_server(port, args.workers, args.queue_size, log)
        try:
            time.sleep(0.5)
            idle = memory_mib(proc.pid)
            t = time.perf_counter()
            first = httpx.post(
                f"{base}/v1/recognize",
                files={"file": (clip_path.name, clip, "video/mp4")},
                timeout=600,
            )
            first_ms = (time.perf_counter() - t) * 1000.0
            first.raise_for_status()
            results, burst_s = asyncio.run(burst(base, clip, clip_path.name, args.requests))
            after = memory_mib(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
    summary = summarize(results, expected)
    answered = summary["ok_correct"] + summary["ok_other_word"]
    data: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "command": "python benchmarks/bench_serve.py " + " ".join(argv or sys.argv[1:]),
        "workers": args.workers,
        "queue_size": args.queue_size,
        "clip": clip_path.name,
        "clip_bytes": len(clip),
        "expected": expected,
        "first_ms": first_ms,
        "first_label": first.json()["label"],
        "burst_s": burst_s,
        "clips_per_s": answered / burst_s if burst_s > 0 else 0.0,
        "burst": summary,
        "memory": {
            "idle_rss_mib": idle["rss_mib"],
            "peak_mib": after["peak_mib"],
            "after_rss_mib": after["rss_mib"],
            "processes": after["processes"],
        },
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }
    print(report(data))
    if args.out:
        args.out.write_text(json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
