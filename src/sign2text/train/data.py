"""Samples -> vocabulary, split and features, without torch.

Used by the trainer and by the evaluator (which must run on NumPy alone for ONNX).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.data.sample import Sample
from sign2text.errors import ConfigError, DatasetError, IntegrityError
from sign2text.features.core import FeatureConfig, compute_features
from sign2text.train.config import DataConfig

log = logging.getLogger(__name__)

Features = tuple[NDArray[Any], NDArray[Any]]


def load_samples(path: str | Path) -> list[Sample]:
    """Samples of a dataset in any format the importers know (a pack ``.npz`` included)."""
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: no such dataset")
    from sign2text.data.importers import load_landmarks

    return load_landmarks(p)


def load_data(cfg: DataConfig) -> list[Sample]:
    """All samples of the config's data paths, in order (before any filtering)."""
    samples: list[Sample] = []
    for path in cfg.resolved_paths():
        samples += load_samples(path)
    return samples


def select_samples(samples: Iterable[Sample], cfg: DataConfig) -> tuple[list[Sample], list[str]]:
    """Filter by ``cfg`` and return (kept samples, sorted vocabulary)."""
    from sign2text.data.select import rename_labels

    samples = rename_labels(samples, cfg.label_map)
    drop_labels = set(cfg.exclude_labels)
    drop_signers = set(cfg.exclude_signers)
    kept = [
        s
        for s in samples
        if s.label not in drop_labels
        and s.signer not in drop_signers
        and not (cfg.real_only and s.synthetic)
    ]
    if cfg.dedupe:
        from sign2text.data.select import drop_conflicting_duplicates

        kept, dropped = drop_conflicting_duplicates(kept)
        log.info("dropped %d duplicate recordings", dropped)
    if cfg.vocabulary_rule and not cfg.labels:
        from sign2text.data.select import VocabularyRule, select_vocabulary

        rule = VocabularyRule(
            min_signers=cfg.min_signers,
            min_per_signer=cfg.min_per_signer,
            include_letters=cfg.include_letters,
        )
        vocab = select_vocabulary(kept, rule)
        kept = [s for s in kept if s.label in set(vocab)]
    elif cfg.labels:
        vocab = sorted(set(cfg.labels))
        present = {s.label for s in kept}
        missing = [lab for lab in vocab if lab not in present]
        if missing:
            raise DatasetError(f"labels not in the data: {', '.join(missing)}")
        kept = [s for s in kept if s.label in set(vocab)]
    else:
        vocab = sorted({s.label for s in kept})
    if len(vocab) < 2:
        raise DatasetError(f"need at least 2 labels to train, found {vocab}")
    return kept, vocab


def make_split(
    samples: Sequence[Sample], cfg: DataConfig
) -> tuple[dict[str, list[int]], dict[str, Any]]:
    """Indices of ``train``/``val``/``test`` and a description of the split.

    The ``signer``, ``random`` and ``file`` protocols use :mod:`sign2text.data.splits`;
    ``signers`` names the held-out people explicitly.
    """
    if cfg.split == "none":
        # Final models: every sample trains; figures come from a separate protocol.
        everyone = sorted({s.signer for s in samples})
        return {"train": list(range(len(samples)))}, {
            "protocol": "none",
            "signers": {"train": everyone},
        }
    if cfg.split == "signers":
        val, test = set(cfg.val_signers), set(cfg.test_signers)
        known = {s.signer for s in samples}
        unknown = sorted((val | test) - known)
        if unknown:
            raise ConfigError(f"signers not in the data: {', '.join(unknown)}")
        parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
        for i, s in enumerate(samples):
            part = "test" if s.signer in test else "val" if s.signer in val else "train"
            parts[part].append(i)
        signers = {k: sorted({samples[i].signer for i in v}) for k, v in parts.items()}
        return parts, {"protocol": "signers", "signers": signers}
    from sign2text.data import splits

    if cfg.split == "folds":
        split = splits.leave_signers_out_folds(samples, cfg.folds, seed=cfg.split_seed)[cfg.fold]
    elif cfg.split == "signer":
        split = splits.make_signer_split(samples, val=cfg.val, test=cfg.test, seed=cfg.split_seed)
    elif cfg.split == "random":
        split = splits.random_split(
            samples, train=1 - cfg.val - cfg.test, val=cfg.val, seed=cfg.split_seed
        )
    else:
        split = splits.load_split(cfg.split_file, samples)
    parts = {k: list(v) for k, v in split.parts.items()}
    return parts, {"protocol": split.protocol, "seed": split.seed, "signers": split.signers}


def training_samples(cfg: DataConfig) -> list[Sample]:
    """The training part of a config's data: loaded, selected and split as ``train`` does."""
    samples, _ = select_samples(load_data(cfg), cfg)
    parts, _ = make_split(samples, cfg)
    return [samples[i] for i in parts["train"]]


def warn_missing_face(samples: Sequence[Sample], cfg: FeatureConfig) -> bool:
    """Log a warning (and return True) when the features read face points but no sample
    has a face: those feature columns would be all zero (a source without faces, or a
    pack extracted with ``--no-face``)."""
    from sign2text.data.sample import has_face
    from sign2text.features import reads_face

    if not reads_face(cfg) or not samples or has_face(samples):
        return False
    log.warning(
        "the features read face points (subsets %s) but none of the %d samples has a face: "
        "those features are all zero (was the data extracted with --no-face?)",
        ", ".join(cfg.subsets),
        len(samples),
    )
    return True


def compute_all(
    samples: Sequence[Sample],
    cfg: FeatureConfig,
    progress: Callable[[Iterable[Sample]], Iterable[Sample]] | None = None,
) -> list[Features]:
    """Features of every sample (no augmentation)."""
    it: Iterable[Sample] = progress(samples) if progress else samples
    return [compute_features(s.landmarks, cfg) for s in it]


def _cache_key(samples: Sequence[Sample], cfg: FeatureConfig) -> str:
    h = hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True).encode())
    for s in samples:
        h.update(s.source_id.encode())
        h.update(np.ascontiguousarray(s.landmarks).tobytes())
    return h.hexdigest()[:24]


def cached_features(
    samples: Sequence[Sample],
    cfg: FeatureConfig,
    cache_dir: str | Path | None = None,
    progress: Callable[[Iterable[Sample]], Iterable[Sample]] | None = None,
) -> list[Features]:
    """:func:`compute_all`, reusing an on-disk cache (checksummed) when a dir is given.

    The cache key hashes the feature config and every sample's landmarks, so a change
    in either misses the cache instead of reusing stale features.
    """
    if not cache_dir:
        return compute_all(samples, cfg, progress)
    from sign2text.io.atomic import load_npz_checked, save_npz_checked

    path = Path(cache_dir) / f"features-{_cache_key(samples, cfg)}.npz"
    if path.exists():
        try:
            z = load_npz_checked(path)
            offsets = z["offsets"]
            return [(z["feats"][a:b], z["mask"][a:b]) for a, b in itertools.pairwise(offsets)]
        except IntegrityError:
            log.warning("feature cache %s is corrupt; recomputing", path)
    feats = compute_all(samples, cfg, progress)
    offsets = np.zeros(len(feats) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(f) for f, _ in feats])
    save_npz_checked(
        path,
        {
            "feats": np.concatenate([f for f, _ in feats]),
            "mask": np.concatenate([m for _, m in feats]),
            "offsets": offsets,
        },
    )
    log.info("wrote feature cache %s", path)
    return feats


def pad_batch(items: Sequence[Features]) -> tuple[NDArray[Any], NDArray[Any]]:
    """Stack clips into (B, T, F) features and a (B, T) mask, padding to the longest."""
    if not items:
        raise ValueError("empty batch")
    t = max(len(f) for f, _ in items)
    dim = items[0][0].shape[1]
    feats = np.zeros((len(items), t, dim), dtype=np.float32)
    mask = np.zeros((len(items), t), dtype=bool)
    for i, (f, m) in enumerate(items):
        feats[i, : len(f)] = f
        mask[i, : len(m)] = m
    return feats, mask
