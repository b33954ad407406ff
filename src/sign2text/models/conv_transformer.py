"""Conv + transformer encoder, the family that won Kaggle's 2023 Isolated Sign
Language Recognition competition (GISLR, 1st place: hoyso48).

stem (linear + norm) -> ``depth`` x [``convs`` x depthwise-conv block, 1 transformer
block] -> layer norm -> masked mean pooling -> dropout -> linear head.

Masking: invalid frames are zeroed before every depthwise convolution (so they look
like the convolution's own zero padding) and are never attended to; pooling ignores
them. Padding a clip with invalid frames therefore leaves its logits unchanged.
"""

from __future__ import annotations

from torch import Tensor, nn

from sign2text.errors import ConfigError
from sign2text.models.base import SignClassifier
from sign2text.models.layers import MaskedSelfAttention, masked_mean, zero_masked
from sign2text.models.registry import MODELS


def _norm(kind: str, dim: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(dim, momentum=0.05)
    if kind == "layer":
        return nn.LayerNorm(dim)
    raise ConfigError(f"norm must be 'batch' or 'layer', got {kind!r}")


class _ChannelNorm(nn.Module):
    """Applies a BatchNorm1d or LayerNorm to (B, T, C) tensors."""

    def __init__(self, kind: str, dim: int) -> None:
        super().__init__()
        self.kind = kind
        self.norm = _norm(kind, dim)

    def forward(self, x: Tensor) -> Tensor:
        if self.kind == "batch":
            out: Tensor = self.norm(x.transpose(1, 2)).transpose(1, 2)
            return out
        res: Tensor = self.norm(x)
        return res


class ConvBlock(nn.Module):
    """Expand -> swish -> depthwise conv over time -> norm -> project, residual."""

    def __init__(self, dim: int, kernel: int, expand: int, norm: str, dropout: float) -> None:
        super().__init__()
        hidden = dim * expand
        self.expand = nn.Linear(dim, hidden)
        self.act = nn.SiLU()
        self.dwconv = nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2, groups=hidden)
        self.norm = _ChannelNorm(norm, hidden)
        self.project = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        h = zero_masked(self.act(self.expand(x)), mask)
        h = self.dwconv(h.transpose(1, 2)).transpose(1, 2)
        h = self.act(self.norm(h))
        out: Tensor = x + self.drop(self.project(h))
        return out


class TransformerBlock(nn.Module):
    """Pre-norm transformer encoder block with masked self-attention."""

    def __init__(self, dim: int, heads: int, expand: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MaskedSelfAttention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(
            nn.Linear(dim, dim * expand),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(dim * expand, dim),
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        x = x + self.drop(self.attn(self.norm1(x), mask))
        out: Tensor = x + self.drop(self.ffn(self.norm2(x)))
        return out


class ConvTransformer(SignClassifier):
    """See the module docstring. Default arguments give about 1.6 M parameters."""

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        dim: int = 192,
        depth: int = 2,
        convs: int = 3,
        kernel: int = 17,
        heads: int = 4,
        expand: int = 2,
        norm: str = "batch",
        dropout: float = 0.1,
        head_dropout: float = 0.3,
    ) -> None:
        super().__init__(dim, num_classes, head_dropout)
        self.stem = nn.Linear(in_dim, dim, bias=False)
        self.stem_norm = _ChannelNorm(norm, dim)
        blocks: list[nn.Module] = []
        for _ in range(depth):
            blocks += [ConvBlock(dim, kernel, expand, norm, dropout) for _ in range(convs)]
            blocks.append(TransformerBlock(dim, heads, expand, dropout))
        self.blocks = nn.ModuleList(blocks)
        self.final_norm = nn.LayerNorm(dim)

    def embed(self, features: Tensor, mask: Tensor) -> Tensor:
        x = self.stem_norm(self.stem(features))
        for block in self.blocks:
            x = block(x, mask)
        return masked_mean(self.final_norm(x), mask)


@MODELS.register("conv_transformer")
def conv_transformer(in_dim: int, num_classes: int, **args: int | float | str) -> ConvTransformer:
    """GISLR-style conv + transformer (default dim 192, 2 x [3 conv + 1 attention])."""
    return ConvTransformer(in_dim, num_classes, **args)  # type: ignore[arg-type]
