"""Building blocks shared by the models: masked pooling and masked attention.

Everything here is written in plain tensor ops so that the dynamo ONNX exporter keeps
the batch and time axes dynamic, and so that a row whose mask is all False gives
finite numbers (zeros) instead of NaN.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sign2text.errors import ConfigError

# Additive attention bias for masked keys. Finite (not -inf) so that a row with no
# valid key gives a uniform softmax instead of NaN; exp(-1e9) is exactly 0 in float32,
# so masked keys contribute nothing whenever at least one key is valid.
_MASK_BIAS = -1e9


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean over time of ``x`` (B, T, D) over frames where ``mask`` (B, T) is True.

    Rows with no valid frame give zeros.
    """
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)


def masked_max(x: Tensor, mask: Tensor) -> Tensor:
    """Max over time over valid frames; rows with no valid frame give zeros."""
    m = mask.unsqueeze(-1)
    filled = torch.where(m, x, torch.full_like(x, _MASK_BIAS))
    out = filled.max(dim=1).values
    any_valid = mask.any(dim=1, keepdim=True)
    return torch.where(any_valid, out, torch.zeros_like(out))


def zero_masked(x: Tensor, mask: Tensor) -> Tensor:
    """Set invalid frames to zero, so a convolution sees them like its zero padding."""
    return x * mask.unsqueeze(-1).to(x.dtype)


class MaskedSelfAttention(nn.Module):
    """Multi-head self-attention where masked frames are never attended to."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ConfigError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.head_dim = dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        b, t, d = x.shape
        qkv = self.qkv(x).reshape(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = (q @ k.transpose(-2, -1)) * (self.head_dim**-0.5)
        bias = (~mask).to(x.dtype) * _MASK_BIAS
        scores = scores + bias[:, None, None, :]
        attn = self.drop(scores.softmax(dim=-1))
        out = (attn @ v).transpose(1, 2).reshape(b, t, d)
        result: Tensor = self.proj(out)
        return result
