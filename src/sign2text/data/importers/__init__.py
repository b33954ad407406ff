"""Dataset importers, one registry for landmark datasets and one for video datasets.

Importing this package registers the built-in formats:

- landmarks (:data:`LANDMARK_IMPORTERS`): ``pack``, ``mp_data``, ``gislr``, ``pose``;
- videos (:data:`VIDEO_IMPORTERS`): ``wlasl``, ``folder``, ``flat``.

:func:`load_landmarks` and :func:`list_videos` pick the format with each importer's
``detect`` when none is given.
"""

from __future__ import annotations

from pathlib import Path

from sign2text.data.importers import gislr, mp_data, npz_pack, pose_files, video_folder, wlasl
from sign2text.data.importers.base import (
    LANDMARK_IMPORTERS,
    VIDEO_IMPORTERS,
    LandmarkImporter,
    VideoImporter,
    VideoItem,
)
from sign2text.data.sample import Sample
from sign2text.errors import ConfigError, DatasetError

__all__ = [
    "LANDMARK_IMPORTERS",
    "VIDEO_IMPORTERS",
    "LandmarkImporter",
    "VideoImporter",
    "VideoItem",
    "detect_format",
    "detect_video_layout",
    "gislr",
    "list_videos",
    "load_landmarks",
    "mp_data",
    "npz_pack",
    "pose_files",
    "video_folder",
    "wlasl",
]

# Detection order: the most specific layouts first.
LANDMARK_ORDER = ("pack", "gislr", "pose", "mp_data")
VIDEO_ORDER = ("wlasl", "folder", "flat")


def _ordered(order: tuple[str, ...], names: list[str]) -> list[str]:
    return [n for n in order if n in names] + [n for n in names if n not in order]


def detect_format(path: str | Path) -> str | None:
    """Name of the landmark format of ``path``, or None if no importer recognises it."""
    p = Path(path)
    for name in _ordered(LANDMARK_ORDER, LANDMARK_IMPORTERS.names()):
        if LANDMARK_IMPORTERS.get(name).detect(p):
            return name
    return None


def detect_video_layout(path: str | Path) -> str | None:
    """Name of the video layout of ``path``, or None if no video importer recognises it."""
    p = Path(path)
    for name in _ordered(VIDEO_ORDER, VIDEO_IMPORTERS.names()):
        if VIDEO_IMPORTERS.get(name).detect(p):
            return name
    return None


def _landmark_importer(name: str) -> LandmarkImporter:
    try:
        return LANDMARK_IMPORTERS.get(name)
    except ConfigError as exc:
        raise DatasetError(str(exc)) from None


def _video_importer(name: str) -> VideoImporter:
    try:
        return VIDEO_IMPORTERS.get(name)
    except ConfigError as exc:
        raise DatasetError(str(exc)) from None


def load_landmarks(path: str | Path, format: str | None = None) -> list[Sample]:
    """Load a landmark dataset as samples, detecting its format unless ``format`` is given.

    Raises :class:`~sign2text.errors.DatasetError` listing the known formats when the
    layout is not recognised or ``format`` is unknown.
    """
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: no such file or folder")
    name = format or detect_format(p)
    if name is None:
        known = ", ".join(LANDMARK_IMPORTERS.names())
        raise DatasetError(f"{p}: unknown landmark dataset layout; known formats: {known}")
    return _landmark_importer(name).load(p)


def list_videos(path: str | Path, layout: str | None = None) -> list[VideoItem]:
    """List the clips of a video dataset, detecting its layout unless ``layout`` is given."""
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: no such file or folder")
    name = layout or detect_video_layout(p)
    if name is None:
        known = ", ".join(VIDEO_IMPORTERS.names())
        raise DatasetError(f"{p}: unknown video dataset layout; known layouts: {known}")
    return _video_importer(name).list(p)
