"""Self-describing checkpoints: weights + model name/args + labels + feature config.

Format ``sign2text-checkpoint/1`` (a ``torch.save`` dict)::

    {"format", "model": {"name", "args"}, "state_dict", "labels", "features",
     "split", "metrics", "train_config", "versions": {torch, sign2text, numpy}}

plus optional extra keys (the trainer stores ``"resume"`` in its last checkpoint).
The file is written atomically with a ``<file>.sha256`` sidecar;
:func:`load_checkpoint` verifies both the checksum and the format, then rebuilds the
model from the checkpoint alone.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import sign2text
from sign2text.errors import IntegrityError, ModelError, first_line
from sign2text.io.atomic import checksum_listed, sidecar, write_checked
from sign2text.models.registry import create_model

CHECKPOINT_FORMAT = "sign2text-checkpoint/1"


def versions() -> dict[str, str]:
    """Library versions stored with checkpoints."""
    return {
        "torch": str(torch.__version__),
        "sign2text": str(sign2text.__version__),
        "numpy": str(np.__version__),
    }


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    *,
    model_name: str,
    model_args: Mapping[str, Any],
    labels: Sequence[str],
    features: Mapping[str, Any],
    split: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    train_config: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write a checkpoint atomically (with its ``.sha256`` sidecar); return the dict.

    ``model_args`` must include ``in_dim`` and ``num_classes``. A model wrapped in
    DDP should be passed unwrapped (``ddp.module``).
    """
    for key in ("in_dim", "num_classes"):
        if key not in model_args:
            raise ModelError(f"model_args must include {key!r}")
    if int(model_args["num_classes"]) != len(labels):
        raise ModelError(f"num_classes={model_args['num_classes']} but {len(labels)} labels")
    ckpt: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "model": {"name": model_name, "args": dict(model_args)},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "labels": list(labels),
        "features": dict(features),
        "split": dict(split or {}),
        "metrics": dict(metrics or {}),
        "train_config": dict(train_config or {}),
        "versions": versions(),
    }
    for key, value in (extra or {}).items():
        if key in ckpt:
            raise ModelError(f"extra checkpoint key {key!r} clashes with a standard key")
        ckpt[key] = value
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    data = buf.getvalue()
    write_checked(path, data)
    return ckpt


def read_checkpoint(path: str | Path, *, verify: bool = True) -> dict[str, Any]:
    """Read and validate a checkpoint dict without building the model.

    With ``verify`` the ``.sha256`` sidecar must exist and match the file.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ModelError(f"{p}: cannot read checkpoint ({exc.strerror})") from None
    if verify:
        side = sidecar(p)
        if not side.exists():
            raise IntegrityError(f"{p}: checksum file {side.name} is missing")
        if not checksum_listed(p, data):
            raise IntegrityError(f"{p}: checksum mismatch (corrupt or half-written checkpoint)")
    try:
        ckpt = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:
        # Arbitrary bytes fail in arbitrary ways (UnpicklingError, BadZipFile, EOFError,
        # KeyError from a legacy-format header...); weights_only=True keeps the
        # unpickler from running code whatever they hold.
        raise ModelError(f"{p}: not a readable torch checkpoint ({first_line(exc)})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        found = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise ModelError(f"{p}: not a {CHECKPOINT_FORMAT} checkpoint (format {found!r})")
    for key in ("model", "state_dict", "labels", "features"):
        if key not in ckpt:
            raise ModelError(f"{p}: checkpoint lacks {key!r}")
    spec = ckpt["model"]
    if (
        not isinstance(spec, dict)
        or not isinstance(spec.get("name"), str)
        or not isinstance(spec.get("args"), dict)
        or not {"in_dim", "num_classes"} <= set(spec["args"])
    ):
        raise ModelError(f"{p}: checkpoint 'model' must be a table of name and args")
    labels = ckpt["labels"]
    if (
        not isinstance(labels, list | tuple)
        or len(labels) < 2
        or not all(isinstance(lab, str) for lab in labels)
    ):
        raise ModelError(f"{p}: checkpoint 'labels' must list at least 2 words")
    if spec["args"]["num_classes"] != len(labels):
        raise ModelError(
            f"{p}: checkpoint has {len(labels)} labels for a model of "
            f"{spec['args']['num_classes']} classes"
        )
    if not isinstance(ckpt["state_dict"], dict) or not isinstance(ckpt["features"], dict):
        raise ModelError(f"{p}: checkpoint 'state_dict' and 'features' must be tables")
    return ckpt


def model_from_checkpoint(ckpt: Mapping[str, Any]) -> nn.Module:
    """Rebuild the model of a checkpoint dict, load its weights, set eval mode."""
    spec = ckpt["model"]
    args = dict(spec["args"])
    in_dim, num_classes = int(args.pop("in_dim")), int(args.pop("num_classes"))
    model = create_model(spec["name"], in_dim=in_dim, num_classes=num_classes, **args)
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        raise ModelError(f"weights do not fit model {spec['name']!r}: {exc}") from None
    return model.eval()


def load_checkpoint(path: str | Path, *, verify: bool = True) -> tuple[nn.Module, dict[str, Any]]:
    """Load a checkpoint: returns the rebuilt model (eval mode) and the checkpoint dict."""
    ckpt = read_checkpoint(path, verify=verify)
    return model_from_checkpoint(ckpt), ckpt
