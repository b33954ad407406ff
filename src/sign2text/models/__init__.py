"""Models: one interface (``forward(features, mask) -> logits``, ``embed``), a registry,
and self-describing checkpoints.

Importing this package registers every built-in model.
"""

from sign2text.models import conv_transformer, gru, mlp, rgb  # noqa: F401  (registration)
from sign2text.models.base import SignClassifier
from sign2text.models.checkpoint import (
    CHECKPOINT_FORMAT,
    load_checkpoint,
    model_from_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from sign2text.models.registry import MODELS, create_model
from sign2text.models.rgb import INPUT_KINDS, input_kind

__all__ = [
    "CHECKPOINT_FORMAT",
    "INPUT_KINDS",
    "MODELS",
    "SignClassifier",
    "create_model",
    "input_kind",
    "load_checkpoint",
    "model_from_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
]
