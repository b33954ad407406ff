"""Models: one interface (``forward(features, mask) -> logits``, ``embed``), a registry,
and self-describing checkpoints.

Importing this package registers every built-in model.
"""

from sign2text.models import conv_transformer, gru, mlp  # noqa: F401  (registration)
from sign2text.models.base import SignClassifier
from sign2text.models.checkpoint import (
    CHECKPOINT_FORMAT,
    load_checkpoint,
    model_from_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from sign2text.models.registry import MODELS, create_model

__all__ = [
    "CHECKPOINT_FORMAT",
    "MODELS",
    "SignClassifier",
    "create_model",
    "load_checkpoint",
    "model_from_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
]
