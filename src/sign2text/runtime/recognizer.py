"""Isolated-sign recognition: video / frames / landmarks -> a word (no torch).

Pipeline: PyAV decode (optionally down-sampled to ``extract_fps``) -> MediaPipe
Holistic -> :func:`sign2text.features.compute_features` (the same function training
used) -> ONNX classifier -> softmax.

Unknown signs: a prediction is **rejected** when its top probability is below the
model's calibrated threshold (``card.reject_threshold`` in the model metadata, 0.5 when
absent) or when the top class is ``_none_``. A rejected :class:`Recognition` reports
``label == "_none_"``; ``confidence`` and ``top_k`` still show what the model saw.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from sign2text.errors import ModelError, ModelInputError, NoSigningError
from sign2text.features import compute_features, reads_face
from sign2text.io.video import VideoLimits, VideoSource, iter_frames
from sign2text.landmarks import skeleton as sk
from sign2text.landmarks.holistic import HolisticConfig, HolisticExtractor
from sign2text.runtime.metadata import NONE_LABEL
from sign2text.runtime.onnx_model import OnnxClassifier, softmax
from sign2text.runtime.rgb import RgbInput, RgbPipeline

if TYPE_CHECKING:
    from sign2text.runtime.vocab import UserVocabulary

# Frames per second fed to Holistic by ``recognize_video``. Holistic is ~95% of the time
# (37-47 frames/s on 1-2 cores, docs/benchmarks.md: a 3 s 30 fps clip is ~1 s of
# Holistic at 15 fps, ~2 s at 30 fps) and the features resample every clip to a fixed
# length anyway. The accuracy side of
# this choice is measured per frame rate by ``benchmarks/bench_runtime.py --accuracy``
# on the in-vocabulary clips; re-check it whenever the bundled model changes.
DEFAULT_EXTRACT_FPS = 15.0


def bundled_model_path() -> Path:
    """Where the default model ships: ``sign2text/assets/model.onnx`` (package data)."""
    return Path(str(resources.files("sign2text").joinpath("assets", "model.onnx")))


@dataclass(frozen=True)
class Recognition:
    """The result of recognizing one clip.

    ``label`` is ``"_none_"`` when ``rejected`` (see the module docs); ``confidence``
    is the top class probability; ``top_k`` lists (label, probability) best first;
    ``frames`` counts the landmark frames; ``hands_rate`` is the fraction of frames with
    a hand; ``timings`` holds decode_ms, landmarks_ms, features_ms, model_ms, total_ms.
    """

    label: str
    confidence: float
    top_k: list[tuple[str, float]]
    frames: int
    hands_rate: float
    timings: dict[str, float] = field(default_factory=dict)
    rejected: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (top_k as [label, probability] pairs)."""
        d = asdict(self)
        d["top_k"] = [[lab, p] for lab, p in self.top_k]
        return d


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


class Recognizer:
    """Recognize isolated signs with an exported model (default: the bundled one).

    One Recognizer keeps its ONNX session and one Holistic graph; the graph is reset
    between clips (video-mode tracking must not carry over). Unless ``holistic`` says
    otherwise, the graph runs without its face mesh when the model's features read no
    face point (the bundled model reads hands and upper body). Not thread-safe: use one
    per thread.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        threads: int = 1,
        extract_fps: float | None = DEFAULT_EXTRACT_FPS,
        top_k: int = 5,
        reject_threshold: float | None = None,
        holistic: HolisticConfig | None = None,
        vocabulary: UserVocabulary | None = None,
    ) -> None:
        path = Path(model_path) if model_path is not None else bundled_model_path()
        if model_path is None and not path.is_file():
            raise ModelError(
                f"no bundled model at {path}: pass a model file (--model) exported with "
                "'sign2text export', or install a build that ships sign2text/assets/model.onnx"
            )
        self.classifier = OnnxClassifier(path, threads=threads)
        self.metadata = self.classifier.metadata
        self.labels = self.metadata.labels
        self.extract_fps = extract_fps
        self.top_k = max(1, int(top_k))
        self.reject_threshold = (
            float(reject_threshold)
            if reject_threshold is not None
            else self.metadata.reject_threshold
        )
        # A model that reads no face point skips Holistic's face mesh (same pose/hands).
        self.holistic_config = holistic or HolisticConfig(face=reads_face(self.metadata.features))
        # User words (sign2text.runtime.vocab); must be made for this very model file.
        self.vocabulary = vocabulary
        if vocabulary is not None:
            from sign2text.runtime.vocab import model_identity

            vocabulary.check_model(model_identity(path))
        from sign2text.runtime.vocab import prototype_matrix

        # Built-in prototypes (model metadata) for the user-word decision; None: older file.
        self._builtin_prototypes = prototype_matrix(self.metadata.prototypes)
        self._extractor = HolisticExtractor(self.holistic_config)
        # RGB models (metadata input "rgb") take clips, not landmarks: see runtime/rgb.py.
        self._rgb = RgbPipeline(self.metadata) if self.metadata.input == "rgb" else None

    def close(self) -> None:
        """Release the MediaPipe graph."""
        self._extractor.close()

    def __enter__(self) -> Recognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def recognize_landmarks(
        self,
        landmarks: NDArray[np.floating[Any]],
        *,
        timings: dict[str, float] | None = None,
    ) -> Recognition:
        """Recognize one sign from landmarks (T, 543, 3); NaN marks missing parts.

        Raises :class:`~sign2text.errors.NoSigningError` when no frame has a hand.
        """
        if self._rgb is not None:
            raise ModelInputError("this model takes RGB clips, not landmarks: recognize a video")
        t0 = time.perf_counter()
        lm = sk.validate(landmarks)
        rate = sk.hand_rate(lm)
        if rate == 0.0:
            raise NoSigningError(f"no hand found in any of the {len(lm)} frames: nobody signs")
        feats, mask = compute_features(lm, self.metadata.features)
        t1 = time.perf_counter()
        embedding = None
        if self.vocabulary is not None and len(self.vocabulary):
            logits, emb = self.classifier.logits_and_embedding(feats[None], mask[None])
            embedding = emb[0]
        else:
            logits = self.classifier.logits(feats[None], mask[None])
        probs = softmax(logits)[0]
        t2 = time.perf_counter()
        out = dict(timings or {})
        out["features_ms"] = _ms(t1 - t0)
        out["model_ms"] = _ms(t2 - t1)
        out.setdefault("total_ms", 0.0)
        out["total_ms"] = round(out["total_ms"] + _ms(t2 - t0), 3)
        for key in ("decode_ms", "landmarks_ms"):
            out.setdefault(key, 0.0)
        return self._decide(
            probs, frames=len(lm), hands_rate=rate, timings=out, embedding=embedding
        )

    def _decide(
        self,
        probs: NDArray[np.float32],
        *,
        frames: int,
        hands_rate: float,
        timings: dict[str, float],
        embedding: NDArray[np.float32] | None = None,
    ) -> Recognition:
        order = np.argsort(-probs, kind="stable")
        top = [(self.labels[i], round(float(probs[i]), 6)) for i in order[: self.top_k]]
        best, conf = top[0]
        rejected = best == NONE_LABEL or conf < self.reject_threshold
        if embedding is not None and self.vocabulary is not None:
            match = self.vocabulary.nearest(embedding)
            if match is not None and self._user_word_wins(
                match.similarity, conf, rejected, embedding
            ):
                # A user word wins: it leads top_k with its cosine similarity.
                sim = round(match.similarity, 6)
                top = [(match.word, sim), *top[: self.top_k - 1]]
                best, conf, rejected = match.word, sim, False
        return Recognition(
            label=NONE_LABEL if rejected else best,
            confidence=conf,
            top_k=top,
            frames=frames,
            hands_rate=round(hands_rate, 4),
            timings=timings,
            rejected=rejected,
        )

    def _user_word_wins(
        self, similarity: float, conf: float, rejected: bool, embedding: NDArray[np.float32]
    ) -> bool:
        """The user-word decision of :mod:`sign2text.runtime.vocab` for this model."""
        from sign2text.runtime import vocab

        if self._builtin_prototypes is not None:
            builtin = vocab.nearest_similarity(self._builtin_prototypes, embedding)
            return vocab.decide_by_prototypes(similarity, builtin)
        return vocab.decide_by_probability(similarity, conf, rejected)

    def _recognize_rgb(self, inp: RgbInput, t0: float) -> Recognition:
        """RGB models: the clip straight into the model (``hands_rate`` is not measured: 0)."""
        t1 = time.perf_counter()
        probs = softmax(self.classifier.logits(inp.clip, inp.mask))[0]
        t2 = time.perf_counter()
        timings = {
            "decode_ms": _ms(inp.decode_s),
            "landmarks_ms": 0.0,
            "features_ms": _ms(t1 - t0 - inp.decode_s),
            "model_ms": _ms(t2 - t1),
            "total_ms": _ms(t2 - t0),
        }
        return self._decide(probs, frames=inp.frames, hands_rate=0.0, timings=timings)

    def _landmarks(self, images: Iterable[NDArray[np.uint8]]) -> tuple[NDArray[np.float32], float]:
        """Holistic over the frames of one clip; returns (landmarks, seconds in Holistic)."""
        self._extractor.reset()
        rows: list[NDArray[np.float32]] = []
        spent = 0.0
        for image in images:
            t = time.perf_counter()
            rows.append(self._extractor.process(image))
            spent += time.perf_counter() - t
        if not rows:
            raise NoSigningError("no frames to recognize")
        return np.stack(rows), spent

    def recognize_frames(self, frames: Iterable[NDArray[np.uint8]]) -> Recognition:
        """Recognize one sign from RGB uint8 frames (H, W, 3) of one clip, in order."""
        t0 = time.perf_counter()
        if self._rgb is not None:
            return self._recognize_rgb(self._rgb.from_frames(frames), t0)
        lm, spent = self._landmarks(frames)
        timings = {"decode_ms": 0.0, "landmarks_ms": _ms(spent)}
        timings["total_ms"] = _ms(time.perf_counter() - t0)
        return self.recognize_landmarks(lm, timings=timings)

    def recognize_video(
        self,
        source: VideoSource,
        *,
        fps: float | None = None,
        limits: VideoLimits | None = None,
    ) -> Recognition:
        """Recognize one sign in a video file or its bytes.

        ``fps`` overrides the Recognizer's ``extract_fps`` (frames per second given to
        Holistic; a slower source keeps all its frames). Media errors are
        :class:`~sign2text.errors.MediaError`; a clip without hands raises
        :class:`~sign2text.errors.NoSigningError`.
        """
        t0 = time.perf_counter()
        if self._rgb is not None:
            return self._recognize_rgb(self._rgb.from_video(source, limits), t0)
        target = fps if fps is not None else self.extract_fps
        decode = [0.0]

        def images() -> Iterator[NDArray[np.uint8]]:
            frames = iter_frames(source, target_fps=target, limits=limits or VideoLimits())
            while True:
                t = time.perf_counter()
                frame = next(frames, None)
                decode[0] += time.perf_counter() - t
                if frame is None:
                    return
                yield frame.image

        lm, spent = self._landmarks(images())
        timings = {"decode_ms": _ms(decode[0]), "landmarks_ms": _ms(spent)}
        timings["total_ms"] = _ms(time.perf_counter() - t0)
        return self.recognize_landmarks(lm, timings=timings)
