"""Video decoding with PyAV: RGB frames, fps, duration, rotation, caps, resampling.

Every failure to read a video becomes a :class:`~sign2text.errors.MediaError` (or a
subclass) with a message that names the input; nothing else escapes. Caps on bytes,
duration, frame count and resolution are checked before decoding where the container
tells, and again while decoding (a variable-frame-rate or lying header cannot get past
them), so a hostile file cannot exhaust memory or time.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.errors import MediaError, MediaTooLargeError, UnsupportedMediaError

log = logging.getLogger(__name__)

VideoSource = str | Path | bytes

# Demuxers we accept (PyAV ``container.format.name``). Image and raw pipes are refused,
# so a PNG renamed ``.mp4`` is an unsupported-media error rather than a one-frame "video".
SUPPORTED_FORMATS = frozenset(
    {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "mpegts", "flv", "ogg", "mpeg"}
)
SUPPORTED_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi"})

# Individual broken packets are skipped (a real camera file can have a few); more than
# this many in one file means the file is corrupt.
_MAX_BAD_PACKETS = 32

# Assumed frame rate when a container states none (raw streams, broken headers).
DEFAULT_FPS = 30.0


@dataclass(frozen=True)
class VideoLimits:
    """Caps applied to every decoded video."""

    max_bytes: int = 256 * 1024 * 1024
    max_duration_s: float = 120.0
    max_frames: int = 3600
    max_pixels: int = 3840 * 2160
    # Decoded RGB bytes held at once by :func:`read_video` (frames x H x W x 3).
    max_decoded_bytes: int = 4 * 1024**3


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the video stream."""

    width: int
    height: int
    fps: float
    duration_s: float | None
    frame_count: int | None
    rotation: int  # degrees counter-clockwise; set from the first frame when decoded
    codec: str
    format: str


@dataclass(frozen=True)
class Frame:
    """One decoded frame: RGB uint8 (H, W, 3), already rotated upright."""

    index: int
    time_s: float
    image: NDArray[Any]  # uint8 RGB (H, W, 3)


@dataclass
class Video:
    """A decoded clip held in memory."""

    frames: NDArray[np.uint8]  # (T, H, W, 3) uint8 RGB
    times_s: NDArray[np.float64]  # (T,) float64
    fps: float  # rate of ``frames`` (target fps when resampled)
    info: VideoInfo

    @property
    def duration_s(self) -> float:
        return float(len(self.frames)) / self.fps if self.fps > 0 else 0.0


def _describe(source: VideoSource) -> str:
    return f"<{len(source)} bytes>" if isinstance(source, bytes) else str(source)


def _open(source: VideoSource, limits: VideoLimits) -> Any:
    import av

    name = _describe(source)
    if isinstance(source, bytes):
        size = len(source)
        target: Any = io.BytesIO(source)
    else:
        path = Path(source)
        if path.is_dir():
            raise MediaError(f"{name}: is a folder, not a video file")
        if not path.is_file():
            raise MediaError(f"{name}: no such file")
        size = path.stat().st_size
        target = str(path)
    if size == 0:
        raise MediaError(f"{name}: file is empty (0 bytes)")
    if size > limits.max_bytes:
        raise MediaTooLargeError(f"{name}: {size} bytes is over the limit of {limits.max_bytes}")
    try:
        container = av.open(target, mode="r", timeout=10.0)
    except av.FFmpegError as exc:
        raise MediaError(f"{name}: not a readable video ({_short(exc)})") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise MediaError(f"{name}: not a readable video ({_short(exc)})") from None
    if container.format.name not in SUPPORTED_FORMATS:
        fmt = container.format.name
        container.close()
        raise UnsupportedMediaError(f"{name}: unsupported media format {fmt!r}")
    if not container.streams.video:
        container.close()
        raise MediaError(f"{name}: has no video stream")
    return container


def _short(exc: BaseException) -> str:
    # FFmpeg errors carry the file name ('<none>' for bytes) after the reason: keep the reason.
    reason = getattr(exc, "strerror", None)
    text = (reason if isinstance(reason, str) and reason else str(exc)).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _info(container: Any) -> VideoInfo:
    stream = container.streams.video[0]
    ctx = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    duration: float | None = None
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1_000_000
    frames = int(stream.frames) if stream.frames else None
    return VideoInfo(
        width=int(ctx.width or 0),
        height=int(ctx.height or 0),
        fps=fps if 0 < fps < 1000 else 0.0,
        duration_s=duration,
        frame_count=frames,
        rotation=0,
        codec=str(ctx.name),
        format=str(container.format.name),
    )


def _check_header(name: str, info: VideoInfo, limits: VideoLimits) -> None:
    if info.width * info.height > limits.max_pixels:
        raise MediaTooLargeError(
            f"{name}: resolution {info.width}x{info.height} is over the limit of "
            f"{limits.max_pixels} pixels"
        )
    if info.duration_s is not None and info.duration_s > limits.max_duration_s:
        raise MediaTooLargeError(
            f"{name}: duration {info.duration_s:.1f} s is over the limit of "
            f"{limits.max_duration_s:.0f} s"
        )


def _check_complete(name: str, info: VideoInfo, decoded: int) -> None:
    """Refuse a file whose index promises clearly more frames than could be decoded.

    An MP4 whose ``moov`` index comes first stays "readable" when its tail is cut off;
    without this check a truncated upload would silently give a shorter clip. A few
    frames of slack allow for edit lists and decoder delay.
    """
    expected = info.frame_count
    if expected and decoded < expected - max(8, expected // 10):
        raise MediaError(
            f"{name}: truncated or corrupt (the header lists {expected} frames, "
            f"only {decoded} could be decoded)"
        )


def probe(source: VideoSource, limits: VideoLimits | None = None) -> VideoInfo:
    """Read the container header only."""
    limits = limits or VideoLimits()
    container = _open(source, limits)
    try:
        info = _info(container)
        rotation = 0
        try:
            for vf in container.decode(video=0):
                rotation = int(vf.rotation or 0)
                break
        except Exception:  # a header-only probe must not fail on frame data
            log.debug("probe: first frame of %s not decodable", _describe(source))
        return replace(info, rotation=rotation)
    finally:
        container.close()


def _upright(image: NDArray[np.uint8], rotation: int) -> NDArray[np.uint8]:
    k = (round(rotation / 90)) % 4
    return np.ascontiguousarray(np.rot90(image, k=k)) if k else image


def output_fps(source_fps: float, target_fps: float | None) -> float:
    """The frame rate :func:`iter_frames` yields for a source rate and a target rate."""
    fps = source_fps if source_fps > 0 else DEFAULT_FPS
    return float(target_fps) if target_fps and 0 < target_fps < fps else float(fps)


def iter_frames(
    source: VideoSource,
    *,
    target_fps: float | None = None,
    limits: VideoLimits | None = None,
    start: int | None = None,
    stop: int | None = None,
) -> Iterator[Frame]:
    """Decode frames one at a time (RGB, upright), optionally resampled to ``target_fps``.

    ``start``/``stop`` select source frames by decode index (``stop`` exclusive) before
    resampling; times are then relative to the first selected frame. Resampling keeps
    the first frame at or after each tick of the target clock, so it only drops frames
    (a source slower than the target keeps all of its frames).
    """
    import av

    if target_fps is not None and target_fps <= 0:
        raise MediaError(f"target fps must be positive, got {target_fps}")
    limits = limits or VideoLimits()
    name = _describe(source)
    container = _open(source, limits)
    try:
        info = _info(container)
        _check_header(name, info, limits)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = info.fps or DEFAULT_FPS
        out_fps = output_fps(info.fps, target_fps)
        step = 1.0 / out_fps if out_fps < fps else 0.0
        first = max(0, start or 0)
        next_t = 0.0
        decoded = 0
        emitted = 0
        bad = 0
        first_t: float | None = None
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                bad += 1
                if bad > _MAX_BAD_PACKETS:
                    raise MediaError(f"{name}: too many corrupt packets") from None
                continue
            for vf in frames:
                index = decoded
                decoded += 1
                if decoded > limits.max_frames:
                    raise MediaTooLargeError(
                        f"{name}: more than the limit of {limits.max_frames} frames"
                    )
                if vf.width * vf.height > limits.max_pixels:
                    raise MediaTooLargeError(f"{name}: a frame is over the resolution limit")
                if index < first:
                    continue
                if stop is not None and index >= stop:
                    break
                t_raw = vf.time if vf.time is not None else index / fps
                if first_t is None:
                    first_t = t_raw
                t = max(0.0, t_raw - first_t)
                if t > limits.max_duration_s:
                    raise MediaTooLargeError(
                        f"{name}: longer than the limit of {limits.max_duration_s:.0f} s"
                    )
                if step and t + 1e-6 < next_t:
                    continue
                if step:
                    while next_t <= t + 1e-6:
                        next_t += step
                image = _upright(vf.to_ndarray(format="rgb24"), int(vf.rotation or 0))
                yield Frame(index=emitted, time_s=t, image=image)
                emitted += 1
            if stop is not None and decoded > stop:
                break
        else:
            _check_complete(name, info, decoded)
        if emitted == 0:
            where = f" in frames [{first}, {stop})" if start or stop is not None else ""
            raise MediaError(f"{name}: no video frame could be decoded{where}")
    except av.FFmpegError as exc:
        raise MediaError(f"{name}: decoding failed ({_short(exc)})") from None
    except (ValueError, MemoryError) as exc:
        raise MediaError(f"{name}: decoding failed ({_short(exc)})") from None
    finally:
        container.close()


def read_video(
    source: VideoSource,
    *,
    target_fps: float | None = None,
    limits: VideoLimits | None = None,
    max_side: int | None = None,
    start: int | None = None,
    stop: int | None = None,
) -> Video:
    """Decode a whole clip into memory (optionally resampled, cut and downscaled)."""
    limits = limits or VideoLimits()
    info = probe(source, limits)
    images: list[NDArray[np.uint8]] = []
    times: list[float] = []
    held = 0
    frames = iter_frames(source, target_fps=target_fps, limits=limits, start=start, stop=stop)
    for frame in frames:
        img = frame.image
        if max_side is not None and max(img.shape[:2]) > max_side:
            img = resize_max_side(img, max_side)
        held += img.nbytes
        if held > limits.max_decoded_bytes:
            raise MediaTooLargeError(
                f"{_describe(source)}: decoded frames exceed the limit of "
                f"{limits.max_decoded_bytes} bytes in memory"
            )
        images.append(img)
        times.append(frame.time_s)
    fps = output_fps(info.fps, target_fps)
    return Video(frames=np.stack(images), times_s=np.asarray(times), fps=fps, info=info)


def resize_max_side(image: NDArray[np.uint8], max_side: int) -> NDArray[np.uint8]:
    """Downscale so the longer side is ``max_side`` (keeps aspect ratio)."""
    import cv2

    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def write_video(
    path: str | Path, frames: NDArray[np.uint8] | Sequence[NDArray[np.uint8]], fps: float
) -> None:
    """Encode RGB uint8 frames (H, W, 3) to H.264 MP4 (yuv420p, even dimensions), atomically."""
    from fractions import Fraction

    import av

    from sign2text.io.atomic import atomic_write

    if len(frames) == 0:
        raise MediaError(f"{path}: no frames to write")
    if not fps or fps <= 0:
        raise MediaError(f"{path}: frame rate must be positive, got {fps}")
    h, w = frames[0].shape[:2]
    h2, w2 = h - h % 2, w - w % 2
    if h2 == 0 or w2 == 0:
        raise MediaError(f"{path}: frames of {w}x{h} are too small to encode")
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = w2, h2
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast"}
        for img in frames:
            if img.shape[:2] != (h, w) or img.ndim != 3 or img.shape[2] != 3:
                raise MediaError(f"{path}: frames differ in shape ({img.shape} vs {(h, w, 3)})")
            rgb = np.ascontiguousarray(img[:h2, :w2], dtype=np.uint8)
            for pkt in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    with atomic_write(path) as fh:
        fh.write(buf.getvalue())
