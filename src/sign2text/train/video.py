"""Training RGB models on video datasets: the landmark :class:`Trainer` with clip inputs.

Everything but the inputs is shared with landmark training (config, split protocols,
vocabulary rule, optimizer/scheduler/criterion registries, early stopping, resume,
checkpoints, TensorBoard, curves, val/test reports). Differences:

- ``data.paths`` are video datasets, listed by the ``VIDEO_IMPORTERS`` (``data.layout``
  or detected); signers come from the importer (WLASL has them; folders do not);
- every clip is decoded once into the checksummed clip cache (``data.cache_dir``,
  default ``<run dir>/clip_cache``) before the first epoch;
- ``[[augment]]`` entries name clip augmentations
  (:data:`~sign2text.data.clips.CLIP_AUGMENTATIONS`);
- ``twooutnet`` adds its pose-regression loss (``model.args.pose_weight`` x masked MSE
  against MediaPipe landmarks of the same frames), logged as ``train_pose_loss`` /
  ``val_pose_loss``;
- checkpoints carry ``"input": {"kind": "rgb", ...ClipConfig}``, which export copies
  into the ONNX metadata, so the runtime knows the preprocessing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sign2text.data.clips import ClipCache, VideoClipDataset, build_clip_augmenter, clip_samples
from sign2text.data.sample import Sample
from sign2text.errors import ConfigError, ModelError
from sign2text.models.rgb import TwoOutNet, input_kind
from sign2text.train.config import DataConfig, TrainConfig
from sign2text.train.trainer import Progress, Trainer, _unwrap

log = logging.getLogger(__name__)

# Clips decoded per dataset that are also kept in memory (uint8) between epochs.
_MEMORY_CLIPS = 2000


def is_video_config(cfg: TrainConfig) -> bool:
    """True when the run trains on video clips (``data.kind``, else the model's kind)."""
    rgb = input_kind(cfg.model.name) == "rgb"
    if cfg.data.kind == "auto":
        return rgb
    video = cfg.data.kind == "video"
    if video != rgb:
        raise ConfigError(
            f"model {cfg.model.name!r} takes {'RGB clips' if rgb else 'landmarks'} but "
            f"data.kind = {cfg.data.kind!r}"
        )
    return video


def load_clip_data(cfg: DataConfig) -> list[Sample]:
    """Clips of every data path (video datasets) as samples."""
    samples: list[Sample] = []
    for path in cfg.resolved_paths():
        samples += clip_samples(path, cfg.layout or None)
    return samples


def collate_clips(
    batch: Sequence[tuple[Any, Any, int, Any]],
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Clips (B, T, 3, S, S), mask (B, T), targets (B,), pose targets (B, T, 75, 2)."""
    clips = torch.from_numpy(np.stack([b[0] for b in batch]))
    mask = torch.from_numpy(np.stack([b[1] for b in batch]))
    target = torch.tensor([b[2] for b in batch], dtype=torch.long)
    pose = torch.from_numpy(np.stack([b[3] for b in batch]))
    return clips, mask, target, pose


class VideoTrainer(Trainer):
    """:class:`Trainer` for RGB models (see the module docs)."""

    def __init__(
        self,
        cfg: TrainConfig,
        run_dir: str | Path,
        *,
        samples: Sequence[Sample] | None = None,
        resume: bool = False,
        progress: Progress | None = None,
    ) -> None:
        if input_kind(cfg.model.name) != "rgb":
            raise ConfigError(f"model {cfg.model.name!r} is not an RGB model")
        if cfg.data.dedupe:
            raise ConfigError("data.dedupe compares landmarks; it does not apply to video data")
        if cfg.model.name == "twooutnet" and cfg.mixup.alpha > 0:
            raise ConfigError("mixup does not apply to twooutnet (its pose targets are not mixed)")
        if samples is None:
            samples = load_clip_data(cfg.data)
        super().__init__(cfg, run_dir, samples=samples, resume=resume, progress=progress)
        self.twoout = cfg.model.name == "twooutnet"
        if self.twoout and self.dist.world > 1:
            raise ConfigError("twooutnet trains on one device (its pose loss bypasses DDP)")
        self.clip_cfg = dataclasses.replace(cfg.clips, pose=self.twoout)
        cache_dir = cfg.data.cache_dir or str(self.run_dir / "clip_cache")
        self.cache = ClipCache(cache_dir, self.clip_cfg)
        self._pose: dict[bool, list[float]] = {True: [], False: []}

    def _input_args(self) -> dict[str, Any]:
        # RGB clips: 3 channels at the configured size and frame count.
        return {"size": self.cfg.clips.size, "frames": self.cfg.clips.frames, "in_dim": 3}

    def _features(self) -> list[Any]:
        """Decode every clip into the cache once (no per-sample features)."""
        used = sorted({i for idx in self.parts.values() for i in idx})
        for i in self._bar(used, desc="decode clips", total=len(used)):
            self.cache.load(self.samples[i])
        self.cache.close()
        log.info("clip cache %s: %d clips decoded", self.cache.folder, self.cache.decodes)
        return []

    collate_fn = staticmethod(collate_clips)

    def _dataset(
        self, samples: list[Sample], idx: Sequence[int], features: Sequence[Any], train: bool
    ) -> Any:
        return VideoClipDataset(
            samples,
            [self.index[s.label] for s in samples],
            self.cache,
            build_clip_augmenter(self.cfg.augment) if train else None,
            train=train,
            seed=self.cfg.seed,
            keep_in_memory=len(self.samples) <= _MEMORY_CLIPS and self.cfg.num_workers == 0,
        )

    def _forward_loss(
        self, model: nn.Module, batch: Sequence[torch.Tensor], criterion: nn.Module
    ) -> tuple[torch.Tensor, Any, torch.Tensor]:
        inner = _unwrap(model)
        if not isinstance(inner, TwoOutNet):
            return super()._forward_loss(model, batch, criterion)
        clips, mask, target, pose = (t.to(self.device) for t in batch)
        logits, pred = inner.forward_both(clips, mask)
        reg = inner.pose_loss(pred, pose, mask)
        self._pose[inner.training].append(float(reg.detach()))
        return logits, criterion(logits, target) + inner.pose_weight * reg, target

    def _train_epoch(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        self._pose[True].clear()
        row = super()._train_epoch(*args, **kwargs)
        if self._pose[True]:
            row["train_pose_loss"] = float(np.mean(self._pose[True]))
        return row

    def _validate(self, *args: Any, **kwargs: Any) -> Any:
        self._pose[False].clear()
        values, cm = super()._validate(*args, **kwargs)
        if self._pose[False]:
            values["pose_loss"] = float(np.mean(self._pose[False]))
        return values, cm

    def _save(
        self, path: Path, model: nn.Module, metrics: dict[str, float], extra: dict[str, Any]
    ) -> None:
        inp = {"kind": "rgb", **dataclasses.replace(self.clip_cfg, pose=False).to_dict()}
        super()._save(path, model, metrics, {**extra, "input": inp})

    def _part_evaluator(self) -> Callable[[Sequence[Sample], str], Any]:
        from sign2text.train.video_eval import evaluate_clips, load_rgb_predictor

        loaded = load_rgb_predictor(self.run_dir / "best.pt", device=str(self.device))
        if loaded is None:
            raise ModelError(f"{self.run_dir / 'best.pt'} is not an RGB checkpoint")
        predictor, clip_cfg = loaded

        def run(samples: Sequence[Sample], part: str) -> Any:
            return evaluate_clips(
                predictor,
                samples,
                clip_cfg,
                cache_dir=self.cache.folder,
                out_dir=self.run_dir / part,
                meta=self._report_meta(part),
            )

        return run
