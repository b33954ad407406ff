"""The named skeleton of the landmark layout.

Every landmark array in Sign2Text is ``(T, 543, 3)`` float32 in the Kaggle GISLR
holistic order, with NaN where a part was not detected:

====================  =========  ======
part                  indices    points
====================  =========  ======
face                  0-467      468
left_hand             468-488    21
pose                  489-521    33
right_hand            522-542    21
====================  =========  ======

Parts, point subsets, limb connections and the left/right mirror map are data here;
no other module holds bare index lists. The connection lists come from MediaPipe's
own ``*_connections`` modules; the face mirror map was derived once from real frontal
faces (mean of MediaPipe face meshes over three clips, reflected, optimally matched).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

N_POINTS = 543
N_DIMS = 3


@dataclass(frozen=True)
class Part:
    name: str
    start: int
    size: int

    @property
    def stop(self) -> int:
        return self.start + self.size

    @property
    def indices(self) -> NDArray[Any]:
        return np.arange(self.start, self.stop)


FACE = Part("face", 0, 468)
LEFT_HAND = Part("left_hand", 468, 21)
POSE = Part("pose", 489, 33)
RIGHT_HAND = Part("right_hand", 522, 21)
PARTS: dict[str, Part] = {p.name: p for p in (FACE, LEFT_HAND, POSE, RIGHT_HAND)}

# MediaPipe pose point names (index within the pose part).
POSE_NAMES = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
POSE_INDEX = {name: i for i, name in enumerate(POSE_NAMES)}

# Pose points above the waist that carry signing information.
UPPER_BODY_POSE = (0, 2, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 23, 24)


@cache
def _data() -> dict[str, list[int] | list[list[int]]]:
    text = resources.files("sign2text.landmarks").joinpath("skeleton.json").read_text()
    data: dict[str, list[int] | list[list[int]]] = json.loads(text)
    return data


def _ints(key: str) -> tuple[int, ...]:
    return tuple(int(v) for v in _data()[key])  # type: ignore[arg-type]


def _pairs(key: str) -> tuple[tuple[int, int], ...]:
    return tuple((int(a), int(b)) for a, b in _data()[key])  # type: ignore[misc]


def hand_connections() -> tuple[tuple[int, int], ...]:
    """Connections between the 21 points of one hand (indices within the hand)."""
    return _pairs("hand_connections")


def pose_connections() -> tuple[tuple[int, int], ...]:
    """Connections between the 33 pose points (indices within the pose part)."""
    return _pairs("pose_connections")


def lips_points() -> tuple[int, ...]:
    """The 40 face-mesh points of the lips (indices within the face part)."""
    return _ints("lips")


def face_contour_points() -> tuple[int, ...]:
    """Face-mesh points on the face contours: oval, eyes, brows, lips."""
    return _ints("face_contour_points")


def limbs() -> tuple[tuple[int, int], ...]:
    """All connections in global (543-point) indices, for drawing."""
    out: list[tuple[int, int]] = []
    for hand in (LEFT_HAND, RIGHT_HAND):
        out += [(hand.start + a, hand.start + b) for a, b in hand_connections()]
    out += [(POSE.start + a, POSE.start + b) for a, b in pose_connections()]
    out += [(FACE.start + a, FACE.start + b) for a, b in _pairs("lips_connections")]
    return tuple(out)


def _pose_mirror() -> NDArray[Any]:
    m = np.arange(POSE.size)
    for name, i in POSE_INDEX.items():
        for a, b in (("left", "right"), ("right", "left")):
            if name.startswith(a + "_"):
                m[i] = POSE_INDEX[b + name[len(a) :]]
    return m


@cache
def mirror_map() -> NDArray[Any]:
    """Permutation of the 543 points that swaps left and right (for horizontal flips).

    ``mirrored[:, i] = flipped[:, mirror_map()[i]]``: the left hand becomes the right
    hand, left shoulder the right shoulder, and each face point its reflection.
    """
    m = np.arange(N_POINTS)
    m[FACE.start : FACE.stop] = FACE.start + np.asarray(_ints("face_mirror"))
    m[LEFT_HAND.start : LEFT_HAND.stop] = RIGHT_HAND.indices
    m[RIGHT_HAND.start : RIGHT_HAND.stop] = LEFT_HAND.indices
    m[POSE.start : POSE.stop] = POSE.start + _pose_mirror()
    m.setflags(write=False)
    return m


def _subset_hands() -> NDArray[Any]:
    return np.concatenate([LEFT_HAND.indices, RIGHT_HAND.indices])


def _subset_upper_body() -> NDArray[Any]:
    return POSE.start + np.asarray(UPPER_BODY_POSE)


def _subset_lips() -> NDArray[Any]:
    return FACE.start + np.asarray(lips_points())


def _subset_face_contours() -> NDArray[Any]:
    return FACE.start + np.asarray(face_contour_points())


_SUBSETS: dict[str, Callable[[], NDArray[Any]]] = {
    "hands": _subset_hands,
    "upper_body": _subset_upper_body,
    "pose": lambda: POSE.indices,
    "lips": _subset_lips,
    "face_contours": _subset_face_contours,
    "face": lambda: FACE.indices,
}


def subset_names() -> list[str]:
    return sorted(_SUBSETS)


def subset(names: tuple[str, ...] | list[str]) -> NDArray[Any]:
    """Global indices of the union of named point subsets, in a stable order."""
    from sign2text.errors import ConfigError

    parts: list[NDArray[Any]] = []
    for name in names:
        if name not in _SUBSETS:
            raise ConfigError(f"unknown point subset {name!r}; valid: {', '.join(subset_names())}")
        parts.append(_SUBSETS[name]())
    idx = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    _, first = np.unique(idx, return_index=True)
    out: NDArray[Any] = idx[np.sort(first)].astype(np.int64)
    return out


def empty(frames: int) -> NDArray[Any]:
    """An all-NaN landmark array of ``frames`` frames."""
    return np.full((frames, N_POINTS, N_DIMS), np.nan, dtype=np.float32)


def validate(landmarks: NDArray[Any], where: str = "landmarks") -> NDArray[Any]:
    """Check shape and dtype of a landmark array; return it as float32."""
    from sign2text.errors import InputError

    arr = np.asarray(landmarks)
    if arr.ndim != 3 or arr.shape[1:] != (N_POINTS, N_DIMS):
        raise InputError(f"{where}: expected shape (T, {N_POINTS}, {N_DIMS}), got {arr.shape}")
    if arr.shape[0] == 0:
        raise InputError(f"{where}: no frames")
    return arr.astype(np.float32, copy=False)


def detection_rate(landmarks: NDArray[Any], part: Part) -> float:
    """Fraction of frames in which ``part`` was detected."""
    if len(landmarks) == 0:
        return 0.0
    seen = ~np.isnan(landmarks[:, part.start : part.stop, 0]).all(axis=1)
    return float(seen.mean())


def hand_rate(landmarks: NDArray[Any]) -> float:
    """Fraction of frames in which at least one hand was detected."""
    if len(landmarks) == 0:
        return 0.0
    left = ~np.isnan(landmarks[:, LEFT_HAND.start : LEFT_HAND.stop, 0]).all(axis=1)
    right = ~np.isnan(landmarks[:, RIGHT_HAND.start : RIGHT_HAND.stop, 0]).all(axis=1)
    return float((left | right).mean())
