"""Helpers of the reliability tests: a hostile-media corpus generated on the fly,
subprocess runs with their own peak RSS, and a real ``sign2text serve`` on loopback.

Nothing here is third-party data: every hostile file is built from PyAV/ffmpeg output
or from a clip of ``SIGN2TEXT_VIDEOS_DIR`` at test time, in a temporary folder.
"""

from __future__ import annotations

import gzip
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

W, H = 64, 48


def cli_command() -> list[str]:
    script = Path(sys.executable).with_name("sign2text")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "sign2text.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- media ---------------------------------------------------------------------------


def _frame(i: int, w: int, h: int) -> np.ndarray:
    img = np.full((h, w, 3), (i * 9) % 200, dtype=np.uint8)
    img[: h // 4, : w // 4] = 255
    return img


def encode(
    *,
    n: int = 12,
    fps: int = 30,
    w: int = W,
    h: int = H,
    fmt: str = "mp4",
    codec: str = "libx264",
    rotation: int | None = None,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    options: dict[str, str] | None = None,
) -> bytes:
    """``n`` small frames encoded with PyAV (``pts`` in ``time_base`` for a VFR clip)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt, options=options or {}) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        if time_base is not None:
            stream.codec_context.time_base = time_base
            stream.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(_frame(i, w, h), format="rgb24")
            if pts is not None:
                frame.pts = pts[i]
                frame.time_base = time_base
            for pkt in stream.encode(frame):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    return buf.getvalue()


def audio_only() -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=44100)
        n = stream.codec_context.frame_size or 1024
        for k in range(20):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, n), dtype=np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate = 44100
            frame.pts = k * n
            for pkt in stream.encode(frame):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    return buf.getvalue()


def image(fmt: str) -> bytes:
    """A PNG or JPEG still (a signer-sized picture, nothing in it)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="image2pipe") as out:
        codec = {"png": "png", "jpeg": "mjpeg"}[fmt]
        stream = out.add_stream(codec, rate=1)
        stream.width, stream.height = W, H
        stream.pix_fmt = "rgb24" if fmt == "png" else "yuvj420p"
        frame = av.VideoFrame.from_ndarray(_frame(0, W, H), format="rgb24")
        for pkt in stream.encode(frame):
            out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    return buf.getvalue()


def ffmpeg_lavfi(tmp: Path, name: str, source: str, seconds: float, *extra: str) -> bytes:
    """A synthetic clip from ffmpeg's lavfi ``source`` (fast presets, tiny bitrate)."""
    path = tmp / name
    cmd = [
        "ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-t", str(seconds),
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra, str(path),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=120)
    return path.read_bytes()


def long_clip(tmp: Path) -> bytes:
    """10 minutes at 32x32, 2 fps: small on disk, refused by the duration cap."""
    return ffmpeg_lavfi(tmp, "long.mp4", "color=c=gray:s=32x32:r=2", 600, "-g", "600")


def huge_frame(tmp: Path) -> bytes:
    """One 7680x4320 (8K UHD) black frame: refused by the pixel cap before decoding."""
    return ffmpeg_lavfi(tmp, "8k.mp4", "color=c=black:s=7680x4320:r=1", 1)


def gzip_bomb() -> bytes:
    """256 MiB of zeros gzipped (~250 KiB): must never be inflated."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as gz:
        block = bytes(1 << 20)
        for _ in range(256):
            gz.write(block)
    return buf.getvalue()


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int]]:
    """Top-level ISO BMFF boxes: (type, payload start, box end)."""
    end = len(data) if end is None else end
    out: list[tuple[bytes, int, int]] = []
    pos = start
    while pos + 8 <= end:
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        head = 8
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            head = 16
        elif size == 0:
            size = end - pos
        if size < head:
            break
        out.append((kind, pos + head, min(pos + size, end)))
        pos += size
    return out


def corrupt_mdat(data: bytes, *, seed: int, flips: int = 400) -> bytes:
    """Flip ``flips`` random bytes inside the ``mdat`` box (the H.264 NAL units)."""
    mdat = [(s, e) for kind, s, e in _boxes(data) if kind == b"mdat"]
    assert mdat, "no mdat box"
    start, end = mdat[0]
    rng = np.random.default_rng(seed)
    out = bytearray(data)
    for pos in rng.integers(start, end, size=flips):
        out[int(pos)] ^= int(rng.integers(1, 256))
    return bytes(out)


def vfr_clip() -> bytes:
    """Variable frame rate: gaps of 1 to 200 ms between frames (ms time base)."""
    rng = np.random.default_rng(3)
    steps = rng.integers(1, 200, size=20)
    pts = [int(x) for x in np.concatenate([[0], np.cumsum(steps)[:-1]])]
    return encode(n=20, fps=30, pts=pts, time_base=Fraction(1, 1000), fmt="matroska")


@dataclass(frozen=True)
class Case:
    """One hostile file and what each interface may answer."""

    name: str
    build: Callable[[Path, bytes], bytes]  # (tmp, real clip bytes) -> file bytes
    codes: frozenset[str]  # library error codes allowed ("ok" = a recognition)
    http: frozenset[int]  # HTTP statuses allowed


MEDIA = frozenset({"undecodable_media"})
ANSWER = frozenset({"ok", "no_signing", "undecodable_media"})
# Valid files (odd but well-formed): they must decode; no person in them is allowed.
DECODED = frozenset({"ok", "no_signing"})


def _cases() -> list[Case]:
    def trunc(fraction: float, faststart: bool = False) -> Callable[[Path, bytes], bytes]:
        def build(tmp: Path, real: bytes) -> bytes:
            if faststart:  # index first, as web MP4s are: the cut file still opens
                path = tmp / f"faststart_{fraction}.mp4"
                path.write_bytes(encode(n=30, w=96, h=72))
                out = tmp / f"faststart_{fraction}.fs.mp4"
                cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(path), "-c", "copy"]
                subprocess.run([*cmd, "-movflags", "faststart", str(out)], check=True)
                data = out.read_bytes()
            else:
                data = encode(n=30, w=96, h=72)
            return data[: int(len(data) * fraction)]

        return build

    def rotated(deg: int) -> Callable[[Path, bytes], bytes]:
        return lambda tmp, real: encode(n=8, rotation=deg)

    c = Case
    return [
        c("empty", lambda t, r: b"", MEDIA, frozenset({422})),
        c("text", lambda t, r: b"not a video at all\n" * 50, MEDIA, frozenset({415})),
        c("trunc_10", trunc(0.1), ANSWER, frozenset({200, 415, 422})),
        c("trunc_50", trunc(0.5), ANSWER, frozenset({200, 415, 422})),
        c("trunc_90", trunc(0.9), ANSWER, frozenset({200, 415, 422})),
        c("trunc_fs_50", trunc(0.5, True), ANSWER, frozenset({200, 415, 422})),
        c("trunc_fs_97", trunc(0.97, True), ANSWER, frozenset({200, 415, 422})),
        c("audio_only", lambda t, r: audio_only(), MEDIA, frozenset({422})),
        c("one_frame", lambda t, r: encode(n=1), DECODED, frozenset({200, 422})),
        c(
            "long_10min",
            lambda t, r: long_clip(t),
            frozenset({"media_too_large"}),
            frozenset({413}),
        ),
        c("res_8k", lambda t, r: huge_frame(t), frozenset({"media_too_large"}), frozenset({413})),
        c("rot_90", rotated(90), DECODED, frozenset({200, 422})),
        c("rot_180", rotated(180), DECODED, frozenset({200, 422})),
        c("rot_270", rotated(270), DECODED, frozenset({200, 422})),
        c("vfr", lambda t, r: vfr_clip(), DECODED, frozenset({200, 422})),
        c("png", lambda t, r: image("png"), frozenset({"unsupported_media"}), frozenset({415})),
        c("jpeg", lambda t, r: image("jpeg"), frozenset({"unsupported_media"}), frozenset({415})),
        c("gzip_bomb", lambda t, r: gzip_bomb(), MEDIA, frozenset({415})),
        c("nal_flips", lambda t, r: corrupt_mdat(r, seed=1), ANSWER, frozenset({200, 422})),
    ]


CASES = _cases()


# --- processes -----------------------------------------------------------------------


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    max_rss_mib: float


def _hwm_mib(pid: int) -> float:
    """Peak RSS so far of a live process (``VmHWM``; 0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def run_measured(
    cmd: list[str], *, timeout_s: float, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Finished:
    """Run ``cmd`` to completion, sampling its peak RSS (``VmHWM``) every 10 ms.

    ``wait4``'s ``ru_maxrss`` is no use here: it keeps the high-water mark of the forked
    parent (the test runner) across ``exec``. ``VmHWM`` belongs to the new image.
    """
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        peak = 0.0
        while True:
            peak = max(peak, _hwm_mib(proc.pid))  # read before reaping: still in /proc
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout_s:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise AssertionError(f"{cmd} ran over {timeout_s} s")
            time.sleep(0.01)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return Finished(
            returncode=proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            wall_s=wall,
            max_rss_mib=peak,
        )


def rss_mib(pid: int) -> float:
    """Current resident set size of a process (Linux /proc)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError(f"no VmRSS for {pid}")


class Server:
    """``sign2text serve`` on a free loopback port, started and stopped by a test."""

    def __init__(self, tmp: Path, env: dict[str, str], *args: str) -> None:
        import httpx

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "server.log"
        full_env = dict(os.environ, **env)
        cmd = [*cli_command(), "serve", "--port", str(self.port), *args]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"server not ready in 90 s:\n{self.output()}")
            time.sleep(0.2)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def skip_or_fail(message: str, require_env: str) -> None:
    """A check that could not run: skip with the reason, or fail when ``require_env=1``
    (a CI job that is known to reach what the check needs)."""
    import pytest

    if os.environ.get(require_env) == "1":
        pytest.fail(message)
    pytest.skip(message)
