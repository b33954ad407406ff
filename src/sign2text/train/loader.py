"""Torch datasets and collation for training.

Augmentation is drawn per epoch and per clip from a generator seeded by
``(seed, epoch, index)``, so a run is reproducible whatever the number of DataLoader
workers and whatever the order in which workers pick clips.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch.utils.data import Dataset

from sign2text.data.sample import Sample
from sign2text.features.augment import Augmenter
from sign2text.features.core import FeatureConfig, compute_features
from sign2text.train.data import Features, pad_batch

Item = tuple[NDArray[Any], NDArray[Any], int]


class ClipDataset(Dataset[Item]):
    """Clips as (features, mask, class index).

    Without an augmenter, precomputed features are served; with one, each item's raw
    landmarks are augmented and turned into features on the fly.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        targets: Sequence[int],
        features: Sequence[Features],
        feature_cfg: FeatureConfig,
        augmenter: Augmenter | None = None,
        seed: int = 0,
    ) -> None:
        self.samples = samples
        self.targets = list(targets)
        self.features = features
        self.feature_cfg = feature_cfg
        self.augmenter = augmenter if augmenter is not None and augmenter.steps else None
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the augmentation draw of ``epoch``."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Item:
        if self.augmenter is None:
            feats, mask = self.features[index]
        else:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            lm = self.augmenter(self.samples[index].landmarks, rng)
            feats, mask = compute_features(lm, self.feature_cfg)
        return feats, mask, self.targets[index]


def collate(batch: Sequence[Item]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad to the longest clip: features (B, T, F), mask (B, T), targets (B,)."""
    feats, mask = pad_batch([(f, m) for f, m, _ in batch])
    targets = torch.tensor([t for _, _, t in batch], dtype=torch.long)
    return torch.from_numpy(feats), torch.from_numpy(mask), targets
