"""The one interface every model has.

``forward(features (B, T, F) float32, mask (B, T) bool) -> logits (B, C)`` and
``embed(features, mask) -> (B, E)``, the pooled embedding before the classifier head
(used for few-shot personal vocabularies). Export, evaluation and serving rely on
this alone and never special-case a model.
"""

from __future__ import annotations

from torch import Tensor, nn


class SignClassifier(nn.Module):
    """Base class: subclasses implement :meth:`embed` and set ``embed_dim``.

    The head is ``dropout -> linear``; :meth:`reset_classifier` swaps it for a new
    vocabulary size (timm's ``reset_classifier``).
    """

    num_classes: int
    embed_dim: int

    def __init__(self, embed_dim: int, num_classes: int, head_dropout: float = 0.0) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.num_classes = num_classes
        self.head_drop = nn.Dropout(head_dropout)
        self.head = nn.Linear(embed_dim, num_classes)

    def embed(self, features: Tensor, mask: Tensor) -> Tensor:
        """Pooled embedding (B, E) of a batch of clips."""
        raise NotImplementedError

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        """Class logits (B, C)."""
        logits: Tensor = self.head(self.head_drop(self.embed(features, mask)))
        return logits

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head with a fresh one for ``num_classes`` classes."""
        self.num_classes = num_classes
        self.head = nn.Linear(self.embed_dim, num_classes)
