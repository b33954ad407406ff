"""Features shared by training and inference (NumPy only, no torch).

:func:`compute_features` is the single implementation used by the trainer, the
evaluator, the ONNX runtime and the browser demo's reference tests.
"""

from sign2text.features.core import (
    FeatureConfig,
    compute_features,
    feature_dim,
    feature_names,
    pad_batch,
    reads_face,
)

__all__ = [
    "FeatureConfig",
    "compute_features",
    "feature_dim",
    "feature_names",
    "pad_batch",
    "reads_face",
]
