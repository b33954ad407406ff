"""The ``mp_data`` format: tutorial ``MP_Data/<word>/<sequence>/<frame>.npy`` folders.

Each ``.npy`` holds one frame as a flat float vector written by the widespread
"action detection" tutorial. Four vector layouts occur (MediaPipe order within parts):

=======  ===========================================================================
length   content
=======  ===========================================================================
1662     pose 33x(x,y,z,visibility) + face 468x3 + left hand 21x3 + right hand 21x3
258      pose 33x4 + left hand 21x3 + right hand 21x3
170      11 pose points x4 (pose indices 0,11-16,23-26) + left hand + right hand
126      left hand 21x3 + right hand 21x3
=======  ===========================================================================

The tutorial code writes zeros for a part that was not detected, so a part whose values
are all zero in a frame becomes NaN; pose visibility is dropped. Files are read with
``allow_pickle=False``: a pickled ``.npy`` is refused, never executed.
"""

from __future__ import annotations

import logging
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.data.importers._common import (
    NONE_LABEL,
    check_name,
    files_in,
    normalize_label,
    subdirs,
)
from sign2text.data.importers.base import LANDMARK_IMPORTERS, LandmarkImporter, check_inside
from sign2text.data.sample import UNKNOWN_SIGNER, Sample, has_face
from sign2text.errors import DatasetError
from sign2text.io.atomic import atomic_dir
from sign2text.landmarks.skeleton import FACE, LEFT_HAND, POSE, RIGHT_HAND, Part, empty

log = logging.getLogger(__name__)

ROOT_NAME = "MP_Data"
NPY = frozenset({".npy"})

# Pose indices kept by the 170-value layout (nose, shoulders, elbows, wrists, hips, knees).
POSE_11 = (0, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26)


@dataclass(frozen=True)
class _Block:
    """One part's slice of a frame vector."""

    part: Part
    points: tuple[int, ...]  # indices within the part
    stride: int  # 4 for pose (x, y, z, visibility), 3 otherwise

    @property
    def size(self) -> int:
        return len(self.points) * self.stride


def _full(part: Part, stride: int = 3) -> _Block:
    return _Block(part, tuple(range(part.size)), stride)


LAYOUTS: dict[int, tuple[_Block, ...]] = {
    1662: (_full(POSE, 4), _full(FACE), _full(LEFT_HAND), _full(RIGHT_HAND)),
    258: (_full(POSE, 4), _full(LEFT_HAND), _full(RIGHT_HAND)),
    170: (_Block(POSE, POSE_11, 4), _full(LEFT_HAND), _full(RIGHT_HAND)),
    126: (_full(LEFT_HAND), _full(RIGHT_HAND)),
}


def find_root(path: Path) -> Path:
    """The folder holding the word folders: ``path/MP_Data`` if it exists, else ``path``."""
    inner = path / ROOT_NAME
    return inner if inner.is_dir() else path


def _plain_dirs(folder: Path) -> list[Path]:
    """Visible, non-symlinked sub-folders (detection never follows links)."""
    try:
        return sorted(
            p for p in folder.iterdir() if p.name[0] != "." and not p.is_symlink() and p.is_dir()
        )
    except OSError:
        return []


def detect_mp_data(path: Path) -> bool:
    """True if some ``<word>/<sequence>/`` folder under the root holds integer-named ``.npy``."""
    if not path.is_dir():
        return False
    root = find_root(path)
    for word in _plain_dirs(root)[:50]:
        for seq in _plain_dirs(word)[:3]:
            if any(f.stem.isdigit() for f in seq.glob("*.npy")):
                return True
    return False


def read_frame_vector(path: Path) -> NDArray[Any]:
    """Load one frame ``.npy`` as a flat float64 vector; raise naming the file if unusable."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path}: not a readable .npy frame ({exc})") from None
    if not isinstance(arr, np.ndarray):
        arr.close()
        raise DatasetError(f"{path}: is an .npz archive, expected one .npy frame vector")
    if arr.dtype.kind not in "fiub":
        raise DatasetError(f"{path}: frame vector has dtype {arr.dtype}, expected numbers")
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1 or arr.size not in LAYOUTS:
        valid = ", ".join(str(n) for n in sorted(LAYOUTS))
        raise DatasetError(f"{path}: frame vector has shape {arr.shape}; expected one of {valid}")
    return arr.astype(np.float64, copy=False)


def vector_to_frame(vec: NDArray[Any], out: NDArray[Any]) -> None:
    """Scatter one frame vector into ``out`` (543, 3), leaving undetected parts as they are."""
    offset = 0
    for block in LAYOUTS[vec.size]:
        raw = vec[offset : offset + block.size]
        offset += block.size
        if not raw.any():  # the tutorial wrote zeros: the part was not detected
            continue
        xyz = raw.reshape(len(block.points), block.stride)[:, :3]
        out[block.part.start + np.asarray(block.points)] = xyz


def frame_to_vector(frame: NDArray[Any], length: int) -> NDArray[Any]:
    """The tutorial vector of one (543, 3) frame: NaN parts become zeros, visibility 1."""
    parts: list[NDArray[Any]] = []
    for block in LAYOUTS[length]:
        xyz = frame[block.part.start + np.asarray(block.points)].astype(np.float64)
        missing = np.isnan(xyz).any(axis=1)
        xyz = np.where(missing[:, None], 0.0, xyz)
        if block.stride == 4:
            vis = np.where(missing, 0.0, 1.0)[:, None]
            xyz = np.concatenate([xyz, vis], axis=1)
        parts.append(xyz.reshape(-1))
    return np.concatenate(parts)


def read_sequence(root: Path, folder: Path) -> NDArray[Any] | None:
    """The (T, 543, 3) float32 landmarks of one sequence folder; None if it has no frames."""
    files = [f for f in files_in(root, folder, NPY) if f.stem.isdigit()]
    if not files:
        return None
    out = empty(len(files))
    length: int | None = None
    for i, f in enumerate(files):
        vec = read_frame_vector(f)
        if length is None:
            length = vec.size
        elif vec.size != length:
            raise DatasetError(
                f"{f}: frame vector has {vec.size} values, other frames of the sequence {length}"
            )
        vector_to_frame(vec, out[i])
    return out


def load_mp_data(path: Path, signer: str = UNKNOWN_SIGNER) -> list[Sample]:
    """Load every sequence of an ``MP_Data`` tree.

    ``path`` is the ``MP_Data`` folder or its parent. ``signer`` is given to every
    sample (the layout does not record who signed). ``source_id`` is ``<word>/<seq>``.
    """
    if not path.is_dir():
        raise DatasetError(f"{path}: not a folder (expected MP_Data/<word>/<sequence>/<n>.npy)")
    root = find_root(path)
    samples: list[Sample] = []
    empty_folders = 0
    for word in subdirs(root, root):
        label = normalize_label(word.name)
        for seq in subdirs(root, word):
            landmarks = read_sequence(root, seq)
            if landmarks is None:
                empty_folders += 1
                continue
            samples.append(
                Sample(
                    landmarks=landmarks,
                    label=label,
                    signer=signer,
                    source_id=f"{word.name}/{seq.name}",
                )
            )
    if empty_folders:
        log.warning("%s: skipped %d sequence folders without frame files", root, empty_folders)
    if not samples:
        raise DatasetError(f"{root}: no <word>/<sequence>/<n>.npy frames found")
    return samples


def best_layout(samples: Sequence[Sample]) -> int:
    """1662 if any sample has a face, else 258 (pose + hands)."""
    return 1662 if has_face(samples) else 258


def write_mp_data(dest: Path, samples: Sequence[Sample], layout: int | None = None) -> Path:
    """Write samples as ``dest/MP_Data/<label>/<n>/<frame>.npy`` (float64 vectors).

    ``layout`` is the vector length (1662, 258, 170 or 126; default: 1662 when some
    sample has a face, else 258). The label ``_none_`` is written as ``-``, the tutorial's
    name for it. ``dest`` must not exist or be an empty folder; the tree is written to a
    temporary sibling and renamed, so a failed export leaves nothing behind. Returns the
    ``MP_Data`` folder.
    """
    if not samples:
        raise DatasetError("no samples to write")
    length = best_layout(samples) if layout is None else layout
    if length not in LAYOUTS:
        valid = ", ".join(str(n) for n in sorted(LAYOUTS))
        raise DatasetError(f"unknown MP_Data vector layout {length}; valid: {valid}")
    with atomic_dir(dest) as tmp:
        counters: Counter[str] = Counter()
        for s in samples:
            word = "-" if s.label == NONE_LABEL else check_name(s.label, "label")
            folder = tmp / ROOT_NAME / word / str(counters[word])
            counters[word] += 1
            folder.mkdir(parents=True)
            frames = np.asarray(s.landmarks, dtype=np.float32)
            for i, frame in enumerate(frames):
                np.save(folder / f"{i}.npy", frame_to_vector(frame, length), allow_pickle=False)
    return check_inside(dest, dest / ROOT_NAME)


LANDMARK_IMPORTERS.add(
    "mp_data",
    LandmarkImporter(
        name="mp_data",
        description="tutorial MP_Data/<word>/<sequence>/<frame>.npy (1662, 258, 170 or 126 values)",
        detect=detect_mp_data,
        load=load_mp_data,
    ),
)
