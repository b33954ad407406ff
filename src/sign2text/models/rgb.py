"""RGB video models (the original Sign2Text design), in plain PyTorch.

Same interface as the landmark models: ``forward(features, mask) -> logits`` and
``embed(features, mask) -> (B, E)``, where ``features`` is what the model's input
pipeline produces. For these models that is a clip ``(B, T, 3, H, W)`` float32 from
:mod:`sign2text.data.clips` (normalized frames) and ``mask`` (B, T) marks real frames
(masked frames are zeroed before the network sees them and left out of time pooling).
``in_dim`` is the number of colour channels (3). Each model declares
``input_kind = "rgb"`` (:data:`INPUT_KINDS`), which the trainer and exporter read.

- ``resnet18-frame``: ResNet-18 on every frame, logits averaged over the valid frames
  (the head is linear, so averaging logits = the head of the averaged embedding);
- ``simplenet3d``: three conv3d + max-pool blocks and a dense layer;
- ``twooutnet``: a shared 3D conv trunk with two heads, the class head and a sigmoid
  pose-regression head (75 MediaPipe points, (x, y) in [0, 1], per frame); trained with
  ``CE + pose_weight * masked MSE`` (:meth:`TwoOutNet.pose_loss`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from sign2text.models.base import SignClassifier
from sign2text.models.registry import MODELS

# model name -> input kind; landmark models are absent (kind "landmarks").
INPUT_KINDS: dict[str, str] = {}
POSE_POINTS = 75


def input_kind(name: str) -> str:
    """``"rgb"`` for the models of this module, ``"landmarks"`` for the others."""
    return INPUT_KINDS.get(name, "landmarks")


def _masked(x: Tensor, mask: Tensor) -> Tensor:
    """Zero the masked frames of (B, T, C, H, W)."""
    return x * mask.to(x.dtype)[:, :, None, None, None]


def _time_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Masked mean over time of (B, T, E); an all-False row gives zeros."""
    w = mask.to(x.dtype).unsqueeze(-1)
    return (x * w).sum(1) / w.sum(1).clamp(min=1.0)


class _Basic(nn.Module):
    """ResNet basic block (two 3x3 convs, batch norm, identity or 1x1 shortcut)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.down: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        res: Tensor = self.relu(out + self.down(x))
        return res


class ResNet18Frame(SignClassifier):
    """ResNet-18 (He et al. 2016; torchvision's layout, no pretrained weights) per frame."""

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        width: int = 64,
        size: int = 112,
        frames: int = 16,
        head_dropout: float = 0.2,
    ) -> None:
        widths = [width, width * 2, width * 4, width * 8]
        super().__init__(widths[-1], num_classes, head_dropout)
        self.size, self.frames = size, frames
        self.stem = nn.Sequential(
            nn.Conv2d(in_dim, width, 7, 2, 3, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        layers: list[nn.Module] = []
        cin = width
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            layers += [_Basic(cin, w, stride), _Basic(w, w, 1)]
            cin = w
        self.layers = nn.Sequential(*layers)

    def embed(self, features: Tensor, mask: Tensor) -> Tensor:
        b, t = features.shape[:2]
        x = _masked(features, mask).flatten(0, 1)
        x = self.layers(self.stem(x)).mean(dim=(2, 3))
        return _time_mean(x.reshape(b, t, -1), mask)


def _block3d(cin: int, cout: int, pool: tuple[int, int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm3d(cout),
        nn.ReLU(inplace=True),
        nn.MaxPool3d(pool, pool),
    )


class SimpleNet3D(SignClassifier):
    """Three conv3d + pool blocks -> global average pooling -> dense -> head."""

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        channels: tuple[int, int, int] | list[int] = (32, 64, 128),
        dense: int = 256,
        size: int = 112,
        frames: int = 16,
        dropout: float = 0.3,
        head_dropout: float = 0.3,
    ) -> None:
        super().__init__(dense, num_classes, head_dropout)
        self.size, self.frames = size, frames
        c = list(channels)
        self.trunk = nn.Sequential(
            _block3d(in_dim, c[0], (1, 2, 2)),
            _block3d(c[0], c[1], (2, 2, 2)),
            _block3d(c[1], c[2], (2, 2, 2)),
        )
        self.dense = nn.Sequential(
            nn.Linear(c[2], dense), nn.ReLU(inplace=True), nn.Dropout(dropout)
        )

    def embed(self, features: Tensor, mask: Tensor) -> Tensor:
        x = _masked(features, mask).transpose(1, 2)  # (B, C, T, H, W)
        x = self.trunk(x).mean(dim=(2, 3, 4))
        out: Tensor = self.dense(x)
        return out


class TwoOutNet(SignClassifier):
    """Shared 3D conv trunk (time kept), class head + sigmoid pose head per frame."""

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        channels: tuple[int, int, int] | list[int] = (32, 64, 128),
        dense: int = 256,
        size: int = 112,
        frames: int = 16,
        pose_points: int = POSE_POINTS,
        pose_weight: float = 1.0,
        dropout: float = 0.3,
        head_dropout: float = 0.3,
    ) -> None:
        super().__init__(dense, num_classes, head_dropout)
        self.size, self.frames = size, frames
        self.pose_points, self.pose_weight = pose_points, float(pose_weight)
        c = list(channels)
        self.trunk = nn.Sequential(
            _block3d(in_dim, c[0], (1, 2, 2)),
            _block3d(c[0], c[1], (1, 2, 2)),
            _block3d(c[1], c[2], (1, 2, 2)),
        )
        self.dense = nn.Sequential(
            nn.Linear(c[2], dense), nn.ReLU(inplace=True), nn.Dropout(dropout)
        )
        self.pose_head = nn.Linear(c[2], pose_points * 2)

    def _trunk(self, features: Tensor, mask: Tensor) -> Tensor:
        x = _masked(features, mask).transpose(1, 2)
        out: Tensor = self.trunk(x).mean(dim=(3, 4)).transpose(1, 2)  # (B, T, C)
        return out

    def embed(self, features: Tensor, mask: Tensor) -> Tensor:
        out: Tensor = self.dense(_time_mean(self._trunk(features, mask), mask))
        return out

    def forward_both(self, features: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Logits (B, C) and pose (B, T, P, 2) in [0, 1], from one trunk pass."""
        h = self._trunk(features, mask)
        logits: Tensor = self.head(self.head_drop(self.dense(_time_mean(h, mask))))
        b, t = h.shape[:2]
        pose = torch.sigmoid(self.pose_head(h)).reshape(b, t, self.pose_points, 2)
        return logits, pose

    def pose(self, features: Tensor, mask: Tensor) -> Tensor:
        return self.forward_both(features, mask)[1]

    def pose_loss(self, pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
        """MSE over the (frame, point) targets that exist (NaN = not detected)."""
        valid = torch.isfinite(target).all(-1) & mask[:, :, None]
        diff = (pred - torch.nan_to_num(target)) ** 2
        w = valid.to(pred.dtype).unsqueeze(-1)
        return (diff * w).sum() / (2.0 * w.sum()).clamp(min=1.0)


def _register(name: str, cls: type[SignClassifier], doc: str) -> None:
    def factory(in_dim: int, num_classes: int, **args: object) -> SignClassifier:
        return cls(in_dim, num_classes, **args)  # type: ignore[arg-type]

    factory.__doc__ = doc
    MODELS.add(name, factory)
    INPUT_KINDS[name] = "rgb"


_register("resnet18-frame", ResNet18Frame, "ResNet-18 per frame, logits averaged over frames.")
_register("simplenet3d", SimpleNet3D, "Three conv3d+pool blocks and a dense layer.")
_register("twooutnet", TwoOutNet, "3D conv trunk, class head + pose-regression head.")
