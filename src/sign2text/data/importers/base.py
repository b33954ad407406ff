"""Importer registries, the video item type, and path-safety helpers.

Landmark importers turn a dataset on disk into :class:`~sign2text.data.sample.Sample`
objects. Video importers list the clips of a video dataset as :class:`VideoItem` objects
(``sign2text extract`` turns those into landmarks). Every importer resolves paths with
:func:`safe_join`, so a path or symlink that leads out of the dataset root is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sign2text.data.sample import Sample
from sign2text.errors import DatasetError, PathEscapeError
from sign2text.registry import Registry


@dataclass(frozen=True)
class VideoItem:
    """One clip of a video dataset."""

    path: Path
    label: str
    signer: str
    source_id: str
    split: str | None = None
    frame_start: int | None = None  # first frame of the sign (inclusive), when known
    frame_end: int | None = None  # last frame (exclusive), when known


@dataclass(frozen=True)
class LandmarkImporter:
    """A landmark dataset format: ``detect(path)`` says whether ``load(path)`` applies."""

    name: str
    description: str
    detect: Callable[[Path], bool]
    load: Callable[[Path], list[Sample]]


@dataclass(frozen=True)
class VideoImporter:
    """A video dataset layout: ``list(path)`` returns its clips."""

    name: str
    description: str
    detect: Callable[[Path], bool]
    list: Callable[[Path], list[VideoItem]]


LANDMARK_IMPORTERS: Registry[LandmarkImporter] = Registry("landmark dataset format")
VIDEO_IMPORTERS: Registry[VideoImporter] = Registry("video dataset layout")


def safe_join(root: Path, *parts: str | Path) -> Path:
    """Join ``parts`` under ``root``; refuse absolute paths, ``..`` and escaping symlinks."""
    base = root.resolve()
    candidate = root.joinpath(*parts)
    for part in parts:
        if Path(part).is_absolute():
            raise PathEscapeError(f"{candidate}: absolute path in a dataset is not allowed")
    resolved = candidate.resolve()
    if resolved != base and base not in resolved.parents:
        raise PathEscapeError(f"{candidate}: points outside the dataset root {root}")
    return candidate


def check_inside(root: Path, path: Path) -> Path:
    """Raise if ``path`` (after resolving symlinks) is outside ``root``."""
    base = root.resolve()
    resolved = path.resolve()
    if resolved != base and base not in resolved.parents:
        raise PathEscapeError(f"{path}: points outside the dataset root {root}")
    return path


def require(condition: bool, message: str) -> None:
    if not condition:
        raise DatasetError(message)
