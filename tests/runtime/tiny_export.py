"""Test helper: export a tiny torch model (Sign2Text interface) to ONNX for runtime tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LABELS = ["coffee", "hello", "thank-you", "_none_"]


def export_tiny(
    out: Path, *, card: dict[str, Any] | None = None, seed: int = 0
) -> tuple[Any, Path]:
    """A seeded masked-mean MLP over the default features, exported to ``out``."""
    import torch
    from torch import nn

    from sign2text.export import export_onnx
    from sign2text.features import FeatureConfig, feature_dim

    class Tiny(nn.Module):
        def __init__(self, in_dim: int, num_classes: int) -> None:
            super().__init__()
            self.proj = nn.Linear(in_dim, 24)
            self.head = nn.Linear(48, num_classes)

        def embed(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            h = torch.tanh(self.proj(features))
            w = mask.unsqueeze(-1).to(h.dtype)
            mean = (h * w).sum(1) / w.sum(1).clamp(min=1.0)
            peak = h.masked_fill(~mask.unsqueeze(-1), -1.0).amax(1)
            return torch.cat([mean, peak], dim=-1)

        def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return self.head(self.embed(features, mask)) * 4.0

    torch.manual_seed(seed)
    cfg = FeatureConfig()
    model = Tiny(feature_dim(cfg), len(LABELS)).eval()
    ckpt = {"model": {"name": "tiny", "args": {}}, "labels": LABELS, "features": cfg.to_dict()}
    return model, export_onnx(model, ckpt, out, card=card)
