"""The one sample type every importer returns."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.landmarks.skeleton import FACE

UNKNOWN_SIGNER = ""


@dataclass(frozen=True)
class Sample:
    """One recorded sign.

    ``landmarks`` is (T, 543, 3) in the GISLR order (see
    :mod:`sign2text.landmarks.skeleton`), float16 or float32, NaN where a part was not
    detected. ``signer`` is ``""`` when the source does not say who signed.
    ``source_id`` identifies the recording in its source (a path or id).
    """

    landmarks: NDArray[Any]
    label: str
    signer: str
    source_id: str
    split: str | None = None
    synthetic: bool = False
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def frames(self) -> int:
        return int(self.landmarks.shape[0])


def label_counts(samples: Iterable[Sample]) -> Counter[str]:
    return Counter(s.label for s in samples)


def signer_counts(samples: Iterable[Sample]) -> Counter[str]:
    return Counter(s.signer for s in samples)


def has_face(samples: Iterable[Sample]) -> bool:
    """Whether any frame of any sample has a face-mesh point (sources such as the
    tutorial packs, or packs extracted with ``--no-face``, have none)."""
    return any(not np.isnan(s.landmarks[:, FACE.start : FACE.stop, 0]).all() for s in samples)


def vocabulary(samples: Sequence[Sample]) -> list[str]:
    """Sorted distinct labels."""
    return sorted({s.label for s in samples})
