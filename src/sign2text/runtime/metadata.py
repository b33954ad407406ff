"""The metadata an exported ONNX model carries (shared by export and runtime, no torch).

An exported model stores one JSON document under the ``metadata_props`` key
:data:`METADATA_KEY`::

    {
      "format": "sign2text-onnx/1",
      "labels": ["hello", "thank-you", ..., "_none_"],
      "features": {...FeatureConfig.to_dict()...},
      "model": {"name": "gru", "args": {...}},
      "card": {"metrics": {...}, "data": ..., "split": {...}, "reject_threshold": 0.5, ...},
      "input": "landmarks"
    }

RGB models (``input: "rgb"``) also carry ``"input_config"``: the clip pipeline
(``sign2text.data.clips.ClipConfig``: size, frames, resize, fps, mean, std).

so one file is all a runtime needs: the label map, the exact feature settings the model
was trained with, and a model card with free fields.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from sign2text.errors import ModelError
from sign2text.features import FeatureConfig

METADATA_KEY = "sign2text"
METADATA_FORMAT = "sign2text-onnx/1"
NONE_LABEL = "_none_"
DEFAULT_REJECT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ModelMetadata:
    """The parsed :data:`METADATA_KEY` document of an exported model."""

    labels: tuple[str, ...]
    features: FeatureConfig
    model: dict[str, Any]
    card: dict[str, Any] = field(default_factory=dict)
    input: str = "landmarks"
    input_config: dict[str, Any] = field(default_factory=dict)

    @property
    def reject_threshold(self) -> float:
        """Top probability below which a prediction is reported as unknown.

        Comes from ``card.reject_threshold`` (calibrated at export on validation
        data); :data:`DEFAULT_REJECT_THRESHOLD` when the card has none.
        """
        value = self.card.get("reject_threshold", DEFAULT_REJECT_THRESHOLD)
        try:
            thr = float(value)
        except (TypeError, ValueError):
            return DEFAULT_REJECT_THRESHOLD
        return thr if math.isfinite(thr) and 0.0 <= thr <= 1.0 else DEFAULT_REJECT_THRESHOLD

    def to_json(self) -> dict[str, Any]:
        """The JSON document stored in the model file."""
        doc = {
            "format": METADATA_FORMAT,
            "labels": list(self.labels),
            "features": self.features.to_dict(),
            "model": self.model,
            "card": self.card,
            "input": self.input,
        }
        if self.input_config:
            doc["input_config"] = self.input_config
        return doc


def parse_metadata(text: str | None, where: str) -> ModelMetadata:
    """Parse and check the metadata document; raise :class:`ModelError` if unusable."""
    if text is None:
        raise ModelError(f"{where}: not a Sign2Text model (no {METADATA_KEY!r} metadata)")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ModelError(f"{where}: model metadata is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != METADATA_FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ModelError(f"{where}: model metadata format {got!r}, expected {METADATA_FORMAT!r}")
    labels = data.get("labels")
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise ModelError(f"{where}: model metadata has no label list")
    feats = data.get("features")
    if not isinstance(feats, dict):
        raise ModelError(f"{where}: model metadata has no feature settings")
    try:
        cfg = FeatureConfig.from_dict(feats)
    except Exception as exc:  # a ConfigError or a TypeError from a bad value
        raise ModelError(f"{where}: bad feature settings in model metadata ({exc})") from None
    card = data.get("card") or {}
    model = data.get("model") or {}
    if not isinstance(card, dict) or not isinstance(model, dict):
        raise ModelError(f"{where}: model metadata 'card'/'model' must be objects")
    return ModelMetadata(
        labels=tuple(labels),
        features=cfg,
        model=model,
        card=card,
        input=str(data.get("input", "landmarks")),
        input_config=_input_config(data.get("input_config"), where),
    )


def _input_config(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ModelError(f"{where}: model metadata 'input_config' must be an object")
    return dict(value)
