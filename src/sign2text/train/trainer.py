"""The training loop: CPU, CUDA, and multi-GPU DDP under ``torchrun``.

Run dir layout::

    config.json  split.json  best.pt(+.sha256)  last.pt(+.sha256)  history.json
    curves.png  tb/ (TensorBoard)  val/ test/ (evaluation reports of the best model)

Features of every sample are computed once and kept in memory (optionally cached on
disk); with augmentation, training clips are augmented on their landmarks each epoch
and featurized again. Only rank 0 writes files. ``resume=True`` continues from
``last.pt``, which stores optimizer, scheduler, epoch, early-stopping and RNG state.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import DataLoader, DistributedSampler, Sampler, WeightedRandomSampler

from sign2text.data.sample import Sample
from sign2text.data.splits import SPLIT_FORMAT
from sign2text.errors import ConfigError, ModelError
from sign2text.features.augment import build_augmenter
from sign2text.features.core import feature_dim
from sign2text.io.atomic import atomic_write_text
from sign2text.models import create_model, read_checkpoint, save_checkpoint
from sign2text.train import data as tdata
from sign2text.train.config import TrainConfig
from sign2text.train.loader import ClipDataset, collate
from sign2text.train.optim import (
    PER_STEP,
    create_averager,
    create_criterion,
    create_optimizer,
    create_scheduler,
)

log = logging.getLogger(__name__)

Progress = Callable[..., Iterable[Any]]


def sampling_weights(samples: Sequence[Sample], *, balance_signers: bool = False) -> list[float]:
    """Draw weights for balanced sampling: a label's total weight is sqrt(its count), so
    huge classes do not drown the rest; with ``balance_signers`` that weight is split
    equally among the label's signers, else equally among its recordings."""
    per_label = Counter(s.label for s in samples)
    if not balance_signers:
        return [1.0 / per_label[s.label] ** 0.5 for s in samples]
    per_signer = Counter((s.label, s.signer) for s in samples)
    signers: dict[str, set[str]] = {}
    for s in samples:
        signers.setdefault(s.label, set()).add(s.signer)
    return [
        per_label[s.label] ** 0.5 / (len(signers[s.label]) * per_signer[s.label, s.signer])
        for s in samples
    ]


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced."""

    run_dir: Path
    best_epoch: int
    best_metric: float
    monitored: str
    epochs_run: int
    history: list[dict[str, float]]
    test_metrics: dict[str, float]


@dataclass(frozen=True)
class _Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _setup_distributed(device_name: str) -> tuple[_Dist, torch.device]:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    want_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    if device_name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device = 'cuda' but CUDA is not available")
    if world <= 1:
        return _Dist(), torch.device("cuda" if want_cuda else "cpu")
    import torch.distributed as dist

    local = int(os.environ.get("LOCAL_RANK", "0"))
    if want_cuda:
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if want_cuda else "gloo")
    device = torch.device(f"cuda:{local}" if want_cuda else "cpu")
    return _Dist(dist.get_rank(), dist.get_world_size(), local), device


def seed_everything(seed: int, deterministic: bool) -> None:
    """Seed Python, NumPy and torch; ask torch for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        # cuBLAS needs this for deterministic matmuls (see torch "Reproducibility").
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1])}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((3, tuple(state["python"]), None))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class _Metrics:
    """torchmetrics collection for validation (synced across DDP ranks by torchmetrics)."""

    def __init__(self, num_classes: int, device: torch.device) -> None:
        from torchmetrics import MetricCollection
        from torchmetrics.classification import (
            MulticlassAccuracy,
            MulticlassConfusionMatrix,
            MulticlassF1Score,
            MulticlassMatthewsCorrCoef,
        )

        top5 = min(5, num_classes)
        self.collection = MetricCollection(
            {
                "accuracy": MulticlassAccuracy(num_classes, average="micro"),
                "top5": MulticlassAccuracy(num_classes, top_k=top5, average="micro"),
                "macro_f1": MulticlassF1Score(num_classes, average="macro"),
                "mcc": MulticlassMatthewsCorrCoef(num_classes),
            }
        ).to(device)
        self.confusion = MulticlassConfusionMatrix(num_classes).to(device)

    def update(self, logits: torch.Tensor, target: torch.Tensor) -> None:
        self.collection.update(logits, target)
        self.confusion.update(logits, target)

    def compute(self) -> tuple[dict[str, float], NDArray[Any]]:
        values = {k: float(v) for k, v in self.collection.compute().items()}
        cm = self.confusion.compute().cpu().numpy()
        self.collection.reset()
        self.confusion.reset()
        return values, cm


# Settings a resumed run may change: how long it runs, and on what hardware.
RESUMABLE_CHANGES = frozenset(
    {"epochs", "patience", "device", "num_threads", "num_workers", "data.cache_dir"}
)


def _config_changes(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, old, new) for every leaf that differs between two config dicts."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(old) | set(new)):
            out += _config_changes(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [] if old == new else [(prefix.rstrip("."), old, new)]


def _unwrap(model: nn.Module) -> nn.Module:
    inner = getattr(model, "module", model)
    assert isinstance(inner, nn.Module)
    return inner


class Trainer:
    """One training run. Build with a config and a run dir, then call :meth:`fit`."""

    def __init__(
        self,
        cfg: TrainConfig,
        run_dir: str | Path,
        *,
        samples: Sequence[Sample] | None = None,
        resume: bool = False,
        progress: Progress | None = None,
    ) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.resume = resume
        self.progress = progress
        self.dist, self.device = _setup_distributed(cfg.device)
        if cfg.num_threads > 0:
            torch.set_num_threads(cfg.num_threads)
        seed_everything(cfg.seed, cfg.deterministic)
        if samples is None:
            samples = tdata.load_data(cfg.data)
        self.samples, self.labels = tdata.select_samples(samples, cfg.data)
        self.parts, self.split_info = tdata.make_split(self.samples, cfg.data)
        if not self.parts.get("train"):
            raise ConfigError("the split has no training samples")
        self.index = {lab: i for i, lab in enumerate(self.labels)}
        self.model_args: dict[str, Any] = {
            **dict(cfg.model.args),
            **self._input_args(),
            "num_classes": len(self.labels),
        }
        self.in_dim = int(self.model_args["in_dim"])

    def _input_args(self) -> dict[str, Any]:
        """The model arguments fixed by the input: the feature width for landmark models."""
        return {"in_dim": feature_dim(self.cfg.features)}

    # ----------------------------------------------------------------- helpers
    def _bar(self, it: Iterable[Any], **kw: Any) -> Iterable[Any]:
        if self.progress is None or not self.dist.main:
            return it
        return self.progress(it, **kw)

    def _part(self, name: str) -> list[Sample]:
        return [self.samples[i] for i in self.parts.get(name, [])]

    # How a batch is assembled from dataset items (the video trainer stacks clips).
    collate_fn: Callable[..., Any] = staticmethod(collate)

    def _dataset(
        self, samples: list[Sample], idx: Sequence[int], features: Sequence[Any], train: bool
    ) -> Any:
        """The torch dataset of one part (``idx`` into ``self.samples`` and ``features``)."""
        return ClipDataset(
            samples,
            [self.index[s.label] for s in samples],
            [features[i] for i in idx],
            self.cfg.features,
            build_augmenter(self.cfg.augment) if train else None,
            seed=self.cfg.seed,
        )

    def _loader(self, name: str, features: Sequence[Any], train: bool) -> DataLoader[Any]:
        idx = self.parts.get(name, [])
        samples = [self.samples[i] for i in idx]
        ds = self._dataset(samples, idx, features, train)
        sampler: Sampler[Any] | None = None
        gen = torch.Generator().manual_seed(self.cfg.seed)
        if train and self.dist.world > 1:
            sampler = DistributedSampler(ds, shuffle=True, seed=self.cfg.seed, drop_last=True)
        elif train and self.cfg.balanced_sampling:
            weights = sampling_weights(samples, balance_signers=self.cfg.balance_signers)
            # Shares ``gen``, which is reseeded per epoch, so a resumed run matches.
            sampler = WeightedRandomSampler(weights, len(samples), generator=gen)
        return DataLoader(
            ds,
            batch_size=self.cfg.batch_size,
            shuffle=train and sampler is None,
            sampler=sampler,
            collate_fn=self.collate_fn,
            num_workers=self.cfg.num_workers,
            generator=gen,
            drop_last=False,
        )

    def _save(
        self, path: Path, model: nn.Module, metrics: dict[str, float], extra: dict[str, Any]
    ) -> None:
        save_checkpoint(
            path,
            _unwrap(model),
            model_name=self.cfg.model.name,
            model_args=self.model_args,
            labels=self.labels,
            features=self.cfg.features.to_dict(),
            split=self.split_info,
            metrics=metrics,
            train_config=self.cfg.to_dict(),
            extra=extra,
        )

    def _write_json(self, name: str, data: Any) -> None:
        atomic_write_text(self.run_dir / name, json.dumps(data, indent=1, default=str) + "\n")

    def _features(self) -> list[Any]:
        """Per-sample model inputs (landmark features); the video trainer overrides it."""
        tdata.warn_missing_face(self.samples, self.cfg.features)
        return tdata.cached_features(
            self.samples,
            self.cfg.features,
            self.cfg.data.cache_dir or None,
            progress=lambda it: self._bar(it, desc="features", total=len(self.samples)),
        )

    def _forward_loss(
        self, model: nn.Module, batch: Sequence[torch.Tensor], criterion: nn.Module
    ) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """(logits, loss, targets) of one batch on the device."""
        feats, mask, target = (t.to(self.device) for t in batch[:3])
        logits = model(feats, mask)
        return logits, criterion(logits, target), target

    def _mixup_loss(
        self,
        model: nn.Module,
        batch: Sequence[torch.Tensor],
        criterion: nn.Module,
        epoch: int,
        step: int,
    ) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """Like ``_forward_loss`` on a mixup of the batch with a permutation of itself.

        The draw depends on (seed, rank, epoch, step) only, so a resumed run mixes the
        same pairs as an uninterrupted one."""
        feats, mask, target = (t.to(self.device) for t in batch[:3])
        rng = np.random.default_rng([self.cfg.seed, self.dist.rank, epoch, step])
        mix = self.cfg.mixup
        if len(target) < 2 or rng.random() >= mix.p:
            return self._forward_loss(model, batch, criterion)
        lam = float(rng.beta(mix.alpha, mix.alpha))
        perm = torch.from_numpy(rng.permutation(len(target))).to(self.device)
        logits = model(lam * feats + (1 - lam) * feats[perm], mask | mask[perm])
        loss = lam * criterion(logits, target) + (1 - lam) * criterion(logits, target[perm])
        return logits, loss, target

    # -------------------------------------------------------------- the loop
    @torch.no_grad()
    def _validate(
        self, model: nn.Module, loader: DataLoader[Any], criterion: nn.Module
    ) -> tuple[dict[str, float], NDArray[Any]]:
        model.eval()
        meter = _Metrics(len(self.labels), self.device)
        total, count = 0.0, 0
        for batch in loader:
            logits, loss, target = self._forward_loss(model, batch, criterion)
            total += float(loss) * len(target)
            count += len(target)
            meter.update(logits, target)
        values, cm = meter.compute()
        values["loss"] = total / max(count, 1)
        return values, cm

    def fit(self) -> TrainResult:
        """Train until ``epochs`` or early stopping; write checkpoints and reports."""
        cfg, main = self.cfg, self.dist.main
        # Checked before anything is written into the run folder.
        resumed = self._resume_checkpoint() if self.resume else None
        # Bad model arguments fail here, before config.json and split.json are written.
        model: nn.Module = create_model(cfg.model.name, **self.model_args).to(self.device)
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._write_json("config.json", cfg.to_dict())
            self._write_json(
                "split.json",
                {
                    "format": SPLIT_FORMAT,  # readable by `sign2text evaluate --split-file`
                    **self.split_info,
                    "parts": {
                        k: [self.samples[i].source_id for i in v] for k, v in self.parts.items()
                    },
                },
            )
        features = self._features()
        train_loader = self._loader("train", features, train=True)
        val_loader = self._loader("val", features, train=False) if self.parts.get("val") else None
        steps = len(train_loader)
        if cfg.max_steps_per_epoch:
            steps = min(steps, cfg.max_steps_per_epoch)

        n_params = sum(p.numel() for p in model.parameters())
        log.info(
            "model %s: %d parameters, %d classes, in_dim %d",
            cfg.model.name,
            n_params,
            len(self.labels),
            self.in_dim,
        )
        optimizer = create_optimizer(model, cfg.optim)
        scheduler = create_scheduler(optimizer, cfg.schedule, steps, cfg.epochs)
        criterion = create_criterion(cfg.loss)
        averaged = create_averager(model, cfg.average)
        average_from = int(cfg.average.start * cfg.epochs * steps)
        state = {"epoch": 0, "best": float("nan"), "best_epoch": -1, "bad_epochs": 0}
        history: list[dict[str, float]] = []
        if resumed is not None:
            state, history = self._restore(resumed, model, optimizer, scheduler, averaged)
        if self.dist.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            model = DistributedDataParallel(model, device_ids=ids)

        writer = None
        if main:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(self.run_dir / "tb"))
        higher = cfg.monitor != "loss"
        try:
            # A run that stopped early and is resumed goes straight to its reports.
            stopped = int(state["bad_epochs"]) >= cfg.patience
            for epoch in range(int(state["epoch"]), cfg.epochs if not stopped else 0):
                row = self._train_epoch(
                    model,
                    train_loader,
                    optimizer,
                    scheduler,
                    criterion,
                    epoch,
                    steps,
                    averaged,
                    average_from,
                )
                # The run delivers the averaged weights once averaging has begun.
                delivered = (
                    averaged.module if averaged is not None and int(averaged.n_averaged) else model
                )
                if val_loader is not None:
                    values, _ = self._validate(delivered, val_loader, criterion)
                    row.update({f"val_{k}": v for k, v in values.items()})
                    current = values[cfg.monitor]
                else:
                    current = row["train_loss"] if not higher else row["train_accuracy"]
                if cfg.schedule.name not in PER_STEP:
                    scheduler.step(row.get("val_loss", row["train_loss"]))
                history.append(row)
                best = float(state["best"])
                improved = np.isnan(best) or (current > best if higher else current < best)
                if improved:
                    state.update(best=current, best_epoch=epoch, bad_epochs=0)
                else:
                    state["bad_epochs"] = int(state["bad_epochs"]) + 1
                state["epoch"] = epoch + 1
                if main:
                    self._log_epoch(writer, row, epoch)
                    metrics = {k: v for k, v in row.items() if k.startswith("val_")}
                    if improved:
                        self._save(self.run_dir / "best.pt", delivered, metrics, {"epoch": epoch})
                    resume = {
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "state": dict(state),
                        "history": history,
                        "rng": _rng_state(),
                    }
                    if averaged is not None:
                        # last.pt holds the delivered weights; training resumes from these.
                        resume["model"] = _unwrap(model).state_dict()
                        resume["averaged"] = averaged.state_dict()
                    self._save(
                        self.run_dir / "last.pt",
                        delivered,
                        metrics,
                        {"epoch": epoch, "resume": resume},
                    )
                    self._write_json("history.json", history)
                log.info("epoch %d: %s", epoch, ", ".join(f"{k}={v:.4g}" for k, v in row.items()))
                if int(state["bad_epochs"]) >= cfg.patience:
                    log.info(
                        "early stopping after epoch %d (best epoch %d)", epoch, state["best_epoch"]
                    )
                    break
            test_metrics: dict[str, float] = {}
            if main:
                # Again here: a run stopped between last.pt and history.json of its final
                # (or early-stopping) epoch resumes straight to this point, with the
                # history last.pt carries.
                self._write_json("history.json", history)
                test_metrics = self._finish(writer, criterion, features, history)
        finally:
            if writer is not None:
                writer.close()
            if self.dist.world > 1:
                import torch.distributed as dist

                if dist.is_initialized():
                    dist.destroy_process_group()
        monitored = (
            f"val_{cfg.monitor}"
            if val_loader is not None
            else ("train_accuracy" if higher else "train_loss")
        )
        return TrainResult(
            self.run_dir,
            int(state["best_epoch"]),
            float(state["best"]),
            monitored,
            int(state["epoch"]),
            history,
            test_metrics,
        )

    def _train_epoch(
        self,
        model: nn.Module,
        loader: DataLoader[Any],
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
        criterion: nn.Module,
        epoch: int,
        steps: int,
        averaged: AveragedModel | None = None,
        average_from: int = 0,
    ) -> dict[str, float]:
        model.train()
        loader.dataset.set_epoch(epoch)  # type: ignore[attr-defined]
        if isinstance(loader.sampler, DistributedSampler):
            loader.sampler.set_epoch(epoch)
        elif loader.generator is not None:
            # The shuffle order depends on (seed, epoch) only, so a resumed run sees the
            # same batches as an uninterrupted one.
            loader.generator.manual_seed(self.cfg.seed * 100_003 + epoch)
        total, correct, count = 0.0, 0, 0
        start = time.perf_counter()
        bar = self._bar(
            loader, desc=f"epoch {epoch + 1}/{self.cfg.epochs}", total=steps, leave=False
        )
        for step, batch in enumerate(bar):
            if step >= steps:
                break
            if self.cfg.mixup.alpha > 0:
                logits, loss, target = self._mixup_loss(model, batch, criterion, epoch, step)
            else:
                logits, loss, target = self._forward_loss(model, batch, criterion)
            if not torch.isfinite(loss):
                raise ModelError(f"loss is {float(loss)} at epoch {epoch}, step {step}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.cfg.optim.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), self.cfg.optim.grad_clip)
            optimizer.step()
            if self.cfg.schedule.name in PER_STEP:
                scheduler.step()
            if averaged is not None and epoch * steps + step >= average_from:
                averaged.update_parameters(_unwrap(model))
            total += float(loss.detach()) * len(target)
            correct += int((logits.argmax(1) == target).sum())
            count += len(target)
        seconds = time.perf_counter() - start
        return {
            "epoch": float(epoch + 1),
            "train_loss": total / max(count, 1),
            "train_accuracy": correct / max(count, 1),
            "lr": float(optimizer.param_groups[0]["lr"]),
            "step_ms": 1000 * seconds / max(1, min(steps, len(loader))),
        }

    def _log_epoch(self, writer: Any, row: dict[str, float], epoch: int) -> None:
        for key, value in row.items():
            if key != "epoch":
                writer.add_scalar(key.replace("_", "/", 1), value, epoch + 1)

    def _resume_checkpoint(self) -> dict[str, Any]:
        """``last.pt``, checked: ``--resume`` continues that run with its own settings;
        only how long and where it runs may change. Another split, learning rate, recipe
        or data would silently mix two runs (and a changed split would test on clips the
        first epochs trained on)."""
        path = self.run_dir / "last.pt"
        if not path.exists():
            raise ConfigError(f"--resume: {path} does not exist")
        ckpt = read_checkpoint(path)
        old = ckpt.get("train_config")
        if not isinstance(old, dict):
            return ckpt  # a checkpoint without its config: _restore's model check remains
        changed = [
            f"{key} ({before!r} -> {after!r})"
            for key, before, after in _config_changes(old, self.cfg.to_dict())
            if key not in RESUMABLE_CHANGES
        ]
        if changed:
            raise ConfigError(
                f"--resume: {path} was trained with other settings: {', '.join(changed[:4])}"
                f"{' ...' if len(changed) > 4 else ''}; resume with the run's own "
                f"{self.run_dir / 'config.json'}, or train into a new folder"
            )
        return ckpt

    def _restore(
        self,
        ckpt: dict[str, Any],
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: Any,
        averaged: AveragedModel | None = None,
    ) -> tuple[dict[str, Any], list[dict[str, float]]]:
        path = self.run_dir / "last.pt"
        if "resume" not in ckpt:
            raise ModelError(f"{path}: no resume state")
        if ckpt["model"]["args"] != self.model_args or list(ckpt["labels"]) != self.labels:
            raise ConfigError(f"--resume: {path} was trained with another model or vocabulary")
        res = ckpt["resume"]
        if ("averaged" in res) != (averaged is not None):
            raise ConfigError(f"--resume: {path} was trained with another average setting")
        model.load_state_dict(res.get("model", ckpt["state_dict"]))
        if averaged is not None:
            averaged.load_state_dict(res["averaged"])
        optimizer.load_state_dict(res["optimizer"])
        scheduler.load_state_dict(res["scheduler"])
        _set_rng_state(res["rng"])
        log.info("resumed from %s at epoch %d", path, res["state"]["epoch"])
        return dict(res["state"]), list(res["history"])

    def _finish(
        self,
        writer: Any,
        criterion: nn.Module,
        features: Sequence[Any],
        history: list[dict[str, float]],
    ) -> dict[str, float]:
        """Curves, confusion matrices and evaluation reports of the best model."""
        from sign2text.train.plots import confusion_figure, save_curves_png

        save_curves_png(history, self.run_dir / "curves.png")
        evaluate_part = self._part_evaluator()
        test_metrics: dict[str, float] = {}
        for part in ("val", "test"):
            samples = self._part(part)
            if not samples:
                continue
            report = evaluate_part(samples, part)
            writer.add_figure(
                f"{part}/confusion",
                confusion_figure(np.asarray(report.confusion), report.labels, part),
            )
            if part == "test":
                test_metrics = {
                    "top1": report.top1,
                    "top5": report.top5,
                    "macro_f1": report.macro_f1,
                    "mcc": report.mcc,
                }
        return test_metrics

    def _report_meta(self, part: str) -> dict[str, str]:
        return {"split": str(self.split_info.get("protocol")), "part": part}

    def _part_evaluator(self) -> Callable[[Sequence[Sample], str], Any]:
        """The best checkpoint as ``(samples, part) -> report`` (written to run/part/)."""
        from sign2text.train.evaluate import evaluate, torch_predictor

        predictor = torch_predictor(self.run_dir / "best.pt", device=str(self.device))

        def run(samples: Sequence[Sample], part: str) -> Any:
            return evaluate(
                predictor, samples, out_dir=self.run_dir / part, meta=self._report_meta(part)
            )

        return run


def train(
    cfg: TrainConfig,
    run_dir: str | Path,
    *,
    samples: Sequence[Sample] | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> TrainResult:
    """Train a model as ``cfg`` says into ``run_dir`` (see :class:`Trainer`)."""
    from sign2text.train.video import is_video_config

    if is_video_config(cfg):
        from sign2text.train.video import VideoTrainer

        return VideoTrainer(cfg, run_dir, samples=samples, resume=resume, progress=progress).fit()
    return Trainer(cfg, run_dir, samples=samples, resume=resume, progress=progress).fit()
