"""MediaPipe Holistic (legacy ``mp.solutions`` API, offline) -> (T, 543, 3) landmarks.

``mediapipe==0.10.21`` carries its model files in the wheel; model complexity 1 is
the one whose pose model ships (0 and 2 would try a download and fail offline).

``HolisticConfig(face=False)`` runs Holistic's own graph without its face-mesh branch:
the pose and hand nodes are the packaged graph's, unchanged, so their landmarks are
bitwise those of the full graph (``tests/landmarks/test_holistic.py``) and the face
points are NaN. The recognizer uses it for models whose features read no face point.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from sign2text.errors import ConfigError, DependencyError, InputError
from sign2text.landmarks.skeleton import FACE, LEFT_HAND, N_POINTS, POSE, RIGHT_HAND

if TYPE_CHECKING:
    from sign2text.io.video import VideoLimits, VideoSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HolisticConfig:
    """Settings passed to MediaPipe Holistic."""

    model_complexity: int = 1
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    static_image_mode: bool = False
    smooth_landmarks: bool = True
    # False: skip the face mesh (face points NaN; pose and hands unchanged).
    face: bool = True

    def __post_init__(self) -> None:
        if self.model_complexity not in (0, 1, 2):
            raise ConfigError(f"model_complexity must be 0, 1 or 2, got {self.model_complexity}")


# Holistic's graph in the mediapipe wheel, and the nodes that make pose and hand landmarks.
_GRAPH_FILE = ("modules", "holistic_landmark", "holistic_landmark_cpu.binarypb")
_BODY_NODES = ("PoseLandmarkCpu", "HandLandmarksLeftAndRightCpu")
_FACE_NODES = ("SplitNormalizedLandmarkListCalculator", "FaceLandmarksFromPoseCpu")
# MediaPipe's own names for the two thresholds (as in mp.solutions.holistic).
_DETECTION_PARAM = (
    "poselandmarkcpu__posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh"
)
_TRACKING_PARAM = (
    "poselandmarkcpu__poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__"
    "ThresholdingCalculator.threshold"
)


def body_graph_config() -> Any:
    """Holistic's packaged graph without the face branch (a ``CalculatorGraphConfig``).

    Drops the face nodes, the face output stream and the face-refinement side packet,
    and checks that what is left is exactly the pose and left/right hand nodes.
    """
    from pathlib import Path

    import mediapipe as mp
    from mediapipe.framework import calculator_pb2

    graph = calculator_pb2.CalculatorGraphConfig()
    path = Path(mp.__file__).parent.joinpath(*_GRAPH_FILE)
    graph.ParseFromString(path.read_bytes())
    nodes = [n for n in graph.node if n.calculator not in _FACE_NODES]
    if sorted(n.calculator for n in nodes) != sorted(_BODY_NODES):
        found = ", ".join(n.calculator for n in graph.node)
        raise DependencyError(f"unexpected MediaPipe Holistic graph in {path}: {found}")
    outputs = [s for s in graph.output_stream if not s.startswith("FACE_LANDMARKS:")]
    sides = [s for s in graph.input_side_packet if not s.startswith("REFINE_FACE_LANDMARKS:")]
    del graph.node[:], graph.output_stream[:], graph.input_side_packet[:]
    graph.node.extend(nodes)
    graph.output_stream.extend(outputs)
    graph.input_side_packet.extend(sides)
    graph.type = "HolisticBodyLandmarkCpu"
    return graph


def _full_graph(c: HolisticConfig) -> Any:
    """MediaPipe's Holistic solution with ``c``'s settings."""
    import mediapipe as mp

    return mp.solutions.holistic.Holistic(
        static_image_mode=c.static_image_mode,
        model_complexity=c.model_complexity,
        smooth_landmarks=c.smooth_landmarks,
        enable_segmentation=False,
        refine_face_landmarks=False,
        min_detection_confidence=c.min_detection_confidence,
        min_tracking_confidence=c.min_tracking_confidence,
    )


def _body_graph(c: HolisticConfig) -> Any:
    """A MediaPipe solution running :func:`body_graph_config` with ``c``'s settings."""
    from mediapipe.python.solution_base import SolutionBase

    video = not c.static_image_mode
    return SolutionBase(
        graph_config=body_graph_config(),
        side_inputs={
            "model_complexity": c.model_complexity,
            "smooth_landmarks": c.smooth_landmarks and video,
            "enable_segmentation": False,
            "smooth_segmentation": video,
            "use_prev_landmarks": video,
        },
        calculator_params={
            _DETECTION_PARAM: c.min_detection_confidence,
            _TRACKING_PARAM: c.min_tracking_confidence,
        },
        outputs=["pose_landmarks", "left_hand_landmarks", "right_hand_landmarks"],
    )


def _fill(out: NDArray[np.float32], start: int, size: int, landmarks: Any) -> None:
    if landmarks is None:
        return
    pts = landmarks.landmark
    n = min(size, len(pts))
    out[start : start + n] = [(p.x, p.y, p.z) for p in pts[:n]]


def results_to_array(results: Any) -> NDArray[np.float32]:
    """One MediaPipe Holistic result -> (543, 3) float32, NaN for missing parts."""
    out = np.full((N_POINTS, 3), np.nan, dtype=np.float32)
    # A graph without the face branch has no face_landmarks field.
    _fill(out, FACE.start, FACE.size, getattr(results, "face_landmarks", None))
    _fill(out, LEFT_HAND.start, LEFT_HAND.size, results.left_hand_landmarks)
    _fill(out, POSE.start, POSE.size, results.pose_landmarks)
    _fill(out, RIGHT_HAND.start, RIGHT_HAND.size, results.right_hand_landmarks)
    return out


class HolisticExtractor:
    """A MediaPipe Holistic graph; feed frames of one clip in order.

    Use as a context manager, or call :meth:`close`. Create one per clip or stream
    (video mode tracks between frames) or call :meth:`reset` between clips.
    """

    def __init__(self, config: HolisticConfig | None = None) -> None:
        self.config = config or HolisticConfig()
        self._graph: Any = None

    def _open(self) -> Any:
        if self._graph is None:
            c = self.config
            self._graph = _full_graph(c) if c.face else _body_graph(c)
        return self._graph

    def process(self, image_rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Landmarks of one RGB uint8 frame: (543, 3) float32."""
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
            raise InputError(f"expected an RGB frame (H, W, 3), got shape {image_rgb.shape}")
        graph = self._open()
        image = np.ascontiguousarray(image_rgb, dtype=np.uint8)
        image.flags.writeable = False
        return results_to_array(graph.process(image))

    def stream(self, images: Iterable[NDArray[np.uint8]]) -> Iterator[NDArray[np.float32]]:
        """Landmarks of each frame as it comes (for live use)."""
        for image in images:
            yield self.process(image)

    def extract(self, images: Iterable[NDArray[np.uint8]]) -> NDArray[np.float32]:
        """Landmarks of a sequence of frames: (T, 543, 3) float32."""
        rows = list(self.stream(images))
        if not rows:
            return np.zeros((0, N_POINTS, 3), dtype=np.float32)
        return np.stack(rows)

    def warm_up(self) -> None:
        """Open the graph and run one blank frame now (model loading takes about 1.5 s
        on the first frame), then forget it: real-time callers start their clock after
        this, so the first second of signing is not lost to start-up."""
        self.process(np.zeros((64, 64, 3), dtype=np.uint8))
        self.reset()

    def reset(self) -> None:
        """Forget tracking state, so the next frame starts a new clip.

        Restarts the graph's run (MediaPipe's ``SolutionBase.reset``: every calculator is
        closed and opened again) instead of building a new graph: the landmarks are
        identical to a fresh graph's (``tests/landmarks/test_holistic.py``), and a
        long-lived process does not fragment its heap with a graph per clip (a server
        worker crept from 0.5 to 0.7 GB over 10 clips; with a restart it stays at 0.5).
        """
        if self._graph is not None:
            self._graph.reset()

    def close(self) -> None:
        """Release the MediaPipe graph (a later frame opens a new one)."""
        if self._graph is not None:
            self._graph.close()
            self._graph = None

    def __enter__(self) -> HolisticExtractor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def extract_video(
    source: VideoSource,
    *,
    target_fps: float | None = None,
    config: HolisticConfig | None = None,
    limits: VideoLimits | None = None,
    start: int | None = None,
    stop: int | None = None,
    extractor: HolisticExtractor | None = None,
) -> tuple[NDArray[np.float32], float]:
    """Decode a clip and extract its landmarks. Returns (landmarks, fps of the landmarks).

    ``start``/``stop`` pick source frames (see :func:`sign2text.io.video.iter_frames`).
    A given ``extractor`` is reset before and after the clip (video mode tracks across
    frames, so state must not leak between clips); otherwise a fresh one is used.
    The video header is read before MediaPipe starts, so an unreadable file fails fast.
    """
    from sign2text.io.video import VideoLimits, iter_frames, output_fps, probe

    limits = limits or VideoLimits()
    info = probe(source, limits)
    fps = output_fps(info.fps, target_fps)
    frames = iter_frames(source, target_fps=target_fps, limits=limits, start=start, stop=stop)
    images = (f.image for f in frames)
    if extractor is not None:
        extractor.reset()
        try:
            return extractor.extract(images), fps
        finally:
            extractor.reset()
    with HolisticExtractor(config) as ex:
        return ex.extract(images), fps
