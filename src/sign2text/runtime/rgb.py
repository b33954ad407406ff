"""The RGB input pipeline of exported RGB models, for the runtime (no torch).

An exported model whose metadata says ``"input": "rgb"`` takes clips. This module turns
a video (PyAV) or a sequence of RGB frames into the model input exactly as evaluation
did in training (:func:`sign2text.data.clips.eval_clip`: decode at ``fps``, resize to
``resize`` x ``resize``, ``frames`` uniformly sampled frames, centre ``size`` crop,
mean/std normalization), so no landmarks and no MediaPipe are involved.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sign2text.data.clips import ClipConfig, decode_clip, eval_clip, resize_square
from sign2text.errors import ModelError, NoSigningError
from sign2text.io.video import VideoLimits, VideoSource
from sign2text.runtime.metadata import ModelMetadata


@dataclass(frozen=True)
class RgbInput:
    """One preprocessed clip: ``clip`` (1, T, 3, S, S), ``mask`` (1, T), decoded frames
    and the seconds spent decoding (+ resizing)."""

    clip: NDArray[np.float32]
    mask: NDArray[np.bool_]
    frames: int
    decode_s: float


class RgbPipeline:
    """Video / frames -> model input for an RGB model (from its metadata)."""

    def __init__(self, metadata: ModelMetadata) -> None:
        if metadata.input != "rgb":
            raise ModelError(f"model input is {metadata.input!r}, not 'rgb'")
        try:
            cfg = ClipConfig.from_dict(metadata.input_config)
        except Exception as exc:  # ConfigError or a bad value type
            raise ModelError(f"bad RGB input settings in model metadata ({exc})") from None
        self.config = cfg

    def _finish(self, frames: NDArray[np.uint8], spent: float) -> RgbInput:
        clip, mask, _ = eval_clip(frames, self.config)
        return RgbInput(clip[None], mask[None], len(frames), spent)

    def from_video(self, source: VideoSource, limits: VideoLimits | None = None) -> RgbInput:
        """Decode a clip (file path or bytes) and preprocess it."""
        t0 = time.perf_counter()
        frames, _ = decode_clip(source, self.config, limits=limits or VideoLimits())
        return self._finish(frames, time.perf_counter() - t0)

    def from_frames(self, images: Iterable[NDArray[np.uint8]]) -> RgbInput:
        """Preprocess RGB uint8 frames (H, W, 3) of one clip, in order (all kept)."""
        t0 = time.perf_counter()
        resized = [
            resize_square(np.asarray(im, dtype=np.uint8), self.config.resize) for im in images
        ]
        if not resized:
            raise NoSigningError("no frames to recognize")
        return self._finish(np.stack(resized), time.perf_counter() - t0)
