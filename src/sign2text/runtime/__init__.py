"""Inference without torch: ONNX Runtime classifier, isolated-sign recognizer, stream
segmentation, live capture and word error rate.

Nothing in this package imports torch (a test checks it); heavy libraries (ONNX
Runtime, MediaPipe, OpenCV) are imported when first used.
"""

from sign2text.runtime.metadata import ModelMetadata, parse_metadata
from sign2text.runtime.onnx_model import OnnxClassifier, softmax
from sign2text.runtime.recognizer import (
    DEFAULT_EXTRACT_FPS,
    Recognition,
    Recognizer,
    bundled_model_path,
)
from sign2text.runtime.stream import (
    Segment,
    StreamConfig,
    StreamRecognizer,
    WordEvent,
    recognize_stream,
)
from sign2text.runtime.wer import WerCounts, edit_distance, wer_counts, word_error_rate

__all__ = [
    "DEFAULT_EXTRACT_FPS",
    "ModelMetadata",
    "OnnxClassifier",
    "Recognition",
    "Recognizer",
    "Segment",
    "StreamConfig",
    "StreamRecognizer",
    "WerCounts",
    "WordEvent",
    "bundled_model_path",
    "edit_distance",
    "parse_metadata",
    "recognize_stream",
    "softmax",
    "wer_counts",
    "word_error_rate",
]
