"""Helpers shared by the importers: label normalisation and safe directory walking.

Walking never follows a symlink out of the dataset root: every entry found is checked
with :func:`~sign2text.data.importers.base.check_inside` before it is used, so a link
to ``/etc`` inside a dataset raises :class:`~sign2text.errors.PathEscapeError`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sign2text.data.importers.base import check_inside
from sign2text.errors import DatasetError

NONE_LABEL = "_none_"

# Folder names that tutorial datasets use for "no sign" (see ../shared/data/README.md).
NO_SIGN_NAMES = frozenset(
    {
        "-",
        "_",
        "_none_",
        "none",
        "noaction",
        "no action",
        "no_action",
        "undefined",
        "idle",
        "no hand detected",
        "no hands detected",
    }
)

VIDEO_EXTENSIONS = frozenset({".mp4", ".webm", ".mov", ".avi", ".mkv", ".m4v"})


def normalize_label(raw: str) -> str:
    """Map a raw folder name or gloss to a Sign2Text label.

    Lower-case; the no-sign names (``-``, ``_``, ``none``, ...) become ``_none_``;
    apostrophes are removed; runs of spaces and underscores become ``-``
    (``Thank You`` -> ``thank-you``).
    """
    s = raw.strip().lower()
    if s in NO_SIGN_NAMES:
        return NONE_LABEL
    s = s.replace("'", "").replace("\u2019", "")
    s = re.sub(r"[\s_]+", "-", s)
    if not s:
        raise DatasetError(f"empty label {raw!r}")
    return s


def natural_key(name: str) -> tuple[int, int | str]:
    """Sort key putting integer names first, in numeric order, then the others."""
    return (0, int(name)) if name.isdigit() else (1, name)


def subdirs(root: Path, folder: Path) -> list[Path]:
    """Visible sub-folders of ``folder`` in natural order, each checked to be inside ``root``.

    A symlinked folder is followed only if it resolves inside ``root``.
    """
    out: list[Path] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: natural_key(e.name))
    except OSError as exc:
        raise DatasetError(f"{folder}: cannot list folder ({exc.strerror})") from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_symlink():
            check_inside(root, path)
        if path.is_dir():
            out.append(path)
    return out


def files_in(root: Path, folder: Path, suffixes: frozenset[str]) -> list[Path]:
    """Visible files of ``folder`` whose lower-cased suffix is in ``suffixes``, natural order.

    Each file is checked to resolve inside ``root`` (a symlink out raises).
    """
    out: list[Path] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: natural_key(Path(e.name).stem))
    except OSError as exc:
        raise DatasetError(f"{folder}: cannot list folder ({exc.strerror})") from None
    for entry in entries:
        if entry.name.startswith(".") or Path(entry.name).suffix.lower() not in suffixes:
            continue
        path = check_inside(root, Path(entry.path))
        if path.is_file():
            out.append(path)
    return out


def walk_files(root: Path, suffixes: frozenset[str]) -> list[Path]:
    """All files under ``root`` with one of ``suffixes``, sorted, without leaving ``root``.

    ``os.walk`` does not descend into symlinked folders; such a folder (and any file)
    that resolves outside ``root`` raises :class:`~sign2text.errors.PathEscapeError`.
    """
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for d in dirnames:
            link = Path(dirpath, d)
            if link.is_symlink():
                check_inside(root, link)
        for name in sorted(filenames):
            if name.startswith(".") or Path(name).suffix.lower() not in suffixes:
                continue
            found.append(check_inside(root, Path(dirpath, name)))
    return found


def check_name(name: str, what: str) -> str:
    """Refuse a label or id that cannot be used as a single file or folder name."""
    if not name or name in {".", ".."} or "/" in name or "\\" in name or "\x00" in name:
        raise DatasetError(f"{what} {name!r} cannot be used as a file name")
    return name
