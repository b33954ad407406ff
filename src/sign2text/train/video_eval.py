"""Evaluation of RGB models on video datasets (torch only for a ``.pt`` checkpoint).

The same metrics and reports as :func:`sign2text.train.evaluate.evaluate` (top-1/top-5,
macro F1, MCC, per-class, per-signer with the signer from the video importer,
out-of-vocabulary counts, ``report.json``/``report.md``/``confusion.png``), but the
inputs are clips from :mod:`sign2text.data.clips` (uniform sampling, centre crop).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.data.clips import ClipCache, ClipConfig, clip_samples, eval_clip
from sign2text.data.sample import Sample
from sign2text.errors import DatasetError, ModelError
from sign2text.features.core import FeatureConfig
from sign2text.train.evaluate import (
    EvalReport,
    Predictor,
    in_vocabulary,
    report_from_logits,
    write_report,
)

log = logging.getLogger(__name__)


def checkpoint_clip_config(ckpt: dict[str, Any]) -> ClipConfig | None:
    """The clip pipeline of an RGB checkpoint (``ckpt["input"]``), None for landmarks."""
    inp = ckpt.get("input")
    if not isinstance(inp, dict) or inp.get("kind") != "rgb":
        return None
    return ClipConfig.from_dict({k: v for k, v in inp.items() if k != "kind"})


def load_rgb_predictor(
    path: str | Path, device: str = "cpu"
) -> tuple[Predictor, ClipConfig] | None:
    """A predictor and its clip pipeline for an RGB model file; None for a landmark model."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: model file not found")
    if p.suffix == ".onnx":
        from sign2text.runtime.onnx_model import OnnxClassifier

        clf = OnnxClassifier(p)
        if clf.metadata.input != "rgb":
            return None
        cfg = ClipConfig.from_dict(clf.metadata.input_config)
        return Predictor(clf.logits, clf.labels, clf.metadata.features, name=p.name), cfg
    from sign2text.models import read_checkpoint

    ckpt = read_checkpoint(p)
    clip_cfg = checkpoint_clip_config(ckpt)
    if clip_cfg is None:
        return None
    import torch

    from sign2text.models import model_from_checkpoint

    model = model_from_checkpoint(ckpt).to(device)

    @torch.no_grad()
    def predict(x: NDArray[Any], m: NDArray[Any]) -> NDArray[Any]:
        out = model(torch.from_numpy(x).to(device), torch.from_numpy(m).to(device))
        result: NDArray[Any] = out.float().cpu().numpy()
        return result

    name = f"{ckpt['model']['name']} ({p.name})"
    return Predictor(predict, tuple(ckpt["labels"]), FeatureConfig(), name=name), clip_cfg


def clip_inputs(
    samples: Sequence[Sample], cache: ClipCache
) -> list[tuple[NDArray[np.float32], NDArray[np.bool_]]]:
    """The deterministic model input (clip, mask) of every sample."""
    out = []
    for s in samples:
        frames, _ = cache.load(s)
        clip, mask, _ = eval_clip(frames, cache.cfg)
        out.append((clip, mask))
    return out


def predict_clips(
    predictor: Predictor,
    inputs: Sequence[tuple[NDArray[np.float32], NDArray[np.bool_]]],
    batch_size: int = 8,
) -> NDArray[np.float32]:
    """Logits (N, C) of clips, in batches."""
    out = []
    for a in range(0, len(inputs), batch_size):
        part = inputs[a : a + batch_size]
        x = np.stack([c for c, _ in part]).astype(np.float32)
        m = np.stack([k for _, k in part])
        logits = np.asarray(predictor.predict_logits(x, m), dtype=np.float32)
        if logits.shape != (len(x), len(predictor.labels)):
            raise ModelError(f"predictor returned logits {logits.shape}")
        out.append(logits)
    if not out:
        return np.zeros((0, len(predictor.labels)), np.float32)
    return np.concatenate(out)


def evaluate_clips(
    predictor: Predictor,
    samples: Sequence[Sample],
    clip_cfg: ClipConfig,
    *,
    cache_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    batch_size: int = 8,
    meta: dict[str, Any] | None = None,
) -> EvalReport:
    """Evaluate an RGB model on video samples (see :func:`clip_samples`)."""
    inside, y = in_vocabulary(samples, predictor.labels)
    cache = ClipCache(cache_dir, clip_cfg)
    logits = predict_clips(predictor, clip_inputs(inside, cache), batch_size)
    cache.close()
    meta = {"input": "rgb", **dict(meta or {})}
    report = report_from_logits(predictor.name, predictor.labels, samples, inside, y, logits, meta)
    if out_dir is not None:
        write_report(report, out_dir)
    return report


def rgb_parity_inputs(
    data: Path | None,
    split_file: Path | None,
    part: str,
    labels: Sequence[str],
    clip_cfg: ClipConfig,
) -> tuple[list[NDArray[np.float32]], list[NDArray[np.bool_]], list[int] | None, str]:
    """Clips, masks and label indices for the export parity report of an RGB model.

    Without ``data``: 8 random clips (logit parity only; accuracy unmeasured).
    """
    if data is None:
        rng = np.random.default_rng(0)
        shape = (clip_cfg.frames, 3, clip_cfg.size, clip_cfg.size)
        feats = [rng.standard_normal(shape).astype(np.float32) for _ in range(8)]
        masks = [np.ones(clip_cfg.frames, dtype=bool) for _ in feats]
        return feats, masks, None, "none (8 random clips: logit parity only)"
    samples = clip_samples(data)
    desc = str(data)
    if split_file is not None:
        from sign2text.data.splits import load_split

        samples = load_split(split_file, samples).take(samples, part)
        desc += f", {split_file} part {part!r}"
    index = {label: i for i, label in enumerate(labels)}
    inside = [s for s in samples if s.label in index]
    if not inside:
        raise DatasetError(f"{data}: no validation clip has a label of the model")
    inputs = clip_inputs(inside, ClipCache(None, clip_cfg))
    skipped = len(samples) - len(inside)
    if skipped:
        desc += f" ({skipped} clips outside the vocabulary skipped)"
    return [c for c, _ in inputs], [m for _, m in inputs], [index[s.label] for s in inside], desc
