"""Splits that keep people apart: signer-independent train/val/test and signer folds.

Every split is deterministic from its seed and is saved to a JSON file that later steps
(train, evaluate, export) reuse, so the test signers stay untouched while tuning.
A split file stores ``source_id`` lists (robust to reordering of the dataset) plus the
protocol, the seed and the signers of each part.

When a dataset has no signer ids, :func:`random_split` gives the seed project's 70/20/10
split; its figures must be labelled as random-split figures.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from sign2text.data.sample import UNKNOWN_SIGNER, Sample
from sign2text.errors import ConfigError, DatasetError
from sign2text.io.atomic import atomic_write_text

SPLIT_FORMAT = "sign2text-split/1"

_T = TypeVar("_T")


@dataclass(frozen=True)
class Split:
    """Named parts (``train``, ``val``, ``test``) as lists of sample indices."""

    parts: dict[str, list[int]]
    protocol: str
    seed: int
    signers: dict[str, list[str]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> list[int]:
        if name not in self.parts:
            raise ConfigError(f"split has no part {name!r}; parts: {', '.join(self.parts)}")
        return self.parts[name]

    def take(self, samples: Sequence[_T], name: str) -> list[_T]:
        """The samples of part ``name`` (``samples`` is the list the split indexes)."""
        return [samples[i] for i in self[name]]

    def to_json(self, samples: Sequence[Sample]) -> dict[str, Any]:
        return {
            "format": SPLIT_FORMAT,
            "protocol": self.protocol,
            "seed": self.seed,
            "signers": self.signers,
            "parts": {k: [samples[i].source_id for i in v] for k, v in self.parts.items()},
        }


def _by_signer(samples: Sequence[Sample]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        groups[s.signer].append(i)
    return dict(groups)


def has_signers(samples: Sequence[Sample]) -> bool:
    """True when at least two distinct, known signers are present."""
    known = {s.signer for s in samples if s.signer != UNKNOWN_SIGNER}
    return len(known) >= 2


def make_signer_split(
    samples: Sequence[Sample], val: float = 0.15, test: float = 0.15, seed: int = 0
) -> Split:
    """Signer-independent train/val/test: no signer is in two parts.

    Signers are shuffled by ``seed`` and given to test, then val, until each part holds
    about its fraction of the sequences; the rest is train. Each held-out part gets at
    least one signer when there are three or more.
    """
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ConfigError(f"bad split fractions val={val} test={test}: each in [0, 1), sum < 1")
    groups = _by_signer(samples)
    if UNKNOWN_SIGNER in groups or len(groups) < 2:
        raise DatasetError(
            "a signer-independent split needs known signer ids for every sample "
            "(use the random protocol for datasets without them)"
        )
    rng = np.random.default_rng(seed)
    order = sorted(groups)
    rng.shuffle(order)
    total = len(samples)
    parts: dict[str, list[str]] = {"test": [], "val": [], "train": []}
    want = {"test": test * total, "val": val * total}
    counts = {"test": 0, "val": 0}
    for signer in order:
        n = len(groups[signer])
        for part in ("test", "val"):
            remaining = len(order) - sum(len(v) for v in parts.values())
            needs_one = not parts[part] and want[part] > 0 and remaining > 1
            if needs_one or (counts[part] + n / 2 <= want[part] and remaining > 1):
                parts[part].append(signer)
                counts[part] += n
                break
        else:
            parts["train"].append(signer)
    if not parts["train"]:
        raise DatasetError("too few signers for a train/val/test split")
    return Split(
        parts={k: sorted(i for s in v for i in groups[s]) for k, v in parts.items()},
        protocol="signer",
        seed=seed,
        signers={k: sorted(v) for k, v in parts.items()},
    )


def leave_signers_out_folds(samples: Sequence[Sample], n_folds: int, seed: int = 0) -> list[Split]:
    """K folds over signers: each signer is in exactly one fold's ``test``.

    Signers are placed largest first into the fold that (a) does not already hold a
    signer of one of their labels whose other signers are all in that fold — so each
    label keeps at least one training signer where possible — and (b) has the fewest
    sequences. With ``n_folds`` equal to the number of signers this is leave-one-
    signer-out. Each fold's ``train`` is everyone else; there is no ``val`` part
    (cross-validation runs train with a fixed schedule).
    """
    groups = _by_signer(samples)
    if UNKNOWN_SIGNER in groups:
        raise DatasetError("signer folds need known signer ids for every sample")
    if len(groups) < 2:
        raise DatasetError(
            f"signer folds need at least 2 signers; the data has {len(groups)}"
            " (use a random split for single-signer data)"
        )
    if not 2 <= n_folds <= len(groups):
        raise ConfigError(f"n_folds must be in 2..{len(groups)} (signers), got {n_folds}")
    labels_of = {s: Counter(samples[i].label for i in idx) for s, idx in groups.items()}
    signers_of_label: dict[str, set[str]] = defaultdict(set)
    for s, c in labels_of.items():
        for lab in c:
            signers_of_label[lab].add(s)
    rng = np.random.default_rng(seed)
    order = sorted(groups, key=lambda s: (-len(groups[s]), s))
    # Shuffle ties deterministically so equal-sized signers do not always pair up.
    keys = rng.random(len(order))
    order = [s for _, s in sorted(zip(keys, order, strict=True), key=lambda p: -len(groups[p[1]]))]
    folds: list[list[str]] = [[] for _ in range(n_folds)]
    sizes = [0] * n_folds

    def conflict(fold: list[str], signer: str) -> int:
        members = set(fold) | {signer}
        return sum(1 for lab in labels_of[signer] if signers_of_label[lab] <= members)

    for signer in order:
        best = min(range(n_folds), key=lambda f: (conflict(folds[f], signer), sizes[f], f))
        folds[best].append(signer)
        sizes[best] += len(groups[signer])
    out = []
    for k, fold in enumerate(folds):
        test_idx = sorted(i for s in fold for i in groups[s])
        train_signers = sorted(s for s in groups if s not in fold)
        train_idx = sorted(i for s in train_signers for i in groups[s])
        out.append(
            Split(
                parts={"train": train_idx, "test": test_idx},
                protocol=f"signer-folds-{n_folds}/{k}",
                seed=seed,
                signers={"train": train_signers, "test": sorted(fold)},
            )
        )
    return out


def random_split(
    samples: Sequence[Sample],
    train: float = 0.7,
    val: float = 0.2,
    seed: int = 0,
    stratify: bool = True,
) -> Split:
    """The seed project's random 70/20/10 split (stratified by label by default).

    Random splits put the same person in train and test: use them only for datasets
    without signer ids, and label their figures as random-split figures.
    """
    if not 0 < train < 1 or not 0 <= val < 1 or train + val > 1:
        raise ConfigError(f"bad split fractions train={train} val={val}")
    rng = np.random.default_rng(seed)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        groups[s.label if stratify else ""].append(i)
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for key in sorted(groups):
        idx = np.array(groups[key])
        rng.shuffle(idx)
        n_train = round(train * len(idx))
        n_val = round(val * len(idx))
        parts["train"] += idx[:n_train].tolist()
        parts["val"] += idx[n_train : n_train + n_val].tolist()
        parts["test"] += idx[n_train + n_val :].tolist()
    return Split(parts={k: sorted(v) for k, v in parts.items()}, protocol="random", seed=seed)


def save_split(path: str | Path, split: Split, samples: Sequence[Sample]) -> None:
    """Write a split as JSON (atomically). An existing file is replaced only when it is
    a split file itself: a dataset, or anything else, given as the output is kept."""
    p = Path(path)
    if p.exists() and not _is_split_file(p):
        raise DatasetError(f"{p}: exists and is not a split file; not overwritten")
    if not split.parts.get("train"):
        raise ConfigError("the split has no training samples; lower val/test")
    atomic_write_text(p, json.dumps(split.to_json(samples), indent=1) + "\n")


def _is_split_file(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(1 << 20)
        data = json.loads(head)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == SPLIT_FORMAT


def load_split(path: str | Path, samples: Sequence[Sample]) -> Split:
    """Read a split file and map its source ids back to indices of ``samples``."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{p}: not a readable split file ({exc})") from None
    # Training runs written before runs carried the format tag have the same layout.
    legacy_run = isinstance(data, dict) and "format" not in data and "protocol" in data
    if not isinstance(data, dict) or (data.get("format") != SPLIT_FORMAT and not legacy_run):
        raise DatasetError(f"{p}: not a {SPLIT_FORMAT} file")
    if not isinstance(data.get("parts"), dict):
        raise DatasetError(f"{p}: split file has no parts")
    index: dict[str, int] = {}
    for i, s in enumerate(samples):
        if s.source_id in index:
            raise DatasetError(f"{p}: dataset has duplicate source id {s.source_id!r}")
        index[s.source_id] = i
    parts: dict[str, list[int]] = {}
    for name, ids in data["parts"].items():
        missing = [sid for sid in ids if sid not in index]
        if missing:
            raise DatasetError(
                f"{p}: {len(missing)} ids of part {name!r} are not in the dataset "
                f"(first: {missing[0]!r})"
            )
        parts[name] = sorted(index[sid] for sid in ids)
    return Split(
        parts=parts,
        protocol=str(data.get("protocol", "")),
        seed=int(data.get("seed", 0)),
        signers={k: list(v) for k, v in data.get("signers", {}).items()},
    )
