"""torch model -> ONNX (dynamic batch and time) with embedded metadata; int8 quantization.

Facts this relies on (``../shared/STACK.md``): ``torch.onnx.export(..., dynamo=True)``
keeps the time axis dynamic where the legacy exporter breaks it for attention, and
it needs an example batch of 2 or the batch axis is fixed to 1.
``quantize_dynamic`` rewrites the graph and may drop ``metadata_props``, so they are
copied over afterwards. The dynamo exporter feeds each linear layer's weight through a
``Transpose`` node, and ``quantize_dynamic`` only quantizes ``MatMul`` nodes whose weight
is an initializer, so the graph is first pre-processed (``quant_pre_process``: ONNX
Runtime's constant folding turns those transposes into initializers); without it only
the convolutions and the head were quantized and the file kept its fp32 size.

The layers that read the input features directly stay in float. Dynamic quantization
gives each activation tensor one int8 scale, and the features mix small positions with
wide velocities and hand shapes (clipped at +-50), so one scale erases the small ones:
on the 5 signer folds of the default recipe, quantizing the input projection too cost
0.6 points of top-1 (75.9% -> 75.2%); keeping it in float costs 0.1 point and 150 KB.

Landmark models quantize only their matrix products (``MatMul``; ONNX Runtime's dynamic
quantization has no rule for ``Gemm``, which stays float anyway); their convolutions are
depthwise over time (a few thousand weights) and stay in float. ONNX
Runtime's ``ConvInteger`` has no fast path for grouped convolutions: in the default
model's int8 graph its three depthwise convolutions took 59% of the run time (0.77 of
1.3 ms per clip, one thread), and with them in float the int8 graph runs in less than
half the time, faster than fp32, for 35 KB more. RGB models keep their convolutions
quantized: there the 3D convolutions hold most of the weights.
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sign2text.errors import ConfigError, ModelError
from sign2text.features import FeatureConfig, feature_dim
from sign2text.io.atomic import atomic_write_bytes
from sign2text.runtime.metadata import (
    KNOWN_INPUTS,
    METADATA_FORMAT,
    METADATA_KEY,
    ModelMetadata,
    parse_metadata,
)

log = logging.getLogger(__name__)

INPUT_NAMES = ("features", "mask")
OUTPUT_NAMES = ("logits", "embedding")
# Example time length when the features have no fixed length.
_EXAMPLE_FRAMES = 24
# The dynamo exporter builds opset 18 graphs; it cannot convert them down.
MIN_OPSET = 18
# The operators dynamic int8 quantization rewrites, per model input kind (the module
# docstring says why landmark models keep their depthwise convolutions in float).
QUANTIZED_OPS: dict[str, tuple[str, ...]] = {  # keys: KNOWN_INPUTS
    "landmarks": ("MatMul",),
    "rgb": ("MatMul", "Conv"),
}

__all__ = [
    "METADATA_FORMAT",
    "METADATA_KEY",
    "build_metadata",
    "export_onnx",
    "quantize_int8",
    "read_metadata",
    "write_metadata",
]


class _ExportWrapper(nn.Module):
    """Returns both outputs of a Sign2Text model, so one graph serves both uses."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logits = self.model(features, mask)
        embed: Any = self.model.embed  # the model interface (see sign2text.models)
        embedding = embed(features, mask)
        return logits, embedding


def _split_summary(split: Any) -> Any:
    """A split with its index/id lists replaced by their lengths (signers kept)."""
    if isinstance(split, dict):
        out: dict[str, Any] = {}
        for key, value in split.items():
            if key == "signers":
                out[key] = value
            elif isinstance(value, list | tuple):
                out[key] = len(value)
            else:
                out[key] = _split_summary(value)
        return out
    return split


def build_metadata(ckpt: dict[str, Any], card: dict[str, Any] | None = None) -> ModelMetadata:
    """The metadata of an export from a checkpoint dict (see ``models.load_checkpoint``).

    The card carries the checkpoint's free fields (metrics, data, a split summary,
    versions) plus ``card`` overrides (e.g. a calibrated ``reject_threshold``).
    """
    try:
        labels = tuple(str(x) for x in ckpt["labels"])
        features = FeatureConfig.from_dict(dict(ckpt["features"]))
        model = {"name": str(ckpt["model"]["name"]), "args": dict(ckpt["model"].get("args", {}))}
    except (KeyError, TypeError) as exc:
        raise ModelError(f"checkpoint lacks labels/features/model ({exc})") from None
    base: dict[str, Any] = {}
    for key in ("metrics", "data", "versions"):
        if key in ckpt:
            base[key] = ckpt[key]
    if "split" in ckpt:
        base["split"] = _split_summary(ckpt["split"])
    base.update(card or {})
    # Round-trip through JSON now, so an unserializable card fails here, not at save.
    try:
        base = json.loads(json.dumps(base, default=_json_default))
    except (TypeError, ValueError) as exc:
        raise ModelError(f"model card is not JSON-serializable ({exc})") from None
    inp: dict[str, Any] = ckpt["input"] if isinstance(ckpt.get("input"), dict) else {}
    kind = inp.get("kind", "landmarks")
    if kind not in KNOWN_INPUTS:
        kinds = ", ".join(KNOWN_INPUTS)
        raise ModelError(f"checkpoint input kind {kind!r}; expected one of {kinds}")
    return ModelMetadata(
        labels=labels,
        features=features,
        model=model,
        card=base,
        input=kind,
        input_config={k: v for k, v in inp.items() if k != "kind"},
    )


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-serializable")


def _set_props(proto: Any, meta: ModelMetadata) -> None:
    keep = [p for p in proto.metadata_props if p.key != METADATA_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    entry = proto.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = json.dumps(meta.to_json(), sort_keys=True)


def _save_checked(proto: Any, path: Path) -> None:
    import onnx

    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ModelError(f"{path}: exported graph fails the ONNX checker ({exc})") from None
    atomic_write_bytes(path, proto.SerializeToString())


def read_metadata(path: str | Path) -> ModelMetadata:
    """The Sign2Text metadata of an ONNX file (read with ``onnx``)."""
    import onnx

    p = Path(path)
    try:
        proto = onnx.load(str(p), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError, files raise OSError
        raise ModelError(f"{p}: not a readable ONNX model ({exc})") from None
    props = {e.key: e.value for e in proto.metadata_props}
    return parse_metadata(props.get(METADATA_KEY), str(p))


def write_metadata(path: str | Path, meta: ModelMetadata) -> None:
    """Replace the Sign2Text metadata of an ONNX file in place (atomically)."""
    import onnx

    p = Path(path)
    proto = onnx.load(str(p))
    _set_props(proto, meta)
    _save_checked(proto, p)


class _DropTorchvisionNotes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "torchvision is not installed" not in record.getMessage()


@contextlib.contextmanager
def _torchvision_notes_dropped() -> Iterator[None]:
    """Drop the exporter's "torchvision is not installed. Skipping torchvision::nms"
    log lines (one per torchvision op, each export) while the block runs: no model
    here uses a torchvision op, and torchvision is not a dependency."""
    logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    drop = _DropTorchvisionNotes()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def export_onnx(
    model: nn.Module,
    ckpt: dict[str, Any],
    out_path: str | Path,
    *,
    opset: int = 18,
    card: dict[str, Any] | None = None,
) -> Path:
    """Export ``model`` to ``out_path`` (fp32) with dynamic batch and time.

    Inputs ``features`` (B, T, F) float32 and ``mask`` (B, T) bool; outputs ``logits``
    (B, C) and ``embedding`` (B, E). The graph passes ``onnx.checker`` and carries the
    metadata of :func:`build_metadata` under the ``metadata_props`` key ``sign2text``.
    """
    import onnx

    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        # Below 18 the exporter's down-conversion fails and it quietly writes 18.
        raise ConfigError(f"opset must be between {MIN_OPSET} and {newest}, got {opset}")
    out = Path(out_path)
    meta = build_metadata(ckpt, card)
    in_dim = feature_dim(meta.features)
    frames = meta.features.frames or _EXAMPLE_FRAMES
    wrapper = _ExportWrapper(model).eval()
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(2, frames, in_dim, generator=gen)
    mask = torch.ones(2, frames, dtype=torch.bool)
    mask[1, frames // 2 :] = False
    batch = torch.export.Dim("batch", min=1, max=4096)
    time = torch.export.Dim("time", min=2, max=100_000)
    dynamic: dict[str, Any] = {"features": {0: batch, 1: time}, "mask": {0: batch, 1: time}}
    if meta.input == "rgb":  # clips (B, T, 3, S, S): the clip pipeline fixes T and S
        t, s = int(meta.input_config["frames"]), int(meta.input_config["size"])
        feats = torch.randn(2, t, 3, s, s, generator=gen)
        mask = torch.ones(2, t, dtype=torch.bool)
        dynamic = {"features": {0: batch}, "mask": {0: batch}}
    # torch's exporter warns about internals (axis renaming, deprecated pytree specs,
    # torchvision ops it skips because torchvision is absent) that users cannot act on;
    # they stay out of the CLI output.
    with torch.no_grad(), warnings.catch_warnings(), _torchvision_notes_dropped():
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        try:
            program = torch.onnx.export(
                wrapper,
                (feats, mask),
                dynamo=True,
                input_names=list(INPUT_NAMES),
                output_names=list(OUTPUT_NAMES),
                dynamic_shapes=dynamic,
                opset_version=opset,
                optimize=True,
                verbose=False,
            )
        except Exception as exc:
            raise ModelError(f"ONNX export of model {meta.model['name']!r} failed: {exc}") from exc
    if program is None:  # pragma: no cover - only without dynamo
        raise ModelError("torch.onnx.export returned no program")
    proto = program.model_proto
    written = {o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")}
    if written != {opset}:
        raise ModelError(f"ONNX export wrote opset {sorted(written)}, not the {opset} asked for")
    _set_props(proto, meta)
    _save_checked(proto, out)
    log.debug("exported %s (%d bytes)", out, out.stat().st_size)
    return out


def _input_readers(proto: Any, input_name: str) -> list[str]:
    """Names of the nodes that take the graph input ``input_name`` as an operand."""
    return [n.name for n in proto.graph.node if input_name in n.input]


def quantize_int8(fp32_path: str | Path, int8_path: str | Path) -> Path:
    """Dynamic int8 quantization (weights QInt8) of an fp32 export, metadata kept; the
    layers that read the input features stay in float, and so do the convolutions of
    landmark models (``QUANTIZED_OPS``; see the module docstring)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src, dst = Path(fp32_path), Path(int8_path)
    meta = read_metadata(src)
    with tempfile.TemporaryDirectory(prefix="sign2text-quant-") as tmp:
        folded = Path(tmp) / "model.pre.onnx"
        tmp_out = Path(tmp) / "model.int8.onnx"
        try:
            # symbolic shape inference is for transformer fusions we do not use
            quant_pre_process(src, folded, skip_symbolic_shape=True)
            quantize_dynamic(
                folded,
                tmp_out,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=_input_readers(onnx.load(str(folded)), INPUT_NAMES[0]),
                op_types_to_quantize=list(QUANTIZED_OPS[meta.input]),
            )
        except Exception as exc:
            raise ModelError(f"{src}: int8 quantization failed ({exc})") from exc
        proto = onnx.load(str(tmp_out))
    _set_props(proto, meta)
    _save_checked(proto, dst)
    log.debug("quantized %s -> %s (%d bytes)", src, dst, dst.stat().st_size)
    return dst
