"""Export a trained model to one self-describing ONNX file (fp32 and int8) with a
parity report. Needs the ``train`` extra (torch, onnx, onnxscript); the runtime that
reads these files (:mod:`sign2text.runtime`) does not.
"""

from sign2text.export.onnx_export import (
    METADATA_FORMAT,
    METADATA_KEY,
    build_metadata,
    export_onnx,
    quantize_int8,
    read_metadata,
    write_metadata,
)
from sign2text.export.parity import (
    MAX_INT8_ACCURACY_DROP_POINTS,
    calibrate_reject_threshold,
    choose_model,
    parity_markdown,
    parity_report,
)
from sign2text.export.prototypes import store_prototypes

__all__ = [
    "MAX_INT8_ACCURACY_DROP_POINTS",
    "METADATA_FORMAT",
    "METADATA_KEY",
    "build_metadata",
    "calibrate_reject_threshold",
    "choose_model",
    "export_onnx",
    "parity_markdown",
    "parity_report",
    "quantize_int8",
    "read_metadata",
    "store_prototypes",
    "write_metadata",
]
