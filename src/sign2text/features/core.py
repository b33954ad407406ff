"""Landmarks (T, 543, 3) -> model features (T', F) float32 plus a frame mask (T',).

Steps, in order (each switchable in :class:`FeatureConfig`):

1. **Trim rest frames**: keep the frames from the first to the last one with a hand.
   Real clips start and end with the hands at rest below the frame; webcam-tutorial
   recordings do not. Trimming is what made a model trained on the packs work on clips.
2. **Dominant hand**: when the left hand is seen in more frames than the right hand, the
   clip is mirrored (x -> 1 - x, left/right swapped through the skeleton's mirror map)
   so that the dominant hand always sits in the right-hand slot.
3. **Normalize** position and scale per clip: centre = mean mid-shoulder point over the
   clip, scale = mean shoulder width; without a pose (hands-only data) the centre is the
   mean of the hand points and the scale the mean wrist-to-middle-knuckle length x 4.
   Averaging over the clip makes this robust to frames where the pose is missing.
4. **Resample** in time to ``frames`` frames by linear interpolation (NaN-aware), which
   also normalizes signing speed and the unknown frame rates of the packs.
5. **Features per frame**: normalized x, y of the selected point subsets; optionally
   hand shapes in each hand's own frame (relative to the wrist, scaled by hand size);
   optionally velocities (frame differences). NaN -> 0, and a mask marks frames with
   at least one hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.errors import ConfigError, InputError
from sign2text.landmarks import skeleton as sk

_L_SHOULDER = sk.POSE.start + sk.POSE_INDEX["left_shoulder"]
_R_SHOULDER = sk.POSE.start + sk.POSE_INDEX["right_shoulder"]
_WRIST = 0
_MIDDLE_MCP = 9


# Resampled length cap: a sign lasts seconds; 1024 frames is a minute at 15 frames/s.
MAX_FRAMES = 1024


@dataclass(frozen=True)
class FeatureConfig:
    """How landmarks become features. Saved in every checkpoint and ONNX export."""

    subsets: tuple[str, ...] = ("hands", "upper_body")
    dims: int = 2
    frames: int | None = 32
    trim: bool = True
    mirror_left_dominant: bool = True
    hand_shape: bool = True
    velocities: bool = True

    def __post_init__(self) -> None:
        if self.dims not in (2, 3):
            raise ConfigError(f"features.dims must be 2 or 3, got {self.dims}")
        if self.frames is not None and not 2 <= self.frames <= MAX_FRAMES:
            raise ConfigError(
                f"features.frames must be 2 to {MAX_FRAMES}, or 0 (in TOML) for no "
                f"resampling, got {self.frames}"
            )
        sk.subset(self.subsets)  # validates the names

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["subsets"] = list(self.subsets)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown feature settings: {', '.join(sorted(unknown))}")
        kw = dict(data)
        if "subsets" in kw:
            if not isinstance(kw["subsets"], list | tuple):
                raise ConfigError(
                    f"features.subsets must be a list of subset names, got {kw['subsets']!r}"
                )
            kw["subsets"] = tuple(kw["subsets"])
        return cls(**kw)


def _hands_seen(lm: NDArray[Any]) -> tuple[NDArray[Any], NDArray[Any]]:
    left = ~np.isnan(lm[:, sk.LEFT_HAND.start : sk.LEFT_HAND.stop, 0]).all(axis=1)
    right = ~np.isnan(lm[:, sk.RIGHT_HAND.start : sk.RIGHT_HAND.stop, 0]).all(axis=1)
    return left, right


def trim_rest(lm: NDArray[Any]) -> NDArray[Any]:
    """Frames from the first to the last one where a hand was seen (all if none)."""
    left, right = _hands_seen(lm)
    seen = np.flatnonzero(left | right)
    if len(seen) == 0:
        return lm
    return lm[seen[0] : seen[-1] + 1]


def mirror(lm: NDArray[Any]) -> NDArray[Any]:
    """Horizontal flip of landmarks in image coordinates, with left/right swapped."""
    out = lm[:, sk.mirror_map()].copy()
    out[..., 0] = 1.0 - out[..., 0]
    return out


def is_left_dominant(lm: NDArray[Any]) -> bool:
    left, right = _hands_seen(lm)
    return int(left.sum()) > int(right.sum())


def _nanmean(a: NDArray[Any], axis: int | tuple[int, ...] | None = None) -> NDArray[Any]:
    with np.errstate(all="ignore"):
        count = (~np.isnan(a)).sum(axis=axis)
        total = np.nansum(a, axis=axis)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def centre_and_scale(lm: NDArray[Any]) -> tuple[NDArray[Any], float]:
    """Per-clip centre (dims,) and scale from the shoulders, else from the hands."""
    dims = lm.shape[-1]
    ls, rs = lm[:, _L_SHOULDER], lm[:, _R_SHOULDER]
    both = ~np.isnan(ls).any(axis=1) & ~np.isnan(rs).any(axis=1)
    if both.any():
        mid = (ls[both] + rs[both]) / 2
        width = np.linalg.norm((ls[both] - rs[both])[:, :2], axis=1)
        centre = mid.mean(axis=0)
        scale = float(np.median(width))
        if scale > 1e-3:
            return centre.astype(np.float32), scale
    hands = np.concatenate(
        [
            lm[:, sk.LEFT_HAND.start : sk.LEFT_HAND.stop],
            lm[:, sk.RIGHT_HAND.start : sk.RIGHT_HAND.stop],
        ],
        axis=1,
    )
    centre = _nanmean(hands.reshape(-1, dims), axis=0)
    if np.isnan(centre).any():
        return np.full(dims, 0.5, dtype=np.float32), 1.0
    sizes = []
    for part in (sk.LEFT_HAND, sk.RIGHT_HAND):
        h = lm[:, part.start : part.stop, :2]
        sizes.append(np.linalg.norm(h[:, _MIDDLE_MCP] - h[:, _WRIST], axis=1))
    size = _nanmean(np.concatenate(sizes))
    scale = float(size) * 4 if np.isfinite(size) and float(size) > 1e-4 else 1.0
    return centre.astype(np.float32), scale


def resample(x: NDArray[Any], frames: int) -> NDArray[Any]:
    """Linear interpolation in time to ``frames`` frames; NaN stays NaN where a
    neighbour is missing (so a part is never invented between two gaps)."""
    t = len(x)
    if t == frames:
        return x
    if t == 1:
        return np.repeat(x, frames, axis=0)
    pos = np.linspace(0, t - 1, frames)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, t - 1)
    w = (pos - lo).reshape((-1,) + (1,) * (x.ndim - 1)).astype(x.dtype)
    a, b = x[lo], x[hi]
    out = a * (1 - w) + b * w
    # Where one side is missing, take the nearer frame's value (NaN if that is missing).
    near = np.where(w < 0.5, a, b)
    return np.where(np.isnan(a) | np.isnan(b), near, out)


def _hand_shape(lm: NDArray[Any]) -> NDArray[Any]:
    """Each hand relative to its wrist, scaled by its wrist-to-middle-knuckle length."""
    out = []
    for part in (sk.LEFT_HAND, sk.RIGHT_HAND):
        h = lm[:, part.start : part.stop]
        rel = h - h[:, _WRIST : _WRIST + 1]
        size = np.linalg.norm(rel[:, _MIDDLE_MCP, :2], axis=1)
        size = np.where(size > 1e-6, size, np.nan)
        out.append(rel / size[:, None, None])
    return np.concatenate(out, axis=1)


def feature_names(cfg: FeatureConfig) -> list[str]:
    """Names of the feature columns, in order."""
    axes = "xyz"[: cfg.dims]
    idx = sk.subset(cfg.subsets)
    names = [f"p{i}.{a}" for i in idx for a in axes]
    if cfg.hand_shape:
        for hand in ("lh", "rh"):
            names += [f"{hand}{j}.shape.{a}" for j in range(21) for a in axes]
    if cfg.velocities:
        names += [f"d.{n}" for n in list(names)]
    return names


def reads_face(cfg: FeatureConfig) -> bool:
    """Whether the features read a face-mesh point (if not, Holistic may skip the face)."""
    idx = sk.subset(cfg.subsets)
    return bool(((idx >= sk.FACE.start) & (idx < sk.FACE.stop)).any())


def feature_dim(cfg: FeatureConfig) -> int:
    return len(feature_names(cfg))


def compute_features(
    landmarks: NDArray[Any], cfg: FeatureConfig
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Landmarks (T, 543, 3) -> features (T', F) float32 and mask (T',) bool.

    ``T' = cfg.frames`` when set, else the (trimmed) length. Missing values are 0 and
    frames with no hand have ``mask == False``.
    """
    # Garbage input (inf, +-3e38) must give finite features without RuntimeWarnings:
    # the arithmetic below may overflow to inf/NaN, which nan_to_num and clip then fix.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _compute_features(landmarks, cfg)


def _compute_features(
    landmarks: NDArray[Any], cfg: FeatureConfig
) -> tuple[NDArray[Any], NDArray[Any]]:
    lm = sk.validate(landmarks)[..., : cfg.dims].astype(np.float32)
    if cfg.trim:
        lm = trim_rest(lm)
    if cfg.mirror_left_dominant and is_left_dominant(lm):
        lm = mirror(lm)
    centre, scale = centre_and_scale(lm)
    if cfg.frames is not None:
        lm = resample(lm, cfg.frames)
    left, right = _hands_seen(lm)
    mask = left | right
    idx = sk.subset(cfg.subsets)
    pos = (lm[:, idx] - centre) / scale
    cols = [pos.reshape(len(lm), -1)]
    if cfg.hand_shape:
        cols.append(_hand_shape(lm).reshape(len(lm), -1))
    feats = np.concatenate(cols, axis=1)
    if cfg.velocities:
        vel = np.zeros_like(feats)
        vel[1:] = feats[1:] - feats[:-1]
        feats = np.concatenate([feats, vel], axis=1)
    feats = np.nan_to_num(feats, nan=0.0, posinf=0.0, neginf=0.0)
    # Extreme coordinates (garbage input) must not blow up a model.
    np.clip(feats, -50.0, 50.0, out=feats)
    return feats.astype(np.float32), mask


def pad_batch(
    feats: Sequence[NDArray[np.float32]], masks: Sequence[NDArray[np.bool_]]
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Stack variable-length (T_i, F) features into (B, T_max, F) with a padded mask."""
    if len(feats) != len(masks) or not feats:
        raise InputError("features and masks must be non-empty and of equal count")
    t_max = max(len(f) for f in feats)
    x = np.zeros((len(feats), t_max, *feats[0].shape[1:]), dtype=np.float32)
    m = np.zeros((len(feats), t_max), dtype=bool)
    for i, (f, k) in enumerate(zip(feats, masks, strict=True)):
        x[i, : len(f)] = f
        m[i, : len(k)] = k
    return x, m
