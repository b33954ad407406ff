"""The ``pack`` format: a Sign2Text ``.npz`` landmark pack (see :mod:`sign2text.data.pack`)."""

from __future__ import annotations

from pathlib import Path

from sign2text.data.importers.base import LANDMARK_IMPORTERS, LandmarkImporter
from sign2text.data.pack import read_pack
from sign2text.data.sample import Sample
from sign2text.errors import DatasetError


def detect_pack(path: Path) -> bool:
    """A pack is a file ending in ``.npz``."""
    return path.is_file() and path.suffix.lower() == ".npz"


def load_pack(path: Path) -> list[Sample]:
    """Read every sequence of the pack at ``path``."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such pack file")
    return read_pack(path)


LANDMARK_IMPORTERS.add(
    "pack",
    LandmarkImporter(
        name="pack",
        description="Sign2Text landmark pack (.npz: frames, offsets, labels, signers, ids)",
        detect=detect_pack,
        load=load_pack,
    ),
)
