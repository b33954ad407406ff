"""The model registry: every model is built by name from plain keyword arguments.

A checkpoint stores the name and the arguments, so :func:`create_model` can rebuild
any saved model without other context (nanoGPT's ``model_args``; timm's registry).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from sign2text.errors import ConfigError, first_line
from sign2text.registry import Registry

ModelFactory = Callable[..., nn.Module]

MODELS: Registry[ModelFactory] = Registry("model")


def create_model(name: str, *, in_dim: int, num_classes: int, **args: Any) -> nn.Module:
    """Build the model registered as ``name``.

    Raises :class:`~sign2text.errors.ConfigError` for an unknown name (listing the
    valid ones) or for arguments the model does not take.
    """
    factory = MODELS.get(name)
    if in_dim < 1 or num_classes < 1:
        raise ConfigError(f"model {name!r}: in_dim and num_classes must be >= 1")
    try:
        return factory(in_dim=in_dim, num_classes=num_classes, **args)
    except (TypeError, ValueError, RuntimeError) as exc:  # torch: negative sizes and such
        msg = first_line(exc)
        raise ConfigError(f"model {name!r}: bad arguments {dict(args)}: {msg}") from None
