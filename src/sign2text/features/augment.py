"""Augmentations of raw landmarks (T, 543, 3), applied before :func:`compute_features`.

Each augmentation draws its random parameters once per clip from the generator it is
given and applies the same transform to every frame (a clip is rotated as a whole,
not frame by frame). All are NaN-safe: a missing part stays missing and nothing
missing is invented. NumPy only.

Build a pipeline from config with :func:`build_augmenter`::

    build_augmenter([{"name": "affine", "p": 0.8, "rotate": 15}, {"name": "mirror", "p": 0.5}])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from sign2text.errors import ConfigError
from sign2text.features.core import mirror, resample
from sign2text.landmarks import skeleton as sk
from sign2text.registry import Registry, pipeline_step


class Augmentation(Protocol):
    """A transform of one clip's landmarks, randomised by ``rng``."""

    def __call__(self, lm: NDArray[Any], rng: np.random.Generator) -> NDArray[Any]: ...


AUGMENTATIONS: Registry[Callable[..., Augmentation]] = Registry("augmentation")


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ConfigError(f"augmentation {name}: {value} is outside [{low}, {high}]")


def _clip_centre(lm: NDArray[Any]) -> NDArray[Any]:
    """Mean x, y of every seen point of the clip (0.5, 0.5 when nothing was seen)."""
    xy = lm[..., :2].reshape(-1, 2)
    seen = ~np.isnan(xy).any(axis=1)
    if not seen.any():
        return np.full(2, 0.5, dtype=np.float32)
    centre: NDArray[Any] = xy[seen].mean(axis=0).astype(np.float32)
    return centre


@AUGMENTATIONS.register("affine")
@dataclass(frozen=True)
class Affine:
    """Rotation (degrees), scale, shear and translation in x/y about the clip centre.

    ``scale=0.2`` draws a factor in [0.8, 1.2] (z is scaled by it too); ``shear`` and
    ``translate`` are maximum absolute values (translation in image units).
    """

    rotate: float = 15.0
    scale: float = 0.2
    shear: float = 0.15
    translate: float = 0.05

    def __post_init__(self) -> None:
        _check_range("affine.rotate", self.rotate, 0.0, 180.0)
        _check_range("affine.scale", self.scale, 0.0, 0.9)
        _check_range("affine.shear", self.shear, 0.0, 1.0)
        _check_range("affine.translate", self.translate, 0.0, 1.0)

    def matrix(self, rng: np.random.Generator) -> tuple[NDArray[Any], float, NDArray[Any]]:
        """One draw: the 2x2 linear part, the scale factor and the shift."""
        theta = np.deg2rad(rng.uniform(-self.rotate, self.rotate))
        s = float(rng.uniform(1.0 - self.scale, 1.0 + self.scale))
        sh = rng.uniform(-self.shear, self.shear, size=2)
        rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        shear = np.array([[1.0, sh[0]], [sh[1], 1.0]])
        shift = rng.uniform(-self.translate, self.translate, size=2)
        return (s * rot @ shear).astype(np.float32), s, shift.astype(np.float32)

    def __call__(self, lm: NDArray[Any], rng: np.random.Generator) -> NDArray[Any]:
        a, s, shift = self.matrix(rng)
        out = lm.copy()
        c = _clip_centre(lm)
        out[..., :2] = (lm[..., :2] - c) @ a.T + c + shift
        if lm.shape[-1] > 2:
            out[..., 2] = lm[..., 2] * s
        return out


@AUGMENTATIONS.register("stretch")
@dataclass(frozen=True)
class Stretch:
    """Scale y against x about the clip centre by a factor log-uniform in
    [1/``max_factor``, ``max_factor``]: the distortion between cameras of different
    aspect ratios.

    MediaPipe divides x by the image width and y by its height, so the same body gives
    y/x proportions 1.33x larger from a 16:9 camera than from a 4:3 one, and the
    shoulder-width normalization of the features (an x length) cannot undo it.
    """

    max_factor: float = 1.35

    def __post_init__(self) -> None:
        _check_range("stretch.max_factor", self.max_factor, 1.0, 4.0)

    def __call__(self, lm: NDArray[Any], rng: np.random.Generator) -> NDArray[Any]:
        log_max = float(np.log(self.max_factor))
        factor = np.float32(np.exp(rng.uniform(-log_max, log_max)))
        out = lm.copy()
        cy = _clip_centre(lm)[1]
        out[..., 1] = (lm[..., 1] - cy) * factor + cy
        return out


# Per side: hand landmarks, then the pose's shoulder, elbow, wrist and hand points.
_ARMS = (
    (sk.LEFT_HAND, 11, 13, 15, (17, 19, 21)),
    (sk.RIGHT_HAND, 12, 14, 16, (18, 20, 22)),
)


@AUGMENTATIONS.register("reach")
@dataclass(frozen=True)
class Reach:
    """Signer style: how far the arms reach out from the shoulders, and hand size.

    One factor log-uniform in [1/``max_factor``, ``max_factor``] per clip scales each
    elbow and wrist about its shoulder; the hand follows its wrist rigidly (its shape is
    kept). Each hand is then scaled about its wrist by a factor log-uniform in
    [1/(1 + ``hand_size``), 1 + ``hand_size``]. The body and face do not move. A clip
    without shoulders (hands-only data) is returned unchanged.
    """

    max_factor: float = 1.25
    hand_size: float = 0.15

    def __post_init__(self) -> None:
        _check_range("reach.max_factor", self.max_factor, 1.0, 3.0)
        _check_range("reach.hand_size", self.hand_size, 0.0, 1.0)

    def __call__(self, lm: NDArray[Any], rng: np.random.Generator) -> NDArray[Any]:
        log_reach = float(np.log(self.max_factor))
        log_hand = float(np.log1p(self.hand_size))
        reach = np.float32(np.exp(rng.uniform(-log_reach, log_reach)))
        size = np.float32(np.exp(rng.uniform(-log_hand, log_hand)))
        out = lm.copy()
        p = sk.POSE.start
        for hand, shoulder, elbow, wrist, fingers in _ARMS:
            s = lm[:, p + shoulder, :2]
            if np.isnan(s).all():
                continue
            s = np.where(np.isnan(s), _nanmean_rows(s), s)  # a missed shoulder: the mean
            for j in (elbow, wrist):
                out[:, p + j, :2] = s + reach * (lm[:, p + j, :2] - s)
            # The hand's own wrist where it was found, else the pose's.
            w = lm[:, hand.start, :2]
            w = np.where(np.isnan(w), lm[:, p + wrist, :2], w)
            shift = np.nan_to_num((reach - 1) * (w - s))[:, None]
            pts = lm[:, hand.start : hand.stop, :2]
            out[:, hand.start : hand.stop, :2] = w[:, None] + shift + size * (pts - w[:, None])
            pw = lm[:, p + wrist, :2][:, None]
            fp = lm[:, [p + f for f in fingers], :2]
            out[:, [p + f for f in fingers], :2] = pw + shift + size * (fp - pw)
        return out


def _nanmean_rows(a: NDArray[Any]) -> NDArray[Any]:
    """Mean over the rows of (T, 2) that are not NaN (call with at least one)."""
    mean: NDArray[Any] = np.nanmean(a, axis=0)
    return mean


@AUGMENTATIONS.register("time_resample")
@dataclass(frozen=True)
class TimeResample:
    """Change the speed: resample to ``T x f`` frames, ``f`` uniform in [low, high]."""

    low: float = 0.5
    high: float = 1.5

    def __post_init__(self) -> None:
        _check_range("time_resample.low", self.low, 0.05, self.high)
        _check_range("time_resample.high", self.high, self.low, 10.0)

    def __call__(self, lm: NDArray[Any], rng: np.random.Generator) -> NDArray[Any]:
        frames = max(2, round(len(lm) * rng.uniform(self.low, self.high)))
        return resample(lm, frames)


@AUGMENTATIONS.register("frame_drop")
@dataclass(frozen=True)
class FrameDrop:
    """Drop each frame with probability ``rate`` (at least ``min_frames`` are kept)."""

    rate: float = 0.1
    min_frames: int = 2

    def __post_init__(self) -> None:
        _check_range("frame_drop.rate", self.rate, 0.0, 1.0)

    def __call__(self, lm: NDArray[Any], rng: np.random.Generator) -> NDArray[Any]:
        keep = rng.random(len(lm)) >= self.rate
        if keep.sum() < min(self.min_frames, len(lm)):
            return lm
        return lm[keep]


@AUGMENTATIONS.register("time_crop")
@dataclass(frozen=True)
class TimeCrop:
    """Keep a random window covering a fraction in [``min_frac``, 1] of the clip."""

    min_frac: float = 0.8

    def __post_init__(self) -> None:
        _check_range("time_crop.min_frac", self.min_frac, 0.05, 1.0)

    def __call__(self, lm: NDArray[Any], rng: np.random.Generator) -> NDArray[Any]:
        t = len(lm)
        length = max(1, min(t, round(t * rng.uniform(self.min_frac, 1.0))))
        start = int(rng.integers(0, t - length + 1))
        return lm[start : start + length]


@AUGMENTATIONS.register("mirror")
@dataclass(frozen=True)
class Mirror:
    """Horizontal flip with left/right swapped (the skeleton's mirror map)."""

    def __call__(self, lm: NDArray[Any], rng: np.random.Generator) -> NDArray[Any]:
        return mirror(lm)


@AUGMENTATIONS.register("part_dropout")
@dataclass(frozen=True)
class PartDropout:
    """Hide one of ``parts`` (set NaN): for the whole clip with probability ``whole``,
    else for a random span of up to ``max_span`` of the clip's frames."""

    parts: tuple[str, ...] = ("left_hand", "right_hand")
    whole: float = 0.5
    max_span: float = 0.5

    def __post_init__(self) -> None:
        if not self.parts:
            raise ConfigError("augmentation part_dropout: parts is empty")
        for name in self.parts:
            if name not in sk.PARTS:
                valid = ", ".join(sorted(sk.PARTS))
                raise ConfigError(
                    f"augmentation part_dropout: unknown part {name!r}; valid: {valid}"
                )
        _check_range("part_dropout.whole", self.whole, 0.0, 1.0)
        _check_range("part_dropout.max_span", self.max_span, 0.0, 1.0)

    def __call__(self, lm: NDArray[Any], rng: np.random.Generator) -> NDArray[Any]:
        part = sk.PARTS[self.parts[int(rng.integers(len(self.parts)))]]
        out = lm.copy()
        t = len(lm)
        if rng.random() < self.whole:
            start, stop = 0, t
        else:
            span = max(1, round(t * rng.uniform(0.0, self.max_span)))
            start = int(rng.integers(0, t - min(span, t) + 1))
            stop = start + span
        out[start:stop, part.start : part.stop] = np.nan
        return out


@AUGMENTATIONS.register("noise")
@dataclass(frozen=True)
class Noise:
    """Gaussian jitter with standard deviation ``std`` on every seen coordinate."""

    std: float = 0.003

    def __post_init__(self) -> None:
        _check_range("noise.std", self.std, 0.0, 1.0)

    def __call__(self, lm: NDArray[Any], rng: np.random.Generator) -> NDArray[Any]:
        noisy: NDArray[Any] = lm + rng.normal(0.0, self.std, size=lm.shape)
        return noisy.astype(lm.dtype)


def create_augmentation(name: str, **kwargs: Any) -> Augmentation:
    """Build the augmentation registered as ``name`` from keyword arguments."""
    factory = AUGMENTATIONS.get(name)
    if "parts" in kwargs:
        kwargs["parts"] = tuple(kwargs["parts"])
    try:
        return factory(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"augmentation {name!r}: bad arguments {sorted(kwargs)}: {exc}") from None


@dataclass(frozen=True)
class Augmenter:
    """Applies each step with its probability, in order, to a float32 copy of a clip."""

    steps: tuple[tuple[Augmentation, float], ...]

    def __call__(self, landmarks: NDArray[Any], rng: np.random.Generator) -> NDArray[Any]:
        lm = np.array(landmarks, dtype=np.float32)
        for aug, p in self.steps:
            if p >= 1.0 or rng.random() < p:
                lm = aug(lm, rng)
        return lm


def build_augmenter(specs: Sequence[Mapping[str, Any]]) -> Augmenter:
    """Pipeline from config: a list of ``{"name": ..., "p": ..., **kwargs}``."""
    steps: list[tuple[Augmentation, float]] = []
    for spec in specs:
        name, p, kw = pipeline_step(spec)
        steps.append((create_augmentation(name, **kw), p))
    return Augmenter(tuple(steps))
