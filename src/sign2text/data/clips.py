"""RGB video clips for the RGB models: settings, decoding, cache, sampling, augmentation.

Torch-free (NumPy, PyAV, OpenCV), so the runtime shares the exact preprocessing that
training used.

Pipeline of one clip:

1. **decode** (PyAV, at most ``fps`` frames per second, the importer's frame range) and
   **resize** every frame to ``resize`` x ``resize`` (squashed, aspect not kept: MediaPipe
   landmarks are normalized to the frame, so they stay valid);
2. **cache** the resized uint8 frames as a checksummed ``.npz`` (``sign2text.io.atomic``),
   keyed by the file's path, size, mtime and the decode settings, so later epochs (and
   runs) never decode again; a corrupt cache is rebuilt. For pose targets (TwoOutNet) the
   MediaPipe landmarks of every cached frame are extracted once, from the full-resolution
   frames, and cached alongside (``<key>.pose.npz``);
3. **sample** ``frames`` frame indices (``uniform`` over the clip, or a ``random`` window
   during training), apply the clip-consistent augmentation (the same crop, flip, colour
   jitter and time resample for every frame of the clip), **crop** to ``size`` (centre
   crop at evaluation) and **normalize** to float32 ``(T, 3, size, size)``.

``CLIP_AUGMENTATIONS`` is the registry of clip augmentations (``[[augment]]`` entries of
an RGB config), like :data:`sign2text.features.augment.AUGMENTATIONS` for landmarks.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from sign2text.data.importers.base import VideoItem
from sign2text.data.sample import Sample
from sign2text.errors import ConfigError, DatasetError, IntegrityError
from sign2text.io.video import VideoLimits, VideoSource, iter_frames
from sign2text.registry import Registry, pipeline_step

log = logging.getLogger(__name__)

SAMPLINGS = ("uniform", "random")
# Pose-regression targets: MediaPipe pose (33) + left hand (21) + right hand (21), (x, y).
POSE_SLICES = ((489, 522), (468, 489), (522, 543))  # pose, left hand, right hand
POSE_POINTS = 75
_POSE_MIRROR = (
    0,
    4,
    5,
    6,
    1,
    2,
    3,
    8,
    7,
    10,
    9,
    *[i + (1 if i % 2 else -1) for i in range(11, 33)],
)
# flip: pose points swap left/right, and the two hands swap blocks
POSE_FLIP = np.array([*_POSE_MIRROR, *range(54, 75), *range(33, 54)], dtype=np.int64)
CACHE_VERSION = 1


@dataclass(frozen=True)
class ClipConfig:
    """The RGB input pipeline (``[clips]`` in a config; stored in checkpoints and ONNX)."""

    size: int = 112
    frames: int = 16
    resize: int = 128  # cached frame side; training crops ``size`` from it
    fps: float = 15.0  # decode rate cap (0 = every frame)
    sampling: str = "random"  # for training clips; evaluation is always uniform
    window_min: float = 0.7  # random window: at least this fraction of the clip
    mean: tuple[float, float, float] = (0.45, 0.45, 0.45)
    std: tuple[float, float, float] = (0.225, 0.225, 0.225)
    pose: bool = False  # decode pose targets (set by models that regress landmarks)

    def __post_init__(self) -> None:
        if self.size < 16 or self.resize < self.size:
            raise ConfigError(f"clips: need 16 <= size <= resize, got {self.size}/{self.resize}")
        if self.frames < 1:
            raise ConfigError(f"clips.frames must be >= 1, got {self.frames}")
        if self.sampling not in SAMPLINGS:
            raise ConfigError(f"clips.sampling must be one of {', '.join(SAMPLINGS)}")
        if not 0.0 < self.window_min <= 1.0:
            raise ConfigError("clips.window_min must be in (0, 1]")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ConfigError("clips.mean and clips.std need 3 values (std > 0)")
        if self.fps < 0:
            raise ConfigError("clips.fps must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClipConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown clips key(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}"
            )
        kw = dict(data)
        for key in ("mean", "std"):
            if key in kw:
                kw[key] = tuple(float(v) for v in kw[key])
        try:
            return cls(**kw)
        except TypeError as exc:
            raise ConfigError(f"bad clips value: {exc}") from None


# ----------------------------------------------------------------- samples
def clip_samples(path: str | Path, layout: str | None = None) -> list[Sample]:
    """The clips of a video dataset (``VIDEO_IMPORTERS``: wlasl, folder, flat) as samples.

    Each :class:`Sample` has an empty landmark array; ``meta`` holds the clip path and
    frame range, so the split, vocabulary and per-signer tools apply unchanged.
    """
    from sign2text.data.importers import list_videos

    return [item_sample(it) for it in list_videos(path, layout)]


def item_sample(item: VideoItem) -> Sample:
    meta = {"video": str(item.path)}
    if item.frame_start is not None:
        meta["frame_start"] = str(item.frame_start)
    if item.frame_end is not None:
        meta["frame_end"] = str(item.frame_end)
    return Sample(
        landmarks=np.zeros((0, 543, 3), dtype=np.float16),
        label=item.label,
        signer=item.signer,
        source_id=item.source_id,
        split=item.split,
        meta=meta,
    )


def _range(sample: Sample) -> tuple[int | None, int | None]:
    a, b = sample.meta.get("frame_start"), sample.meta.get("frame_end")
    return (int(a) if a else None), (int(b) if b else None)


# ------------------------------------------------------------- decoding
def resize_square(image: NDArray[np.uint8], side: int) -> NDArray[np.uint8]:
    """Resize an RGB frame to ``side`` x ``side`` (area interpolation when shrinking)."""
    import cv2

    h, w = image.shape[:2]
    interp = cv2.INTER_AREA if side < min(h, w) else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(image, (side, side), interpolation=interp), dtype=np.uint8)


def decode_clip(
    source: VideoSource,
    cfg: ClipConfig,
    *,
    start: int | None = None,
    stop: int | None = None,
    pose: Callable[[NDArray[np.uint8]], NDArray[np.float32]] | None = None,
    limits: VideoLimits | None = None,
) -> tuple[NDArray[np.uint8], NDArray[np.float32] | None]:
    """Decoded frames resized to (N, resize, resize, 3) uint8; with ``pose``, also the
    landmarks (N, 543, 3) it returns for each full-resolution frame."""
    images: list[NDArray[np.uint8]] = []
    marks: list[NDArray[np.float32]] = []
    fps = cfg.fps if cfg.fps > 0 else None
    for frame in iter_frames(source, target_fps=fps, limits=limits, start=start, stop=stop):
        images.append(resize_square(frame.image, cfg.resize))
        if pose is not None:
            marks.append(pose(frame.image))
    if not images:
        raise DatasetError(f"{source if isinstance(source, str | Path) else 'clip'}: no frames")
    return np.stack(images), (np.stack(marks) if pose is not None else None)


def pose_targets(landmarks: NDArray[Any]) -> NDArray[np.float32]:
    """(N, 543, 3) landmarks -> (N, 75, 2) (x, y) in [0, 1]; NaN where not detected."""
    parts = [np.asarray(landmarks[:, a:b, :2], dtype=np.float32) for a, b in POSE_SLICES]
    out = np.concatenate(parts, axis=1)
    return np.clip(out, 0.0, 1.0)  # NaN stays NaN


# ---------------------------------------------------------------- cache
class ClipCache:
    """Decoded, resized clips (and pose targets) on disk as checksummed ``.npz``.

    ``decodes`` counts real decodes (cache misses), for tests and logs.
    """

    def __init__(self, folder: str | Path | None, cfg: ClipConfig) -> None:
        self.folder = Path(folder) if folder else None
        self.cfg = cfg
        self.decodes = 0
        self._extractor: Any = None

    def key(self, sample: Sample) -> str:
        path = Path(sample.meta["video"])
        try:
            st = path.stat()
        except OSError as exc:
            raise DatasetError(f"{path}: cannot read clip ({exc.strerror})") from None
        spec = {
            "v": CACHE_VERSION,
            "path": str(path.resolve()),
            "size": st.st_size,
            "mtime": st.st_mtime_ns,
            "range": _range(sample),
            "resize": self.cfg.resize,
            "fps": self.cfg.fps,
        }
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]

    def _pose_fn(self) -> Callable[[NDArray[np.uint8]], NDArray[np.float32]]:
        if self._extractor is None:
            from sign2text.landmarks.holistic import HolisticConfig, HolisticExtractor

            # Pose and hand targets only: no face mesh (the same pose and hands without it).
            self._extractor = HolisticExtractor(HolisticConfig(face=False))
        extractor = self._extractor
        extractor.reset()
        fn: Callable[[NDArray[np.uint8]], NDArray[np.float32]] = extractor.process
        return fn

    def close(self) -> None:
        if self._extractor is not None:
            self._extractor.close()
            self._extractor = None

    def load(self, sample: Sample) -> tuple[NDArray[np.uint8], NDArray[np.float32] | None]:
        """Frames (N, R, R, 3) uint8 and, when ``cfg.pose``, targets (N, 75, 2)."""
        from sign2text.io.atomic import load_npz_checked, save_npz_checked

        if self.folder is None:  # no disk cache: decode every time
            return self._decode(sample)
        key = self.key(sample)
        path = self.folder / f"clip-{key}.npz"
        pose_path = self.folder / f"clip-{key}.pose.npz"
        frames: NDArray[np.uint8] | None = None
        targets: NDArray[np.float32] | None = None
        try:
            if path.exists():
                frames = load_npz_checked(path)["frames"]
            if self.cfg.pose and pose_path.exists():
                targets = load_npz_checked(pose_path)["pose"]
        except (IntegrityError, KeyError, ValueError, OSError):
            log.warning("clip cache %s is corrupt; decoding again", path)
            frames, targets = None, None
        need_pose = self.cfg.pose and targets is None
        if frames is None or need_pose or (targets is not None and len(targets) != len(frames)):
            frames, targets = self._decode(sample)
            self.folder.mkdir(parents=True, exist_ok=True)
            save_npz_checked(path, {"frames": frames})
            if targets is not None:
                save_npz_checked(pose_path, {"pose": targets})
        return frames, targets

    def _decode(self, sample: Sample) -> tuple[NDArray[np.uint8], NDArray[np.float32] | None]:
        start, stop = _range(sample)
        self.decodes += 1
        frames, lm = decode_clip(
            sample.meta["video"],
            self.cfg,
            start=start,
            stop=stop,
            pose=self._pose_fn() if self.cfg.pose else None,
        )
        return frames, (pose_targets(lm) if lm is not None else None)


# ----------------------------------------------------- sampling, cropping
def sample_indices(
    n: int,
    frames: int,
    mode: str = "uniform",
    rng: np.random.Generator | None = None,
    window_min: float = 0.7,
) -> NDArray[np.int64]:
    """``frames`` indices into a clip of ``n`` frames (repeats when the clip is short)."""
    if n < 1:
        raise DatasetError("a clip has no frames")
    lo, hi = 0.0, float(n - 1)
    if mode == "random" and rng is not None and n > 1:
        length = hi * rng.uniform(window_min, 1.0)
        lo = rng.uniform(0.0, hi - length)
        hi = lo + length
    out: NDArray[np.int64] = np.rint(np.linspace(lo, hi, frames)).astype(np.int64)
    return out


def center_crop(clip: NDArray[np.uint8], size: int) -> NDArray[np.uint8]:
    """Centre ``size`` x ``size`` crop of (T, H, W, 3) frames."""
    h, w = clip.shape[1:3]
    top, left = (h - size) // 2, (w - size) // 2
    return clip[:, top : top + size, left : left + size]


def normalize(clip: NDArray[np.uint8], cfg: ClipConfig) -> NDArray[np.float32]:
    """(T, H, W, 3) uint8 -> (T, 3, H, W) float32, ``(x / 255 - mean) / std``."""
    x = clip.astype(np.float32) / 255.0
    x = (x - np.asarray(cfg.mean, np.float32)) / np.asarray(cfg.std, np.float32)
    out: NDArray[np.float32] = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    return out


def crop_pose(
    pose: NDArray[np.float32], top: int, left: int, full: int, size: int
) -> NDArray[np.float32]:
    """Pose targets of a full frame -> coordinates in a ``size`` crop at (top, left)."""
    out = pose.copy()
    out[..., 0] = (pose[..., 0] * full - left) / size
    out[..., 1] = (pose[..., 1] * full - top) / size
    out = np.where((out < 0) | (out > 1), np.nan, out)  # left the crop: not a target
    result: NDArray[np.float32] = out.astype(np.float32)
    return result


def eval_clip(
    frames: NDArray[np.uint8], cfg: ClipConfig, pose: NDArray[np.float32] | None = None
) -> tuple[NDArray[np.float32], NDArray[np.bool_], NDArray[np.float32] | None]:
    """Deterministic pipeline (evaluation, export, runtime): uniform sampling, centre crop."""
    idx = sample_indices(len(frames), cfg.frames)
    clip = center_crop(frames[idx], cfg.size)
    off = (cfg.resize - cfg.size) // 2
    p = crop_pose(pose[idx], off, off, cfg.resize, cfg.size) if pose is not None else None
    return normalize(clip, cfg), np.ones(cfg.frames, dtype=bool), p


# ----------------------------------------------------------- augmentation
@dataclass
class ClipView:
    """What augmentations transform: the sampled frame indices, the crop box, the flip,
    colour factors. Applied at once by :func:`render`, so every frame gets the same."""

    indices: NDArray[np.int64]
    top: int
    left: int
    flip: bool = False
    brightness: float = 1.0
    contrast: float = 1.0
    saturation: float = 1.0


class ClipAugmentation(Protocol):
    def __call__(
        self, view: ClipView, n: int, cfg: ClipConfig, rng: np.random.Generator
    ) -> ClipView: ...


CLIP_AUGMENTATIONS: Registry[Callable[..., ClipAugmentation]] = Registry("clip augmentation")


@CLIP_AUGMENTATIONS.register("random_crop")
@dataclass(frozen=True)
class RandomCrop:
    """One random ``size`` crop position for the whole clip."""

    def __call__(
        self, view: ClipView, n: int, cfg: ClipConfig, rng: np.random.Generator
    ) -> ClipView:
        span = cfg.resize - cfg.size
        view.top, view.left = int(rng.integers(0, span + 1)), int(rng.integers(0, span + 1))
        return view


@CLIP_AUGMENTATIONS.register("flip")
@dataclass(frozen=True)
class Flip:
    """Horizontal flip of every frame (pose targets mirrored, hands swapped)."""

    def __call__(
        self, view: ClipView, n: int, cfg: ClipConfig, rng: np.random.Generator
    ) -> ClipView:
        view.flip = not view.flip
        return view


@CLIP_AUGMENTATIONS.register("color_jitter")
@dataclass(frozen=True)
class ColorJitter:
    """Brightness, contrast and saturation factors drawn once per clip."""

    brightness: float = 0.3
    contrast: float = 0.3
    saturation: float = 0.3

    def __call__(
        self, view: ClipView, n: int, cfg: ClipConfig, rng: np.random.Generator
    ) -> ClipView:
        view.brightness = float(rng.uniform(1 - self.brightness, 1 + self.brightness))
        view.contrast = float(rng.uniform(1 - self.contrast, 1 + self.contrast))
        view.saturation = float(rng.uniform(1 - self.saturation, 1 + self.saturation))
        return view


@CLIP_AUGMENTATIONS.register("time_resample")
@dataclass(frozen=True)
class TimeResample:
    """Play the clip ``low``..``high`` times as fast (re-samples the frame indices)."""

    low: float = 0.7
    high: float = 1.3

    def __call__(
        self, view: ClipView, n: int, cfg: ClipConfig, rng: np.random.Generator
    ) -> ClipView:
        speed = float(rng.uniform(self.low, self.high))
        first = float(view.indices[0])
        span = (float(view.indices[-1]) - first) * speed
        span = min(span, n - 1.0)
        first = min(first, n - 1.0 - span)
        view.indices = np.rint(np.linspace(first, first + span, len(view.indices))).astype(np.int64)
        return view


@dataclass(frozen=True)
class ClipAugmenter:
    steps: tuple[tuple[ClipAugmentation, float], ...]

    def __call__(
        self, view: ClipView, n: int, cfg: ClipConfig, rng: np.random.Generator
    ) -> ClipView:
        for aug, p in self.steps:
            if p >= 1.0 or rng.random() < p:
                view = aug(view, n, cfg, rng)
        return view


def build_clip_augmenter(specs: Sequence[Mapping[str, Any]]) -> ClipAugmenter:
    """From config entries ``{"name", "p", **kwargs}`` (see :data:`CLIP_AUGMENTATIONS`)."""
    steps: list[tuple[ClipAugmentation, float]] = []
    for spec in specs:
        name, p, kw = pipeline_step(spec)
        try:
            steps.append((CLIP_AUGMENTATIONS.get(name)(**kw), p))
        except TypeError as exc:
            raise ConfigError(f"clip augmentation {name!r}: bad arguments: {exc}") from None
    return ClipAugmenter(tuple(steps))


def _colour(clip: NDArray[np.float32], view: ClipView) -> NDArray[np.float32]:
    x = clip * view.brightness
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    x = (x - mean) * view.contrast + mean
    grey = x.mean(axis=3, keepdims=True)
    x = (x - grey) * view.saturation + grey
    out: NDArray[np.float32] = np.clip(x, 0.0, 255.0)
    return out


def render(
    frames: NDArray[np.uint8],
    view: ClipView,
    cfg: ClipConfig,
    pose: NDArray[np.float32] | None = None,
) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
    """Apply one :class:`ClipView` to every frame: normalized (T, 3, S, S) (+ pose)."""
    s = cfg.size
    clip = frames[view.indices, view.top : view.top + s, view.left : view.left + s]
    p = (
        crop_pose(pose[view.indices], view.top, view.left, cfg.resize, s)
        if pose is not None
        else None
    )
    if view.flip:
        clip = clip[:, :, ::-1]
        if p is not None:
            p = p[:, POSE_FLIP].copy()
            p[..., 0] = 1.0 - p[..., 0]
    if (view.brightness, view.contrast, view.saturation) != (1.0, 1.0, 1.0):
        clip = _colour(clip.astype(np.float32), view).astype(np.uint8)
    return normalize(np.ascontiguousarray(clip), cfg), p


def train_view(
    n: int, cfg: ClipConfig, rng: np.random.Generator, augmenter: ClipAugmenter | None
) -> ClipView:
    """The sampling (cfg.sampling) and augmentation draw of one training clip."""
    off = (cfg.resize - cfg.size) // 2
    idx = sample_indices(n, cfg.frames, cfg.sampling, rng, cfg.window_min)
    view = ClipView(indices=idx, top=off, left=off)
    return augmenter(view, n, cfg, rng) if augmenter is not None else view


# --------------------------------------------------------------- dataset
Item = tuple[NDArray[np.float32], NDArray[np.bool_], int, NDArray[np.float32]]


class VideoClipDataset:
    """Map-style dataset of (clip (T,3,S,S), mask (T,), class, pose (T,75,2) NaN=none).

    Frames come from the :class:`ClipCache` (decoded once); the augmentation draw is
    seeded by (seed, epoch, index), like the landmark :class:`~sign2text.train.loader.ClipDataset`.
    Without pose targets the pose array is all NaN.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        targets: Sequence[int],
        cache: ClipCache,
        augmenter: ClipAugmenter | None = None,
        *,
        train: bool = False,
        seed: int = 0,
        keep_in_memory: bool = True,
    ) -> None:
        self.samples = list(samples)
        self.targets = list(targets)
        self.cache = cache
        self.cfg = cache.cfg
        self.augmenter = augmenter
        self.train = train
        self.seed = seed
        self.epoch = 0
        self._memory: dict[int, tuple[NDArray[np.uint8], NDArray[np.float32] | None]] | None = (
            {} if keep_in_memory else None
        )

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def frames(self, index: int) -> tuple[NDArray[np.uint8], NDArray[np.float32] | None]:
        if self._memory is not None and index in self._memory:
            return self._memory[index]
        got = self.cache.load(self.samples[index])
        if self._memory is not None:
            self._memory[index] = got
        return got

    def __getitem__(self, index: int) -> Item:
        frames, pose = self.frames(index)
        if self.train:
            rng = np.random.default_rng((self.seed, self.epoch, index))
            view = train_view(len(frames), self.cfg, rng, self.augmenter)
            clip, p = render(frames, view, self.cfg, pose)
            mask = np.ones(self.cfg.frames, dtype=bool)
        else:
            clip, mask, p = eval_clip(frames, self.cfg, pose)
        if p is None:
            p = np.full((self.cfg.frames, POSE_POINTS, 2), np.nan, dtype=np.float32)
        return clip, mask, self.targets[index], p
