"""The npz pack format of ``../shared/data`` (read and write).

Keys: ``frames`` float16 (F, 543, 3); ``offsets`` int64 (N+1,); ``labels``, ``signers``,
``sequence_ids`` unicode (N,); optional ``synthetic_suspect`` bool (N,) and ``splits``
unicode (N,). Sequence i is ``frames[offsets[i]:offsets[i+1]]``.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.data.sample import Sample
from sign2text.errors import DatasetError
from sign2text.io.atomic import atomic_write_bytes, npz_bytes
from sign2text.landmarks.skeleton import N_DIMS, N_POINTS

REQUIRED_KEYS = ("frames", "offsets", "labels", "signers", "sequence_ids")


def read_pack(path: str | Path) -> list[Sample]:
    """Load every sequence of a pack. Landmarks are float16 views into one array."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            missing = [k for k in REQUIRED_KEYS if k not in z.files]
            if missing:
                raise DatasetError(f"{p}: not a landmark pack (missing {', '.join(missing)})")
            frames = z["frames"]
            offsets = z["offsets"].astype(np.int64)
            labels = z["labels"]
            signers = z["signers"]
            ids = z["sequence_ids"]
            synth = z["synthetic_suspect"] if "synthetic_suspect" in z.files else None
            splits = z["splits"] if "splits" in z.files else None
    except DatasetError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"{p}: not a readable .npz pack ({exc})") from None
    n = len(labels)
    if frames.ndim != 3 or frames.shape[1:] != (N_POINTS, N_DIMS):
        raise DatasetError(f"{p}: frames have shape {frames.shape}, expected (F, 543, 3)")
    if len(offsets) != n + 1 or len(signers) != n or len(ids) != n:
        raise DatasetError(f"{p}: offsets/labels/signers/sequence_ids lengths disagree")
    if offsets[0] != 0 or offsets[-1] != len(frames) or (np.diff(offsets) < 0).any():
        raise DatasetError(f"{p}: offsets do not partition the frames")
    return [
        Sample(
            landmarks=frames[offsets[i] : offsets[i + 1]],
            label=str(labels[i]),
            signer=str(signers[i]),
            source_id=str(ids[i]),
            split=str(splits[i]) or None if splits is not None else None,
            synthetic=bool(synth[i]) if synth is not None else False,
        )
        for i in range(n)
    ]


def pack_arrays(samples: Sequence[Sample]) -> dict[str, NDArray[Any]]:
    """The arrays of a pack holding ``samples`` (frames stored as float16)."""
    if not samples:
        raise DatasetError("cannot write an empty pack")
    lengths = [s.frames for s in samples]
    offsets = np.zeros(len(samples) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    frames = np.concatenate([s.landmarks for s in samples]).astype(np.float16)
    arrays: dict[str, NDArray[Any]] = {
        "frames": frames,
        "offsets": offsets,
        "labels": np.array([s.label for s in samples], dtype=np.str_),
        "signers": np.array([s.signer for s in samples], dtype=np.str_),
        "sequence_ids": np.array([s.source_id for s in samples], dtype=np.str_),
    }
    if any(s.synthetic for s in samples):
        arrays["synthetic_suspect"] = np.array([s.synthetic for s in samples], dtype=bool)
    if any(s.split for s in samples):
        arrays["splits"] = np.array([s.split or "" for s in samples], dtype=np.str_)
    return arrays


def write_pack(path: str | Path, samples: Sequence[Sample]) -> None:
    """Write samples as a pack, atomically and deterministically."""
    atomic_write_bytes(path, npz_bytes(pack_arrays(samples)))
