"""The ``gislr`` format: Kaggle "Google Isolated Sign Language Recognition" layout.

``train.csv`` (``path,participant_id,sequence_id,sign``) lists one parquet file per
sequence; each parquet holds rows ``frame,row_id,type,landmark_index,x,y,z`` with
``type`` in ``face/left_hand/pose/right_hand``. Kaggle stores ``frame`` and
``landmark_index`` as int16; other sources (SILFA) as int64: both are accepted.
Parquet is read with pyarrow; NaN (not detected) is kept as it is.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.data.importers._common import normalize_label
from sign2text.data.importers.base import LANDMARK_IMPORTERS, LandmarkImporter, safe_join
from sign2text.data.sample import Sample
from sign2text.errors import DatasetError, DependencyError
from sign2text.landmarks.skeleton import PARTS, empty

log = logging.getLogger(__name__)

CSV_NAME = "train.csv"
CSV_COLUMNS = ("path", "participant_id", "sequence_id", "sign")
PARQUET_COLUMNS = ["frame", "type", "landmark_index", "x", "y", "z"]


def _parquet() -> ModuleType:
    """``pyarrow.parquet``, or a DependencyError saying why it cannot be imported."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise DependencyError(f"reading GISLR parquet files needs pyarrow ({exc})") from None
    module: ModuleType = pq
    return module


def find_csv(path: Path) -> Path:
    """The index CSV: ``path`` itself if it is a file, else ``path/train.csv``."""
    return path if path.is_file() else path / CSV_NAME


def _header(csv_path: Path) -> list[str]:
    try:
        with csv_path.open(newline="", encoding="utf-8") as fh:
            return next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError):
        return []


def detect_gislr(path: Path) -> bool:
    """True if ``path`` is (or holds) a CSV whose header has the GISLR columns."""
    csv_path = find_csv(path)
    if csv_path.suffix.lower() != ".csv" or not csv_path.is_file():
        return False
    return set(CSV_COLUMNS) <= set(_header(csv_path))


def read_rows(csv_path: Path) -> list[dict[str, str]]:
    """The rows of the index CSV; raise naming the file if it is not a GISLR index."""
    try:
        with csv_path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(f"{csv_path}: missing GISLR columns {', '.join(missing)}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{csv_path}: unreadable CSV ({exc})") from None
    for n, row in enumerate(rows, start=2):
        if any(row.get(c) in (None, "") for c in CSV_COLUMNS):
            raise DatasetError(f"{csv_path}: line {n} has an empty field")
    return rows


def read_parquet_landmarks(path: Path) -> NDArray[Any]:
    """The (T, 543, 3) float32 landmarks of one GISLR parquet file, frames in order."""
    pq = _parquet()
    import pyarrow as pa

    try:
        table = pq.read_table(path, columns=PARQUET_COLUMNS)
        types = table.column("type").combine_chunks().dictionary_encode()
        frame = table.column("frame").to_numpy().astype(np.int64)
        index = table.column("landmark_index").to_numpy().astype(np.int64)
        xyz = np.stack(
            [table.column(c).to_numpy(zero_copy_only=False) for c in ("x", "y", "z")], axis=1
        ).astype(np.float32)
    except (pa.ArrowException, OSError, ValueError, KeyError) as exc:
        raise DatasetError(f"{path}: unreadable GISLR parquet ({exc})") from None
    if table.num_rows == 0:
        raise DatasetError(f"{path}: no landmark rows")
    names = [str(n) for n in types.dictionary.to_pylist()]
    unknown = [n for n in names if n not in PARTS]
    if unknown:
        raise DatasetError(f"{path}: unknown landmark type(s) {', '.join(unknown)}")
    type_idx = types.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    starts = np.array([PARTS[n].start for n in names], dtype=np.int64)[type_idx]
    sizes = np.array([PARTS[n].size for n in names], dtype=np.int64)[type_idx]
    if (index < 0).any() or (index >= sizes).any():
        raise DatasetError(f"{path}: landmark_index out of range for its type")
    frames, row_frame = np.unique(frame, return_inverse=True)
    out = empty(len(frames))
    out[row_frame, starts + index] = xyz
    return out


def load_gislr(path: Path) -> list[Sample]:
    """Load a GISLR dataset from ``train.csv`` (or the folder holding it).

    Parquet paths in the CSV are resolved under the CSV's folder and may not leave it.
    Files listed but absent are skipped with a warning; none present is an error.
    """
    csv_path = find_csv(path)
    if not csv_path.is_file():
        raise DatasetError(f"{csv_path}: no GISLR index (train.csv) found")
    root = csv_path.parent
    samples: list[Sample] = []
    missing = 0
    for row in read_rows(csv_path):
        file = safe_join(root, row["path"])
        if not file.is_file():
            missing += 1
            continue
        samples.append(
            Sample(
                landmarks=read_parquet_landmarks(file),
                label=normalize_label(row["sign"]),
                signer=row["participant_id"].strip(),
                source_id=row["path"],
                meta={"sequence_id": row["sequence_id"]},
            )
        )
    if missing:
        log.warning("%s: %d listed parquet files are missing (skipped)", csv_path, missing)
    if not samples:
        raise DatasetError(f"{csv_path}: none of the listed parquet files exists")
    return samples


LANDMARK_IMPORTERS.add(
    "gislr",
    LandmarkImporter(
        name="gislr",
        description="Kaggle GISLR train.csv + parquet (frame,row_id,type,landmark_index,x,y,z)",
        detect=detect_gislr,
        load=load_gislr,
    ),
)
