"""Video clips as still images: frame folders (for image models) and one-image grids.

``export_frames`` writes a clip's frames, resampled and resized, as numbered JPEG/PNG
files; ``export_dataset_frames`` does it for a whole video dataset and keeps its
folder-per-label layout (``OUT/<label>/<clip>/<i>.jpg``). ``frame_grid`` tiles evenly
spaced frames of a clip into one image (the seed experiment: a clip as one picture).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sign2text.errors import ConfigError, Sign2TextError
from sign2text.io.atomic import replace_all, staging_dir
from sign2text.io.video import VideoLimits, VideoSource, iter_frames, resize_max_side

IMAGE_FORMATS = ("jpg", "png")
# The name of a frame written by export_frames: its index and an image extension.
_FRAME_NAME = re.compile(r"[0-9]+\.(?:jpg|png)")


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``"WxH"`` (e.g. ``224x224``) into ``(width, height)``."""
    parts = text.lower().split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"bad size {text!r}: expected WxH, e.g. 224x224") from None
    if w <= 0 or h <= 0 or w * h > 8192 * 8192:
        raise ConfigError(f"bad size {text!r}: width and height must be positive and sane")
    return w, h


def resize(image: NDArray[np.uint8], size: tuple[int, int]) -> NDArray[np.uint8]:
    """Resize an RGB image to exactly ``(width, height)``."""
    import cv2

    if (image.shape[1], image.shape[0]) == size:
        return image
    shrink = size[0] * size[1] < image.shape[0] * image.shape[1]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, size, interpolation=interp), dtype=np.uint8)


def encode_image(image: NDArray[np.uint8], fmt: str = "jpg", quality: int = 92) -> bytes:
    """Encode an RGB image as JPEG or PNG bytes."""
    import cv2

    if fmt not in IMAGE_FORMATS:
        raise ConfigError(f"unknown image format {fmt!r}; valid: {', '.join(IMAGE_FORMATS)}")
    bgr = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if fmt == "jpg" else []
    ok, buf = cv2.imencode(f".{fmt}", bgr, params)
    if not ok:  # pragma: no cover - OpenCV fails only on invalid arrays
        raise ConfigError(f"could not encode a {image.shape} image as {fmt}")
    return bytes(buf.tobytes())


def export_frames(
    source: VideoSource,
    out_dir: str | Path,
    *,
    fps: float | None = None,
    size: tuple[int, int] | None = None,
    fmt: str = "jpg",
    limits: VideoLimits | None = None,
    start: int | None = None,
    stop: int | None = None,
) -> list[Path]:
    """Write a clip's frames as ``out_dir/<i>.<fmt>`` (i from 0); return the paths.

    Frames are resampled to ``fps`` (never up) and resized to ``size`` = (W, H).
    They are written into a hidden folder inside ``out_dir`` and moved into place only
    once the whole clip has decoded, so a clip that fails part-way leaves ``out_dir`` as
    it was (an earlier export of the same clip included). Numbered frames of an earlier
    export that this one does not rewrite (a longer clip, a higher rate, the other image
    format) are then removed, so the folder holds exactly this clip's frames; other
    files in it are left alone.
    """
    if fmt not in IMAGE_FORMATS:
        raise ConfigError(f"unknown image format {fmt!r}; valid: {', '.join(IMAGE_FORMATS)}")
    out = Path(out_dir)
    names: list[str] = []
    with staging_dir(out, "frames") as staging:
        for frame in iter_frames(source, target_fps=fps, limits=limits, start=start, stop=stop):
            image = resize(frame.image, size) if size else frame.image
            name = f"{frame.index}.{fmt}"
            (staging / name).write_bytes(encode_image(image, fmt))
            names.append(name)
        replace_all([(staging / name, out / name) for name in names])
    written = set(names)
    for stale in out.iterdir():
        if stale.name not in written and _FRAME_NAME.fullmatch(stale.name) and stale.is_file():
            stale.unlink()
    return [out / name for name in names]


@dataclass
class FramesReport:
    """What :func:`export_dataset_frames` wrote: frames per clip folder, and failures."""

    clips: dict[Path, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return sum(self.clips.values())


def _safe_name(text: str) -> str:
    name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text).strip(".")
    return name or "_"


def export_dataset_frames(
    root: str | Path,
    out_dir: str | Path,
    *,
    fps: float | None = None,
    size: tuple[int, int] | None = None,
    fmt: str = "jpg",
    layout: str | None = None,
    limits: VideoLimits | None = None,
    on_plan: Callable[[int], None] | None = None,
    on_clip: Callable[[str, int], None] | None = None,
) -> FramesReport:
    """Export every clip of a video dataset as ``out_dir/<label>/<clip>/<i>.<fmt>``.

    Clips are listed by :func:`sign2text.data.importers.list_videos`; a clip that
    cannot be decoded is recorded in the report, not fatal. ``on_plan(clips)`` is called
    once the clips are listed, ``on_clip(source_id, frames)`` after each clip (0 frames
    for a failure).
    """
    from sign2text.data.importers import list_videos

    items = sorted(list_videos(Path(root), layout=layout), key=lambda it: it.source_id)
    if on_plan is not None:
        on_plan(len(items))
    report = FramesReport()
    used: set[Path] = set()
    for item in items:
        folder = Path(out_dir) / _safe_name(item.label or "unlabelled") / _safe_name(item.path.stem)
        if folder in used:  # two clips with one stem (a.mp4, a.avi): keep both
            folder = folder.with_name(_safe_name(item.path.name))
        used.add(folder)
        try:
            paths = export_frames(
                item.path,
                folder,
                fps=fps,
                size=size,
                fmt=fmt,
                limits=limits,
                start=item.frame_start,
                stop=item.frame_end,
            )
        except Sign2TextError as exc:
            report.failed[item.source_id] = str(exc)
            if on_clip is not None:
                on_clip(item.source_id, 0)
            continue
        report.clips[folder] = len(paths)
        if on_clip is not None:
            on_clip(item.source_id, len(paths))
    return report


def frame_grid(
    source: VideoSource,
    *,
    frames: int = 16,
    cols: int = 4,
    tile: int = 160,
    limits: VideoLimits | None = None,
) -> NDArray[np.uint8]:
    """Tile ``frames`` evenly spaced frames of a clip, row by row, into one RGB image.

    Each tile is the frame scaled down so its longer side is at most ``tile`` pixels.
    """
    from sign2text.landmarks.overlay import contact_sheet

    if frames < 1 or cols < 1 or tile < 8:
        raise ConfigError("grid needs frames >= 1, cols >= 1 and a tile size >= 8")
    # Downscale while decoding so a long clip never sits in memory at full size.
    images = [resize_max_side(f.image, tile) for f in iter_frames(source, limits=limits)]
    return contact_sheet(images, cols=cols, max_tiles=frames)
