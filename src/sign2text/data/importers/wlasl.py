"""The ``wlasl`` video layout (WLASL, Li et al., WACV 2020).

Two metadata variants, each next to a video folder (``<root>/videos/<video_id>.mp4``,
or the clips directly in ``<root>``):

- ``WLASL_v0.3.json``: a list of ``{"gloss", "instances": [{"video_id", "signer_id",
  "split", "frame_start", "frame_end", ...}]}``; signers become ``wlasl:<signer_id>``.
- ``nslt_<N>.json`` + ``wlasl_class_list.txt`` (the I3D split files):
  ``{video_id: {"subset", "action": [class_index, frame_start, frame_end]}}`` and
  ``<class_index>\\t<gloss>`` lines; these carry no signer ids (signer ``""``).

WLASL frames are 1-based and inclusive, ``frame_end == -1`` meaning "to the end";
:class:`~sign2text.data.importers.base.VideoItem` uses 0-based ``[start, end)``, so
``frame_start - 1`` and ``frame_end`` (None for -1). Videos absent from the folder
(WLASL links rot; most people have a subset) are skipped and counted with a warning.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sign2text.data.importers._common import normalize_label
from sign2text.data.importers.base import VIDEO_IMPORTERS, VideoImporter, VideoItem, safe_join
from sign2text.data.sample import UNKNOWN_SIGNER
from sign2text.errors import DatasetError

log = logging.getLogger(__name__)

V03_NAME = "WLASL_v0.3.json"
CLASS_LIST = "wlasl_class_list.txt"
NSLT_RE = re.compile(r"^nslt_(\d+)\.json$")


@dataclass(frozen=True)
class _Entry:
    video_id: str
    gloss: str
    signer: str
    split: str | None
    frame_start: int | None
    frame_end: int | None


@dataclass(frozen=True)
class WlaslListing:
    """The clips found, and how many listed clips had no video file."""

    items: list[VideoItem]
    missing: int
    metadata: Path


def find_metadata(path: Path) -> Path | None:
    """The metadata file: ``path`` itself, ``WLASL_v0.3.json``, or the largest ``nslt_N.json``."""
    if path.is_file():
        ok = path.name == V03_NAME or NSLT_RE.match(path.name) or path.suffix == ".json"
        return path if ok else None
    if not path.is_dir():
        return None
    if (path / V03_NAME).is_file():
        return path / V03_NAME
    nslt = [(int(m.group(1)), p) for p in path.glob("nslt_*.json") if (m := NSLT_RE.match(p.name))]
    if nslt and (path / CLASS_LIST).is_file():
        return max(nslt)[1]
    return None


def detect_wlasl(path: Path) -> bool:
    """True if ``path`` is or holds WLASL metadata (v0.3 json, or nslt + class list)."""
    meta = find_metadata(path)
    return meta is not None and (meta.name == V03_NAME or bool(NSLT_RE.match(meta.name)))


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: unreadable JSON ({exc})") from None


def _frame_range(start: Any, end: Any, where: Path, vid: str) -> tuple[int | None, int | None]:
    """WLASL's 1-based inclusive frames as 0-based ``[start, end)``; -1 end -> None."""
    try:
        s, e = int(start), int(end)
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: video {vid}: bad frame_start/frame_end") from None
    if s < 1 or (e != -1 and e < s):
        raise DatasetError(f"{where}: video {vid}: bad frame range {s}..{e}")
    return s - 1, None if e == -1 else e


def parse_v03(path: Path) -> list[_Entry]:
    """Entries of a ``WLASL_v0.3.json`` file."""
    data = _load_json(path)
    if not isinstance(data, list):
        raise DatasetError(f"{path}: expected a list of {{gloss, instances}}")
    out: list[_Entry] = []
    try:
        for entry in data:
            gloss = str(entry["gloss"])
            for inst in entry["instances"]:
                vid = str(inst["video_id"])
                start, end = _frame_range(inst["frame_start"], inst["frame_end"], path, vid)
                signer = inst.get("signer_id")
                out.append(
                    _Entry(
                        video_id=vid,
                        gloss=gloss,
                        signer=UNKNOWN_SIGNER if signer is None else f"wlasl:{signer}",
                        split=str(inst["split"]) if inst.get("split") else None,
                        frame_start=start,
                        frame_end=end,
                    )
                )
    except KeyError as exc:
        raise DatasetError(f"{path}: not WLASL v0.3 metadata (missing key {exc})") from None
    except (TypeError, AttributeError):
        raise DatasetError(
            f"{path}: not WLASL v0.3 metadata (each entry must be an object with a "
            "'gloss' and a list of 'instances' objects)"
        ) from None
    return out


def parse_class_list(path: Path) -> dict[int, str]:
    """``<class_index>\\t<gloss>`` lines."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: unreadable class list ({exc})") from None
    out: dict[int, str] = {}
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        idx, _, gloss = line.partition("\t")
        if not idx.strip().isdigit() or not gloss.strip():
            raise DatasetError(f"{path}: line {n} is not '<index>\\t<gloss>'")
        out[int(idx)] = gloss.strip()
    return out


def parse_nslt(path: Path) -> list[_Entry]:
    """Entries of an ``nslt_N.json`` split file, glosses from ``wlasl_class_list.txt``."""
    classes = parse_class_list(path.parent / CLASS_LIST)
    data = _load_json(path)
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected {{video_id: {{subset, action}}}}")
    out: list[_Entry] = []
    try:
        for vid, info in data.items():
            cls, start, end = info["action"][:3]
            if int(cls) not in classes:
                raise DatasetError(f"{path}: video {vid}: class {cls} not in {CLASS_LIST}")
            s, e = _frame_range(start, end, path, vid)
            out.append(
                _Entry(
                    video_id=str(vid),
                    gloss=classes[int(cls)],
                    signer=UNKNOWN_SIGNER,
                    split=str(info["subset"]) if info.get("subset") else None,
                    frame_start=s,
                    frame_end=e,
                )
            )
    except KeyError as exc:
        raise DatasetError(f"{path}: not an nslt split file (missing key {exc})") from None
    except (TypeError, ValueError, AttributeError):
        raise DatasetError(
            f"{path}: not an nslt split file (each video must map to an object with "
            "'subset' and 'action': [class, frame_start, frame_end])"
        ) from None
    return out


def scan_wlasl(path: Path, videos: Path | None = None) -> WlaslListing:
    """List WLASL clips present on disk, counting the listed ones that are missing.

    ``videos`` is the clip folder (default ``<root>/videos`` if it exists, else the
    root); every clip path must stay inside it.
    """
    meta = find_metadata(path)
    if meta is None:
        raise DatasetError(f"{path}: no {V03_NAME} or nslt_N.json + {CLASS_LIST} found")
    entries = parse_nslt(meta) if NSLT_RE.match(meta.name) else parse_v03(meta)
    root = meta.parent
    folder = videos if videos is not None else root / "videos"
    if not folder.is_dir():
        folder = root
    items: list[VideoItem] = []
    missing = 0
    for e in entries:
        clip = safe_join(folder, f"{e.video_id}.mp4")
        if not clip.is_file():
            missing += 1
            continue
        items.append(
            VideoItem(
                path=clip,
                label=normalize_label(e.gloss),
                signer=e.signer,
                source_id=e.video_id,
                split=e.split,
                frame_start=e.frame_start,
                frame_end=e.frame_end,
            )
        )
    if missing:
        log.warning("%s: %d of %d listed videos are missing (skipped)", meta, missing, len(entries))
    if not items:
        raise DatasetError(f"{meta}: none of the {len(entries)} listed videos is in {folder}")
    return WlaslListing(items=items, missing=missing, metadata=meta)


def list_wlasl(path: Path) -> list[VideoItem]:
    """The clips of a WLASL dataset that exist on disk (see :func:`scan_wlasl`)."""
    return scan_wlasl(path).items


VIDEO_IMPORTERS.add(
    "wlasl",
    VideoImporter(
        name="wlasl",
        description=f"{V03_NAME} or nslt_N.json + {CLASS_LIST}, clips in videos/<video_id>.mp4",
        detect=detect_wlasl,
        list=list_wlasl,
    ),
)
