"""Video layouts of plain folders.

- ``folder``: the original Sign2Text layout ``<root>/<label>/<clip>.<ext>``.
- ``flat``: clips directly in ``<root>``, named ``<label>__<anything>.<ext>`` (the layout
  of ``../shared/videos``) or ``<label>.<ext>``.

``ext`` is one of mp4, webm, mov, avi, mkv, m4v. No signer is recorded (``""``).
"""

from __future__ import annotations

from pathlib import Path

from sign2text.data.importers._common import VIDEO_EXTENSIONS, files_in, normalize_label, subdirs
from sign2text.data.importers.base import VIDEO_IMPORTERS, VideoImporter, VideoItem
from sign2text.data.sample import UNKNOWN_SIGNER
from sign2text.errors import DatasetError


def _has_clips(path: Path) -> bool:
    return any(
        p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file()
        for p in path.iterdir()
        if p.name[0] != "."
    )


def detect_folder(path: Path) -> bool:
    """True if some sub-folder of ``path`` holds video clips."""
    if not path.is_dir():
        return False
    try:
        return any(_has_clips(d) for d in subdirs(path, path))
    except (DatasetError, OSError):
        return False


def list_folder(path: Path) -> list[VideoItem]:
    """Clips of a ``<root>/<label>/<clip>.<ext>`` tree, label from the folder name."""
    if not path.is_dir():
        raise DatasetError(f"{path}: not a folder")
    items = [
        VideoItem(
            path=clip,
            label=normalize_label(folder.name),
            signer=UNKNOWN_SIGNER,
            source_id=f"{folder.name}/{clip.name}",
        )
        for folder in subdirs(path, path)
        for clip in files_in(path, folder, VIDEO_EXTENSIONS)
    ]
    if not items:
        raise DatasetError(f"{path}: no <label>/<clip> videos found")
    return items


def detect_flat(path: Path) -> bool:
    """True if ``path`` is a folder with video clips directly in it."""
    try:
        return path.is_dir() and _has_clips(path)
    except OSError:
        return False


def list_flat(path: Path) -> list[VideoItem]:
    """Clips directly in ``path``; label = file name before ``__`` (or the whole stem)."""
    if not path.is_dir():
        raise DatasetError(f"{path}: not a folder")
    items = [
        VideoItem(
            path=clip,
            label=normalize_label(clip.stem.split("__", 1)[0]),
            signer=UNKNOWN_SIGNER,
            source_id=clip.name,
        )
        for clip in files_in(path, path, VIDEO_EXTENSIONS)
    ]
    if not items:
        raise DatasetError(f"{path}: no video clips found")
    return items


VIDEO_IMPORTERS.add(
    "folder",
    VideoImporter(
        name="folder",
        description="<root>/<label>/<clip>.(mp4|webm|mov|avi|mkv|m4v)",
        detect=detect_folder,
        list=list_folder,
    ),
)
VIDEO_IMPORTERS.add(
    "flat",
    VideoImporter(
        name="flat",
        description="<root>/<label>__<name>.<ext> (clips in one folder, label in the name)",
        detect=detect_flat,
        list=list_flat,
    ),
)
