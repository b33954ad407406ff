"""Choosing what to train on: vocabulary rules, signer filters, de-duplication.

The default model's vocabulary rule (issue "Recognizer"): every *word* with enough
real sequences from at least two signers. Here "enough" is at least
``min_per_signer`` sequences from each of ``min_signers`` signers; single letters
(fingerspelling) are a different task and are left out; synthetic sequences never count.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.data.sample import UNKNOWN_SIGNER, Sample

NONE_LABEL = "_none_"


@dataclass(frozen=True)
class VocabularyRule:
    min_signers: int = 2
    min_per_signer: int = 10
    include_letters: bool = False
    include_none: bool = True


def is_letter(label: str) -> bool:
    return len(label) == 1 and label.isalpha()


def select_vocabulary(samples: Sequence[Sample], rule: VocabularyRule) -> list[str]:
    """Labels that satisfy ``rule`` (sorted)."""
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for s in samples:
        if s.synthetic or s.signer == UNKNOWN_SIGNER:
            continue
        per[s.label][s.signer] += 1
    out = []
    for label, signers in per.items():
        if is_letter(label) and not rule.include_letters:
            continue
        if label == NONE_LABEL and not rule.include_none:
            continue
        if sum(1 for n in signers.values() if n >= rule.min_per_signer) >= rule.min_signers:
            out.append(label)
    return sorted(out)


def check_label_map(mapping: Any, where: str = "label map") -> dict[str, str]:
    """``mapping`` as a dict of old -> new label; a ConfigError unless every key and value
    is a non-empty string and no new label is itself renamed (no chains)."""
    from sign2text.errors import ConfigError

    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{where} must be a table of old = new labels, got {mapping!r}")
    for old, new in mapping.items():
        if not (isinstance(old, str) and old and isinstance(new, str) and new):
            raise ConfigError(f"{where}: labels must be non-empty strings, got {old!r} = {new!r}")
    chained = sorted(new for new in mapping.values() if new in mapping and mapping[new] != new)
    if chained:
        raise ConfigError(f"{where}: {', '.join(chained)} is renamed and a rename target")
    return dict(mapping)


def rename_labels(samples: Iterable[Sample], mapping: Mapping[str, str]) -> list[Sample]:
    """The samples with each label in ``mapping`` replaced by its new name."""
    if not mapping:
        return list(samples)
    return [replace(s, label=mapping[s.label]) if s.label in mapping else s for s in samples]


def exclude_signers(samples: Iterable[Sample], signers: Iterable[str]) -> list[Sample]:
    drop = set(signers)
    return [s for s in samples if s.signer not in drop]


def keep_labels(samples: Iterable[Sample], labels: Iterable[str]) -> list[Sample]:
    keep = set(labels)
    return [s for s in samples if s.label in keep]


def drop_real_only(samples: Iterable[Sample]) -> list[Sample]:
    """Only real recordings (synthetic copies removed)."""
    return [s for s in samples if not s.synthetic]


def _digest(landmarks: NDArray[Any]) -> str:
    return hashlib.sha1(np.ascontiguousarray(landmarks).tobytes()).hexdigest()


def drop_conflicting_duplicates(samples: Sequence[Sample]) -> tuple[list[Sample], int]:
    """Remove byte-identical recordings that carry different labels (all copies), and
    keep one of identical recordings with the same label. Returns (kept, dropped)."""
    by_hash: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        by_hash[_digest(s.landmarks)].append(i)
    keep: list[int] = []
    for idx in by_hash.values():
        labels = {samples[i].label for i in idx}
        if len(labels) == 1:
            keep.append(idx[0])
    keep.sort()
    return [samples[i] for i in keep], len(samples) - len(keep)
