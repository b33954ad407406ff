"""Optimizer, scheduler, loss and weight-averaging registries (``create_x(name, ...)``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from sign2text.registry import Registry
from sign2text.train.config import AverageConfig, LossConfig, OptimConfig, ScheduleConfig

OptimizerFactory = Callable[[list[dict[str, Any]], OptimConfig], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer, ScheduleConfig, int, int], Any]
CriterionFactory = Callable[[LossConfig], nn.Module]
AveragerFactory = Callable[[nn.Module, AverageConfig], AveragedModel | None]

OPTIMIZERS: Registry[OptimizerFactory] = Registry("optimizer")
SCHEDULERS: Registry[SchedulerFactory] = Registry("scheduler")
CRITERIONS: Registry[CriterionFactory] = Registry("loss")
AVERAGERS: Registry[AveragerFactory] = Registry("weight averaging")

# Schedulers stepped once per optimizer step; the others once per epoch on the
# validation loss.
PER_STEP = frozenset({"cosine_warmup", "onecycle", "constant"})


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """No weight decay on biases and norm weights (1-D parameters), as in nanoGPT."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim < 2]
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


@OPTIMIZERS.register("adamw")
def _adamw(params: list[dict[str, Any]], cfg: OptimConfig) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=cfg.lr)


@OPTIMIZERS.register("radam")
def _radam(params: list[dict[str, Any]], cfg: OptimConfig) -> torch.optim.Optimizer:
    return torch.optim.RAdam(params, lr=cfg.lr, decoupled_weight_decay=True)


@OPTIMIZERS.register("sgd")
def _sgd(params: list[dict[str, Any]], cfg: OptimConfig) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0)


def create_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """The optimizer ``cfg.name`` over ``model``'s parameters."""
    return OPTIMIZERS.get(cfg.name)(_param_groups(model, cfg.weight_decay), cfg)


@SCHEDULERS.register("cosine_warmup")
def _cosine_warmup(
    opt: torch.optim.Optimizer, cfg: ScheduleConfig, steps_per_epoch: int, epochs: int
) -> Any:
    total = max(1, steps_per_epoch * epochs)
    warmup = min(total - 1, round(cfg.warmup_epochs * steps_per_epoch))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        cos = 0.5 * (1 + math.cos(math.pi * progress))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cos

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


@SCHEDULERS.register("onecycle")
def _onecycle(
    opt: torch.optim.Optimizer, cfg: ScheduleConfig, steps_per_epoch: int, epochs: int
) -> Any:
    max_lr = [g["lr"] for g in opt.param_groups]
    return torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=max_lr, total_steps=max(2, steps_per_epoch * epochs), pct_start=cfg.pct_start
    )


@SCHEDULERS.register("plateau")
def _plateau(
    opt: torch.optim.Optimizer, cfg: ScheduleConfig, steps_per_epoch: int, epochs: int
) -> Any:
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=cfg.factor, patience=cfg.patience
    )


@SCHEDULERS.register("constant")
def _constant(
    opt: torch.optim.Optimizer, cfg: ScheduleConfig, steps_per_epoch: int, epochs: int
) -> Any:
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)


def create_scheduler(
    opt: torch.optim.Optimizer, cfg: ScheduleConfig, steps_per_epoch: int, epochs: int
) -> Any:
    """The LR scheduler ``cfg.name``; see :data:`PER_STEP` for when to step it."""
    return SCHEDULERS.get(cfg.name)(opt, cfg, steps_per_epoch, epochs)


class FocalLoss(nn.Module):
    """Multi-class focal loss (Lin et al. 2017) with optional label smoothing."""

    def __init__(self, gamma: float = 2.0, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.gamma = gamma
        self.label_smoothing = label_smoothing

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        logp = F.log_softmax(logits, dim=-1)
        ce = F.nll_loss(logp, target, reduction="none")
        if self.label_smoothing > 0:
            smooth = -logp.mean(dim=-1)
            ce = (1 - self.label_smoothing) * ce + self.label_smoothing * smooth
        pt = logp.gather(1, target.unsqueeze(1)).squeeze(1).exp()
        return ((1 - pt) ** self.gamma * ce).mean()


@CRITERIONS.register("cross_entropy")
def _cross_entropy(cfg: LossConfig) -> nn.Module:
    return nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)


@CRITERIONS.register("focal")
def _focal(cfg: LossConfig) -> nn.Module:
    return FocalLoss(cfg.gamma, cfg.label_smoothing)


def create_criterion(cfg: LossConfig) -> nn.Module:
    """The loss ``cfg.name``."""
    return CRITERIONS.get(cfg.name)(cfg)


# Buffers (BatchNorm running statistics) are averaged with the weights, so the averaged
# model needs no extra pass over the training data.
@AVERAGERS.register("none")
def _no_average(model: nn.Module, cfg: AverageConfig) -> AveragedModel | None:
    return None


@AVERAGERS.register("uniform")
def _uniform(model: nn.Module, cfg: AverageConfig) -> AveragedModel | None:
    return AveragedModel(model, use_buffers=True)


@AVERAGERS.register("ema")
def _ema(model: nn.Module, cfg: AverageConfig) -> AveragedModel | None:
    ema = get_ema_multi_avg_fn(cfg.decay)  # type: ignore[no-untyped-call]
    return AveragedModel(model, multi_avg_fn=ema, use_buffers=True)


def create_averager(model: nn.Module, cfg: AverageConfig) -> AveragedModel | None:
    """The weight averager ``cfg.name`` of ``model`` (``None`` for ``none``)."""
    return AVERAGERS.get(cfg.name)(model, cfg)
