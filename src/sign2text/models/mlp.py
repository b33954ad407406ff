"""Per-frame MLP with masked mean + max pooling: the simplest baseline."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sign2text.models.base import SignClassifier
from sign2text.models.layers import masked_max, masked_mean
from sign2text.models.registry import MODELS


class FrameMLP(SignClassifier):
    """``depth`` x (linear, layer norm, GELU, dropout) per frame, then pooling."""

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        hidden: int = 256,
        depth: int = 2,
        dropout: float = 0.1,
        head_dropout: float = 0.3,
    ) -> None:
        super().__init__(2 * hidden, num_classes, head_dropout)
        layers: list[nn.Module] = []
        width = in_dim
        for _ in range(depth):
            layers += [
                nn.Linear(width, hidden),
                nn.LayerNorm(hidden),
                nn.GELU(),
                nn.Dropout(dropout),
            ]
            width = hidden
        self.frames = nn.Sequential(*layers)

    def embed(self, features: Tensor, mask: Tensor) -> Tensor:
        x = self.frames(features)
        return torch.cat([masked_mean(x, mask), masked_max(x, mask)], dim=-1)


@MODELS.register("mlp")
def mlp(in_dim: int, num_classes: int, **args: int | float) -> FrameMLP:
    """Per-frame MLP baseline (default hidden 256, depth 2)."""
    return FrameMLP(in_dim, num_classes, **args)  # type: ignore[arg-type]
