"""Convert landmark datasets between formats.

Any importable format can be read; three can be written:

- ``pack``: one ``.npz`` (float16 frames), the format training reads;
- ``mp_data``: tutorial ``MP_Data/<label>/<n>/<frame>.npy`` folders (1662, 258, 170 or
  126 values per frame), for tools that expect that layout;
- ``pose``: ``<label>/<id>.pose`` files of pose-format plus a ``labels.csv`` sidecar.

``parts`` slims a dataset (the other parts become NaN) so that a pack carried to a
training machine stays small: ``("hands", "pose")`` drops the face, the largest part.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sign2text.data.importers import detect_format, load_landmarks
from sign2text.data.importers._common import check_name
from sign2text.data.importers.mp_data import write_mp_data
from sign2text.data.importers.pose_files import SIDECAR, write_pose
from sign2text.data.pack import write_pack
from sign2text.data.sample import Sample
from sign2text.errors import ConfigError, DatasetError
from sign2text.io.atomic import atomic_dir, atomic_write_text
from sign2text.landmarks.skeleton import N_POINTS, PARTS, Part

OUTPUT_FORMATS = ("pack", "mp_data", "pose")
PART_ALIASES: dict[str, tuple[str, ...]] = {
    "hands": ("left_hand", "right_hand"),
    **{name: (name,) for name in PARTS},
}


@dataclass(frozen=True)
class ConvertResult:
    """What :func:`convert` wrote."""

    source_format: str
    target_format: str
    sequences: int
    frames: int
    output: Path


def parse_parts(names: Sequence[str]) -> tuple[Part, ...]:
    """Parts named by ``names`` (``face``, ``pose``, ``left_hand``, ``right_hand``, ``hands``)."""
    out: dict[str, Part] = {}
    for raw in names:
        name = raw.strip()
        if name not in PART_ALIASES:
            valid = ", ".join(sorted(PART_ALIASES))
            raise DatasetError(f"unknown landmark part {name!r}; valid: {valid}")
        for part in PART_ALIASES[name]:
            out[part] = PARTS[part]
    if not out:
        raise DatasetError("no landmark parts given")
    return tuple(out.values())


def keep_parts(samples: Sequence[Sample], parts: Sequence[Part]) -> list[Sample]:
    """Copies of ``samples`` where every point outside ``parts`` is NaN."""
    mask = np.ones(N_POINTS, dtype=bool)
    for part in parts:
        mask[part.start : part.stop] = False
    out: list[Sample] = []
    for s in samples:
        lm = np.array(s.landmarks, copy=True)
        lm[:, mask] = np.nan
        out.append(replace(s, landmarks=lm))
    return out


def target_format(dst: Path, to: str | None) -> str:
    """The output format: ``to`` if given, ``pack`` for a ``.npz`` destination."""
    if to is not None:
        if to not in OUTPUT_FORMATS:
            raise DatasetError(f"cannot write format {to!r}; writable: {', '.join(OUTPUT_FORMATS)}")
        return to
    if dst.suffix.lower() == ".npz":
        return "pack"
    raise DatasetError(
        f"{dst}: cannot tell the output format from the name; "
        f"give one of {', '.join(OUTPUT_FORMATS)}"
    )


def write_pose_folder(
    dest: Path, samples: Sequence[Sample], fps: float, width: int, height: int
) -> Path:
    """Write ``dest/<label>/<n>.pose`` plus ``dest/labels.csv`` (path,label,signer,split).

    ``dest`` must not exist or be empty; the folder is built aside and renamed.
    """
    if not samples:
        raise DatasetError("no samples to write")
    with atomic_dir(dest) as tmp:
        counters: Counter[str] = Counter()
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["path", "label", "signer", "split", "source_id"])
        for s in samples:
            label = check_name(s.label, "label")
            rel = f"{label}/{counters[label]}.pose"
            counters[label] += 1
            write_pose(tmp / rel, s, fps, width, height)
            writer.writerow([rel, s.label, s.signer, s.split or "", s.source_id])
        atomic_write_text(tmp / SIDECAR, buf.getvalue())
    return dest


def write_samples(
    dst: Path,
    samples: Sequence[Sample],
    fmt: str,
    *,
    layout: int | None = None,
    fps: float = 30.0,
    width: int = 1280,
    height: int = 720,
) -> Path:
    """Write ``samples`` to ``dst`` in format ``fmt`` (see :data:`OUTPUT_FORMATS`)."""
    if fmt == "pack":
        write_pack(dst, samples)
        return dst
    if fmt == "mp_data":
        return write_mp_data(dst, samples, layout)
    if fmt == "pose":
        return write_pose_folder(dst, samples, fps, width, height)
    raise DatasetError(f"cannot write format {fmt!r}; writable: {', '.join(OUTPUT_FORMATS)}")


def convert(
    src: str | Path,
    dst: str | Path,
    *,
    source_format: str | None = None,
    to: str | None = None,
    parts: Sequence[str] | None = None,
    layout: int | None = None,
    fps: float | None = None,
    width: int | None = None,
    height: int | None = None,
    step: Callable[[], object] | None = None,
) -> ConvertResult:
    """Read ``src`` (any landmark format) and write it to ``dst``; ``step`` is called
    once the data is read and once it is written (for a progress bar).

    ``to`` defaults to ``pack`` for a ``.npz`` destination. ``parts`` keeps only the
    named parts. ``layout`` is the ``mp_data`` vector length; ``fps``, ``width`` and
    ``height`` go into ``.pose`` headers (coordinates are scaled by width and height;
    defaults 30 frames/s, 1280x720). An option that the output format does not use is
    a :class:`ConfigError`, not silently ignored.
    """
    src_path, dst_path = Path(src), Path(dst)
    fmt = target_format(dst_path, to)
    if layout is not None and fmt != "mp_data":
        raise ConfigError(f"the layout (vector length) applies to mp_data output, not {fmt}")
    pose_options = {"fps": fps, "width": width, "height": height}
    given = [name for name, value in pose_options.items() if value is not None]
    if given and fmt != "pose":
        raise ConfigError(f"{', '.join(given)} apply to pose output, not {fmt}")
    kept = parse_parts(parts) if parts else None
    if src_path.resolve() == dst_path.resolve():
        raise DatasetError(f"{dst_path}: source and destination are the same")
    name = source_format or detect_format(src_path)
    samples = load_landmarks(src_path, name)
    if kept is not None:
        samples = keep_parts(samples, kept)
    if step is not None:
        step()
    out = write_samples(
        dst_path,
        samples,
        fmt,
        layout=layout,
        fps=30.0 if fps is None else fps,
        width=1280 if width is None else width,
        height=720 if height is None else height,
    )
    if step is not None:
        step()
    return ConvertResult(
        source_format=name or "?",
        target_format=fmt,
        sequences=len(samples),
        frames=sum(s.frames for s in samples),
        output=out,
    )
