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

A model can also carry ``"prototypes"``: ``{"labels": [...], "dim": E, "dtype":
"float16", "data": "<base64>"}``, unit-norm cluster centres of each built-in word's
training embeddings (a label per vector; :class:`ClassPrototypes`, written by
``sign2text prototypes``); personal vocabularies compare a user word against them
(``sign2text.runtime.vocab``).

RGB models (``input: "rgb"``) also carry ``"input_config"``: the clip pipeline
(``sign2text.data.clips.ClipConfig``: size, frames, resize, fps, mean, std).

so one file is all a runtime needs: the label map, the exact feature settings the model
was trained with, and a model card with free fields.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.errors import ModelError
from sign2text.features import FeatureConfig

METADATA_KEY = "sign2text"
METADATA_FORMAT = "sign2text-onnx/1"
NONE_LABEL = "_none_"
DEFAULT_REJECT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ClassPrototypes:
    """Unit-norm prototype embeddings of the built-in words (``_none_`` has none).

    A word can have several (``labels`` repeats it): the centres of clusters of its
    training recordings, as one word is signed in several ways by different people.
    Stored compactly as little-endian float16, base64-encoded::

        {"labels": [...N words], "dim": E, "dtype": "float16", "data": "<base64 of N*E>"}
    """

    labels: tuple[str, ...]
    dim: int
    data: bytes  # float16 little-endian, (len(labels), dim) row-major

    @classmethod
    def from_matrix(cls, labels: Sequence[str], matrix: NDArray[Any]) -> ClassPrototypes:
        m = np.asarray(matrix, dtype="<f2")
        if m.ndim != 2 or len(m) != len(labels):
            raise ModelError(f"prototypes: {len(labels)} labels for a matrix of shape {m.shape}")
        return cls(tuple(labels), int(m.shape[1]), m.tobytes())

    def matrix(self) -> NDArray[np.float64]:
        """(N, E) float64, one row per label."""
        m = np.frombuffer(self.data, dtype="<f2").reshape(len(self.labels), self.dim)
        return m.astype(np.float64)

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "dim": self.dim,
            "dtype": "float16",
            "data": base64.b64encode(self.data).decode("ascii"),
        }

    @classmethod
    def from_json(cls, value: Any, labels: tuple[str, ...], where: str) -> ClassPrototypes:
        """Parse and check; :class:`ModelError` when malformed."""

        def bad(why: str) -> ModelError:
            return ModelError(f"{where}: bad 'prototypes' in model metadata ({why})")

        if not isinstance(value, dict):
            raise bad("an object expected")
        names, dim, data = value.get("labels"), value.get("dim"), value.get("data")
        if not isinstance(names, list) or not names or not all(isinstance(x, str) for x in names):
            raise bad("labels must be a non-empty list of strings")
        unknown = sorted(set(names) - set(labels))
        if unknown or NONE_LABEL in names:
            raise bad(f"labels must be words of the model, got {unknown or [NONE_LABEL]}")
        if not isinstance(dim, int) or isinstance(dim, bool) or not 1 <= dim <= 4096:
            raise bad("dim must be a positive integer")
        if value.get("dtype") != "float16" or not isinstance(data, str):
            raise bad("float16 data in base64 expected")
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError:
            raise bad("data is not base64") from None
        if len(raw) != 2 * dim * len(names):
            raise bad(f"{len(raw)} bytes for {len(names)} vectors of {dim}")
        out = cls(tuple(names), dim, raw)
        m = out.matrix()
        norms = np.linalg.norm(m, axis=1)
        if not np.isfinite(m).all() or not (np.abs(norms - 1.0) < 1e-2).all():
            raise bad("vectors must be finite and of unit length")
        return out


# What a model reads: landmark features (B, T, F) or RGB clips (B, T, 3, H, W).
KNOWN_INPUTS = ("landmarks", "rgb")


@dataclass(frozen=True)
class ModelMetadata:
    """The parsed :data:`METADATA_KEY` document of an exported model."""

    labels: tuple[str, ...]
    features: FeatureConfig
    model: dict[str, Any]
    card: dict[str, Any] = field(default_factory=dict)
    input: str = "landmarks"
    input_config: dict[str, Any] = field(default_factory=dict)
    prototypes: ClassPrototypes | None = None

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
        if self.prototypes is not None:
            doc["prototypes"] = self.prototypes.to_json()
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
    if len(set(labels)) != len(labels):
        raise ModelError(f"{where}: model metadata lists a label twice")
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
    kind = data.get("input", "landmarks")
    if kind not in KNOWN_INPUTS:
        kinds = ", ".join(KNOWN_INPUTS)
        raise ModelError(f"{where}: model metadata 'input' is {kind!r}; expected one of {kinds}")
    return ModelMetadata(
        labels=tuple(labels),
        features=cfg,
        model=model,
        card=card,
        input=kind,
        input_config=_input_config(data.get("input_config"), where),
        prototypes=(
            None
            if data.get("prototypes") is None
            else ClassPrototypes.from_json(data["prototypes"], tuple(labels), where)
        ),
    )


def _input_config(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ModelError(f"{where}: model metadata 'input_config' must be an object")
    return dict(value)
