"""The run configuration: frozen dataclasses read from TOML with ``--set`` overrides.

A config file holds top-level keys (``epochs``, ``batch_size``, ...) and the tables
``[data]``, ``[features]``, ``[model]`` (``name`` + ``[model.args]``), ``[optim]``,
``[schedule]``, ``[loss]``, ``[clips]`` (RGB models) and a list ``[[augment]]`` of
``{name, p, **kwargs}``.
Overrides are ``key.sub=value`` strings whose value is parsed as a TOML value (a bare
word that is not valid TOML is taken as a string). Unknown keys are errors, so a typo
never silently falls back to a default. ``{data_dir}`` in a data path expands to the
shared data folder (``SIGN2TEXT_DATA_DIR``). ``features.frames = 0`` means "no fixed
length" (TOML has no null).
"""

from __future__ import annotations

import copy
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from sign2text.data.clips import ClipConfig
from sign2text.errors import ConfigError
from sign2text.features.core import FeatureConfig

SPLIT_PROTOCOLS = ("signer", "random", "file", "signers", "folds", "none")
MONITORS = ("accuracy", "macro_f1", "mcc", "loss")
DEVICES = ("auto", "cpu", "cuda")
DATA_KINDS = ("auto", "landmarks", "video")


@dataclass(frozen=True)
class DataConfig:
    """Which samples, which vocabulary, which split.

    ``split``: ``signer`` (signer-independent, needs signer ids), ``random`` (stratified
    random; figures must be labelled random-split), ``file`` (``split_file`` from
    ``sign2text split``) or ``signers`` (explicit ``val_signers`` / ``test_signers``,
    everyone else trains).
    """

    paths: tuple[str, ...] = ()
    # Rename labels as they are read, before every other setting (e.g. merge synonyms:
    # {bye = "goodbye"}); ``labels`` and ``exclude_labels`` name the mapped labels.
    label_map: Mapping[str, str] = field(default_factory=dict)
    labels: tuple[str, ...] = ()
    exclude_labels: tuple[str, ...] = ()
    exclude_signers: tuple[str, ...] = ()
    real_only: bool = True
    split: str = "signer"
    split_file: str = ""
    split_seed: int = 0
    val: float = 0.15
    test: float = 0.15
    val_signers: tuple[str, ...] = ()
    test_signers: tuple[str, ...] = ()
    cache_dir: str = ""
    # The vocabulary rule (labels with >= min_per_signer sequences from >= min_signers
    # signers; single letters only with include_letters); applied after the filters.
    vocabulary_rule: bool = False
    min_signers: int = 2
    min_per_signer: int = 10
    include_letters: bool = False
    # Drop byte-identical recordings that carry different labels; keep one of exact copies.
    dedupe: bool = False
    # split = "folds": signer folds (each signer tested once); ``fold`` picks the test fold.
    folds: int = 5
    fold: int = 0
    # "video": ``paths`` are video datasets (VIDEO_IMPORTERS layout ``layout``, detected
    # when empty) for the RGB models; "auto": the model's declared input kind decides.
    kind: str = "auto"
    layout: str = ""

    def __post_init__(self) -> None:
        from sign2text.data.select import check_label_map

        check_label_map(self.label_map, "data.label_map")
        if self.kind not in DATA_KINDS:
            raise ConfigError(f"data.kind must be one of {', '.join(DATA_KINDS)}")
        if self.split == "folds" and not 0 <= self.fold < self.folds:
            raise ConfigError(f"data.fold must be in 0..{self.folds - 1}, got {self.fold}")
        if self.split not in SPLIT_PROTOCOLS:
            raise ConfigError(f"data.split must be one of {', '.join(SPLIT_PROTOCOLS)}")
        if self.split == "file" and not self.split_file:
            raise ConfigError("data.split = 'file' needs data.split_file")
        if self.split == "signers" and not (self.val_signers or self.test_signers):
            raise ConfigError("data.split = 'signers' needs data.val_signers or data.test_signers")
        if not (0 <= self.val < 1 and 0 <= self.test < 1 and self.val + self.test < 1):
            raise ConfigError(f"bad split fractions val={self.val} test={self.test}")

    def resolved_paths(self) -> list[Path]:
        """Data paths with ``{data_dir}`` and ``{videos_dir}`` expanded."""
        if not self.paths:
            raise ConfigError("data.paths is empty: give at least one dataset")
        from sign2text.settings import get_settings

        settings = get_settings()
        root, videos = str(settings.data_dir), str(settings.videos_dir)
        return [
            Path(p.replace("{data_dir}", root).replace("{videos_dir}", videos)) for p in self.paths
        ]


@dataclass(frozen=True)
class ModelConfig:
    name: str = "conv_transformer"
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OptimConfig:
    """``name``: adamw | sgd | radam (see :data:`~sign2text.train.optim.OPTIMIZERS`)."""

    name: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.05
    momentum: float = 0.9
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ConfigError(f"optim.lr must be > 0, got {self.lr}")
        if self.weight_decay < 0 or self.grad_clip < 0 or not 0 <= self.momentum < 1:
            raise ConfigError("optim: weight_decay and grad_clip must be >= 0, momentum in [0, 1)")


@dataclass(frozen=True)
class ScheduleConfig:
    """``name``: cosine_warmup | onecycle | plateau | constant."""

    name: str = "cosine_warmup"
    warmup_epochs: float = 1.0
    min_lr_ratio: float = 0.01
    pct_start: float = 0.2
    factor: float = 0.5
    patience: int = 3

    def __post_init__(self) -> None:
        if self.warmup_epochs < 0 or not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError("schedule: warmup_epochs must be >= 0 and min_lr_ratio in [0, 1]")
        if not 0 < self.pct_start < 1 or not 0 < self.factor < 1 or self.patience < 0:
            raise ConfigError("schedule: pct_start and factor must be in (0, 1) and patience >= 0")


@dataclass(frozen=True)
class LossConfig:
    """``name``: cross_entropy | focal."""

    name: str = "cross_entropy"
    label_smoothing: float = 0.1
    gamma: float = 2.0

    def __post_init__(self) -> None:
        if not 0 <= self.label_smoothing < 1 or self.gamma < 0:
            raise ConfigError("loss: label_smoothing must be in [0, 1) and gamma >= 0")


# Far beyond any real run; larger values are typing mistakes (or overflow torch).
MAX_EPOCHS = 100_000
MAX_BATCH = 65_536


@dataclass(frozen=True)
class AverageConfig:
    """Weight averaging: ``name`` none | uniform (SWA: the mean of the weights after
    every step from ``start``) | ema (exponential moving average with ``decay``).
    ``start`` is the fraction of the training steps after which averaging begins. The
    averaged weights are the ones validated and saved."""

    name: str = "none"
    start: float = 0.5
    decay: float = 0.999

    def __post_init__(self) -> None:
        if not 0 <= self.start < 1 or not 0 < self.decay < 1:
            raise ConfigError("average: start must be in [0, 1) and decay in (0, 1)")


@dataclass(frozen=True)
class MixupConfig:
    """Mixup of whole clips within a batch: with probability ``p`` a batch is replaced
    by ``lam * x + (1 - lam) * x[perm]`` (features; the masks are OR-ed) and the loss by
    the same mix of the two targets' losses, ``lam ~ Beta(alpha, alpha)``. ``alpha = 0``
    (the default) is off."""

    alpha: float = 0.0
    p: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.alpha <= 10 or not 0 <= self.p <= 1:
            raise ConfigError("mixup: alpha must be in [0, 10] and p in [0, 1]")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; saved as ``config.json`` in the run dir."""

    data: DataConfig = field(default_factory=DataConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    average: AverageConfig = field(default_factory=AverageConfig)
    mixup: MixupConfig = field(default_factory=MixupConfig)
    clips: ClipConfig = field(default_factory=ClipConfig)
    augment: tuple[Mapping[str, Any], ...] = ()
    epochs: int = 30
    batch_size: int = 64
    patience: int = 10
    monitor: str = "accuracy"
    seed: int = 0
    device: str = "auto"
    num_threads: int = 0
    num_workers: int = 0
    deterministic: bool = True
    max_steps_per_epoch: int = 0
    # Sample training clips with probability ~ 1/sqrt(class count) (with replacement), so
    # the two huge tutorial classes do not drown the rest.
    balanced_sampling: bool = False
    # With balanced_sampling: within each label, every signer gets the same share of that
    # label's draws, so a person with 300 recordings of a word does not define it.
    balance_signers: bool = False

    def __post_init__(self) -> None:
        if self.monitor not in MONITORS:
            raise ConfigError(f"monitor must be one of {', '.join(MONITORS)}")
        if self.device not in DEVICES:
            raise ConfigError(f"device must be one of {', '.join(DEVICES)}")
        if not 1 <= self.epochs <= MAX_EPOCHS or not 1 <= self.batch_size <= MAX_BATCH:
            raise ConfigError(
                f"epochs must be 1 to {MAX_EPOCHS} and batch_size 1 to {MAX_BATCH}, "
                f"got {self.epochs} and {self.batch_size}"
            )
        if self.patience < 1:
            raise ConfigError(
                f"patience must be >= 1 (epochs without improvement), got {self.patience}"
            )
        if not 0 <= self.num_workers <= 8:
            raise ConfigError("num_workers must be in 0..8")
        if self.seed < 0 or self.num_threads < 0 or self.max_steps_per_epoch < 0:
            raise ConfigError("seed, num_threads and max_steps_per_epoch must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (``features.frames`` None stays None)."""
        d = asdict(self)
        d["features"] = self.features.to_dict()
        d["clips"] = self.clips.to_dict()
        d["model"]["args"] = dict(self.model.args)
        d["augment"] = [dict(a) for a in self.augment]
        for key in ("paths", "labels", "exclude_labels", "exclude_signers"):
            d["data"][key] = list(d["data"][key])
        d["data"]["val_signers"] = list(self.data.val_signers)
        d["data"]["test_signers"] = list(self.data.test_signers)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build from a nested dict, rejecting unknown keys."""
        raw = dict(data)
        top = _checked(cls, _only_known(cls, raw, ""), "")
        for section in ("features", "model", "clips"):
            if not isinstance(raw.get(section, {}), Mapping):
                raise ConfigError(f"{section} must be a table")
        feats = dict(raw.get("features", {}))
        if feats.get("frames") == 0:
            feats["frames"] = None
        model = raw.get("model", {})
        _only_known(ModelConfig, model, "model.")
        if not isinstance(model.get("args", {}), Mapping):
            raise ConfigError(
                f"model.args must be a table of the model's arguments, got {model['args']!r}"
            )
        augment = raw.get("augment", [])
        if not isinstance(augment, list) or not all(isinstance(a, dict) for a in augment):
            raise ConfigError("augment must be a list of tables ([[augment]] in TOML)")
        try:
            return cls(
                data=_build(DataConfig, raw.get("data", {}), "data."),
                features=FeatureConfig.from_dict(feats),
                model=ModelConfig(
                    name=str(model.get("name", "conv_transformer")),
                    args=dict(model.get("args", {})),
                ),
                optim=_build(OptimConfig, raw.get("optim", {}), "optim."),
                schedule=_build(ScheduleConfig, raw.get("schedule", {}), "schedule."),
                loss=_build(LossConfig, raw.get("loss", {}), "loss."),
                average=_build(AverageConfig, raw.get("average", {}), "average."),
                mixup=_build(MixupConfig, raw.get("mixup", {}), "mixup."),
                clips=ClipConfig.from_dict(raw.get("clips", {})),
                augment=tuple(dict(a) for a in augment),
                **top,
            )
        except TypeError as exc:
            raise ConfigError(f"bad config value: {exc}") from None


_NESTED = (
    "data",
    "features",
    "model",
    "optim",
    "schedule",
    "loss",
    "average",
    "mixup",
    "clips",
    "augment",
)
D = TypeVar("D")


def _only_known(cls: type, data: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        valid = ", ".join(sorted(known))
        raise ConfigError(
            f"unknown config key(s) {', '.join(prefix + u for u in unknown)}; "
            f"valid under {prefix or 'top level'}: {valid}"
        )
    return {k: v for k, v in data.items() if k not in _NESTED}


_SCALARS: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
}


def _checked(cls: type, kw: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``kw`` after checking each scalar against its field's declared type (TOML and
    ``--set`` give ints, floats, strings and booleans; a wrong kind is a config error
    here, not a TypeError deep inside torch)."""
    types = {f.name: str(f.type).replace(" ", "") for f in fields(cls)}
    for key, value in kw.items():
        declared = types[key]
        if declared.startswith("tuple[str,"):
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{prefix}{key} must be a list of strings, got {value!r}")
            continue
        optional = declared.endswith("|None")
        base = declared.removesuffix("|None")
        allowed = _SCALARS.get(base)
        if allowed is None or (value is None and optional):
            continue
        if (isinstance(value, bool) and base != "bool") or not isinstance(value, allowed):
            raise ConfigError(f"{prefix}{key} must be {base}, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{prefix}{key} must be a finite number, got {value!r}")
    return kw


def _build(cls: type[D], data: Any, prefix: str) -> D:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix.rstrip('.')} must be a table")
    kw = _checked(cls, _only_known(cls, data, prefix), prefix)
    types = {f.name: f.type for f in fields(cls)}  # type: ignore[arg-type]
    for key, value in list(kw.items()):
        if isinstance(value, list) and "tuple" in str(types[key]):
            kw[key] = tuple(value)
    return cls(**kw)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"optim.lr=3e-4"`` -> (["optim", "lr"], 0.0003)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not key=value")
    key, raw = text.split("=", 1)
    path = [k.strip() for k in key.strip().split(".")]
    if not all(path):
        raise ConfigError(f"override {text!r} has an empty key part")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return path, value


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """A deep copy of ``data`` with each ``key.sub=value`` override applied."""
    out = copy.deepcopy(dict(data))
    for text in overrides:
        path, value = parse_override(text)
        node = out
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: {part!r} is not a table")
            node = child
        node[path[-1]] = value
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Raw dict from a ``.toml`` or a saved ``config.json``."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a text file (a config is TOML or JSON)") from None
    try:
        if p.suffix == ".json":
            data: dict[str, Any] = json.loads(text)
        else:
            data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{p}: invalid config ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: a config must be a table of settings, not {type(data).__name__}")
    return data


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a config file (or start from defaults) and apply ``--set`` overrides."""
    data = read_config_file(path) if path is not None else {}
    return TrainConfig.from_dict(apply_overrides(data, overrides))
