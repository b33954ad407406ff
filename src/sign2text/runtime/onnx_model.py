"""An exported Sign2Text ONNX model run with ONNX Runtime (no torch)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.errors import ConfigError, InputError, ModelError
from sign2text.runtime.metadata import METADATA_KEY, ModelMetadata, parse_metadata


def softmax(logits: NDArray[np.float32]) -> NDArray[np.float32]:
    """Row-wise softmax, computed stably in float64."""
    z = logits.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: NDArray[np.float32] = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)
    return out


# ORT starts every thread it is given; thousands of them look like a hang.
MAX_THREADS = 64


class OnnxClassifier:
    """An ONNX Runtime session over an export of :func:`sign2text.export.export_onnx`.

    ``threads`` sets ONNX Runtime's intra-op threads (1 is fastest for these small
    models at batch 1 and leaves the other cores to MediaPipe), 1 to :data:`MAX_THREADS`.
    """

    def __init__(self, path: str | Path, *, threads: int = 1) -> None:
        import onnxruntime as ort

        if not 1 <= int(threads) <= MAX_THREADS:
            raise ConfigError(f"threads must be 1 to {MAX_THREADS}, got {threads}")

        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"{self.path}: model file not found")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session: Any = ort.InferenceSession(
                str(self.path), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... classes
            raise ModelError(f"{self.path}: not a loadable ONNX model ({exc})") from None
        props = self.session.get_modelmeta().custom_metadata_map
        self.metadata: ModelMetadata = parse_metadata(props.get(METADATA_KEY), str(self.path))
        inputs = {i.name for i in self.session.get_inputs()}
        outputs = {o.name for o in self.session.get_outputs()}
        if not {"features", "mask"} <= inputs or "logits" not in outputs:
            raise ModelError(
                f"{self.path}: expected inputs features, mask and output logits; "
                f"got {sorted(inputs)} -> {sorted(outputs)}"
            )
        self._has_embedding = "embedding" in outputs
        self._check_shapes()

    def _check_shapes(self) -> None:
        """The graph's static sizes must match its metadata (a hand-edited or mixed-up
        file would otherwise fail on the first clip, or answer with the wrong words)."""
        from sign2text.features import feature_dim

        meta = self.metadata
        shapes = {i.name: list(i.shape) for i in self.session.get_inputs()}
        shapes.update({o.name: list(o.shape) for o in self.session.get_outputs()})
        feats, logits = shapes["features"], shapes["logits"]
        if meta.input == "rgb":
            size = meta.input_config.get("size")
            want: list[Any] = [None, None, 3, size, size]
        else:
            want = [None, None, feature_dim(meta.features)]
        problems = []
        if len(feats) != len(want) or any(
            isinstance(got, int) and w is not None and got != w
            for got, w in zip(feats, want, strict=False)
        ):
            problems.append(f"input features {feats} do not fit the metadata's {want}")
        if len(logits) != 2 or (isinstance(logits[1], int) and logits[1] != len(meta.labels)):
            problems.append(f"output logits {logits} do not give one score per label")
        if problems:
            raise ModelError(f"{self.path}: graph and metadata disagree: {'; '.join(problems)}")

    @property
    def labels(self) -> tuple[str, ...]:
        return self.metadata.labels

    def _feed(
        self, features: NDArray[np.float32], mask: NDArray[np.bool_]
    ) -> dict[str, NDArray[Any]]:
        x = np.asarray(features, dtype=np.float32)
        m = np.asarray(mask, dtype=bool)
        rank = 5 if self.metadata.input == "rgb" else 3  # clips (B, T, 3, H, W)
        if x.ndim == rank - 1:
            x, m = x[None], m[None]
        if x.ndim != rank or m.shape != x.shape[:2]:
            what = "clips (B, T, 3, H, W)" if rank == 5 else "features (B, T, F)"
            raise InputError(f"{what} and mask (B, T) expected, got {x.shape}, {m.shape}")
        return {"features": np.ascontiguousarray(x), "mask": np.ascontiguousarray(m)}

    def logits(self, features: NDArray[np.float32], mask: NDArray[np.bool_]) -> NDArray[np.float32]:
        """Logits (B, C) for features (B, T, F) or (T, F) and mask (B, T) or (T,)."""
        out = self.session.run(["logits"], self._feed(features, mask))[0]
        return np.asarray(out, dtype=np.float32)

    def probabilities(
        self, features: NDArray[np.float32], mask: NDArray[np.bool_]
    ) -> NDArray[np.float32]:
        """Class probabilities (B, C)."""
        return softmax(self.logits(features, mask))

    def embed(self, features: NDArray[np.float32], mask: NDArray[np.bool_]) -> NDArray[np.float32]:
        """Embeddings (B, E)."""
        if not self._has_embedding:
            raise ModelError(f"{self.path}: model has no embedding output")
        out = self.session.run(["embedding"], self._feed(features, mask))[0]
        return np.asarray(out, dtype=np.float32)

    def logits_and_embedding(
        self, features: NDArray[np.float32], mask: NDArray[np.bool_]
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Logits (B, C) and embeddings (B, E) from one run of the model."""
        if not self._has_embedding:
            raise ModelError(f"{self.path}: model has no embedding output")
        lo, em = self.session.run(["logits", "embedding"], self._feed(features, mask))
        return np.asarray(lo, dtype=np.float32), np.asarray(em, dtype=np.float32)
