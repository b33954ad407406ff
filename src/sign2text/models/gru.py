"""Bidirectional GRU baseline with masked mean pooling.

The backward direction runs over each clip reversed within its own length (up to its
last valid frame), not over the padded tensor, so trailing padding cannot leak into
it. The reversal is a gather, which the ONNX exporter keeps dynamic in time.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sign2text.models.base import SignClassifier
from sign2text.models.layers import masked_mean
from sign2text.models.registry import MODELS


def reverse_within_length(x: Tensor, mask: Tensor) -> Tensor:
    """Reverse each row of ``x`` (B, T, D) over frames ``0..L-1``, ``L`` = last valid
    frame + 1; frames after ``L`` stay in place. Applying it twice is the identity."""
    t = x.shape[1]
    steps = torch.arange(1, t + 1, device=x.device).unsqueeze(0)
    length = (mask.to(steps.dtype) * steps).amax(dim=1, keepdim=True)
    pos = steps - 1
    idx = torch.where(pos < length, length - 1 - pos, pos)
    return x.gather(1, idx.unsqueeze(-1).expand(-1, -1, x.shape[2]))


class BiGRU(SignClassifier):
    """Linear stem -> ``layers`` bidirectional GRU layers -> masked mean pooling."""

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        hidden: int = 128,
        layers: int = 2,
        dropout: float = 0.1,
        head_dropout: float = 0.3,
    ) -> None:
        super().__init__(2 * hidden, num_classes, head_dropout)
        self.stem = nn.Sequential(nn.Linear(in_dim, hidden), nn.LayerNorm(hidden), nn.GELU())
        self.fwd = nn.ModuleList()
        self.bwd = nn.ModuleList()
        for i in range(layers):
            width = hidden if i == 0 else 2 * hidden
            self.fwd.append(nn.GRU(width, hidden, batch_first=True))
            self.bwd.append(nn.GRU(width, hidden, batch_first=True))
        self.drop = nn.Dropout(dropout)

    def embed(self, features: Tensor, mask: Tensor) -> Tensor:
        x = self.stem(features)
        for fwd, bwd in zip(self.fwd, self.bwd, strict=True):
            f, _ = fwd(x)
            b, _ = bwd(reverse_within_length(x, mask))
            x = self.drop(torch.cat([f, reverse_within_length(b, mask)], dim=-1))
        return masked_mean(x, mask)


@MODELS.register("gru")
def gru(in_dim: int, num_classes: int, **args: int | float) -> BiGRU:
    """Bidirectional GRU baseline (default hidden 128, 2 layers)."""
    return BiGRU(in_dim, num_classes, **args)  # type: ignore[arg-type]
