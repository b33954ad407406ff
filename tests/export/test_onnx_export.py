"""ONNX export: dynamic batch/time, parity with torch, int8 with metadata, decision rule."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from torch import nn  # noqa: E402

from sign2text.errors import ModelError  # noqa: E402
from sign2text.export import (  # noqa: E402
    METADATA_FORMAT,
    METADATA_KEY,
    calibrate_reject_threshold,
    choose_model,
    export_onnx,
    parity_markdown,
    parity_report,
    quantize_int8,
    read_metadata,
)
from sign2text.features import FeatureConfig, feature_dim  # noqa: E402

pytestmark = pytest.mark.torch

LABELS = ["hello", "thank-you", "coffee", "_none_"]


class TinyAttention(nn.Module):
    """A small model with the Sign2Text interface and a masked attention layer, so a
    broken dynamic time axis or mask shows up in the parity checks."""

    def __init__(self, in_dim: int, num_classes: int, hidden: int = 32) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, hidden)
        self.attn = nn.MultiheadAttention(hidden, 4, batch_first=True)
        self.head = nn.Linear(hidden, num_classes)

    def embed(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.proj(features))
        a, _ = self.attn(h, h, h, key_padding_mask=~mask)
        h = h + a
        w = mask.unsqueeze(-1).to(h.dtype)
        return (h * w).sum(1) / w.sum(1).clamp(min=1.0)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(features, mask))


class TinyConv(nn.Module):
    """Linear layers around a depthwise convolution over time, as in ``conv_transformer``."""

    def __init__(self, in_dim: int, num_classes: int, hidden: int = 32) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, hidden)
        self.depthwise = nn.Conv1d(hidden, hidden, 5, padding=2, groups=hidden)
        self.mix = nn.Linear(hidden, hidden)
        self.head = nn.Linear(hidden, num_classes)

    def embed(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.proj(features)
        h = self.depthwise(h.transpose(1, 2)).transpose(1, 2)
        h = torch.relu(self.mix(h))
        w = mask.unsqueeze(-1).to(h.dtype)
        return (h * w).sum(1) / w.sum(1).clamp(min=1.0)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(features, mask))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    torch.manual_seed(0)
    cfg = FeatureConfig()
    model = TinyAttention(feature_dim(cfg), len(LABELS)).eval()
    ckpt = {
        "model": {"name": "tiny", "args": {"hidden": 32}},
        "labels": LABELS,
        "features": cfg.to_dict(),
        "metrics": {"val_acc": 0.75},
        "split": {"protocol": "signer", "parts": {"train": [0, 1, 2], "val": [3]}},
        "versions": {"torch": torch.__version__},
    }
    out = tmp_path_factory.mktemp("export")
    fp32 = export_onnx(model, ckpt, out / "model.fp32.onnx")
    int8 = quantize_int8(fp32, out / "model.int8.onnx")
    return {"model": model, "ckpt": ckpt, "fp32": fp32, "int8": int8, "dim": feature_dim(cfg)}


def _inputs(batch: int, frames: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, frames, dim)).astype(np.float32)
    m = np.ones((batch, frames), dtype=bool)
    m[0, frames // 2 :] = False  # padding in the first sequence
    return x, m


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("frames", [5, 40])
def test_dynamic_batch_and_time_match_torch(
    exported: dict[str, Any], batch: int, frames: int
) -> None:
    sess = ort.InferenceSession(str(exported["fp32"]), providers=["CPUExecutionProvider"])
    x, m = _inputs(batch, frames, exported["dim"], seed=batch * 100 + frames)
    logits, emb = sess.run(["logits", "embedding"], {"features": x, "mask": m})
    with torch.no_grad():
        ref = exported["model"](torch.from_numpy(x), torch.from_numpy(m)).numpy()
        ref_emb = exported["model"].embed(torch.from_numpy(x), torch.from_numpy(m)).numpy()
    assert logits.shape == (batch, len(LABELS))
    assert emb.shape == (batch, 32)
    assert np.abs(logits - ref).max() < 1e-4
    assert np.abs(emb - ref_emb).max() < 1e-4


def test_graph_declares_symbolic_axes(exported: dict[str, Any]) -> None:
    proto = onnx.load(str(exported["fp32"]))
    onnx.checker.check_model(proto)
    inputs = {i.name: i for i in proto.graph.input}
    assert set(inputs) == {"features", "mask"}
    dims = [d for d in inputs["features"].type.tensor_type.shape.dim]
    assert dims[0].dim_param and dims[1].dim_param  # batch and time are symbolic
    assert dims[2].dim_value == exported["dim"]
    assert inputs["mask"].type.tensor_type.elem_type == onnx.TensorProto.BOOL
    assert [o.name for o in proto.graph.output] == ["logits", "embedding"]


def test_metadata_is_embedded_and_survives_int8(exported: dict[str, Any]) -> None:
    for path in (exported["fp32"], exported["int8"]):
        props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        doc = json.loads(props[METADATA_KEY])
        assert doc["format"] == METADATA_FORMAT
        assert doc["labels"] == LABELS
        assert doc["input"] == "landmarks"
        assert doc["model"] == {"name": "tiny", "args": {"hidden": 32}}
        assert FeatureConfig.from_dict(doc["features"]) == FeatureConfig()
        assert doc["card"]["metrics"] == {"val_acc": 0.75}
        # The split is summarized: id lists become counts.
        assert doc["card"]["split"] == {"protocol": "signer", "parts": {"train": 3, "val": 1}}
    assert read_metadata(exported["int8"]) == read_metadata(exported["fp32"])


def test_int8_is_quantized_and_close(exported: dict[str, Any]) -> None:
    proto = onnx.load(str(exported["int8"]))
    ops = {n.op_type for n in proto.graph.node}
    assert ops & {"DynamicQuantizeLinear", "MatMulInteger", "DynamicQuantizeMatMul"}
    # Every linear layer's weight is int8 except the input projection, which reads the
    # raw features and stays float by design; the other float MatMuls are the attention
    # products of two activations (no initializer among their inputs).
    # A weight reaches a MatMul either directly or through Transpose nodes (dynamo).
    weights = {i.name for i in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type == "Transpose" and node.input[0] in weights:
            weights.update(node.output)
    float_weight_matmuls = [
        n for n in proto.graph.node if n.op_type == "MatMul" and set(n.input) & weights
    ]
    assert [n.input[0] for n in float_weight_matmuls] == ["features"]
    assert exported["int8"].stat().st_size < 0.5 * exported["fp32"].stat().st_size
    rng = np.random.default_rng(1)
    feats = [rng.standard_normal((32, exported["dim"])).astype(np.float32) for _ in range(40)]
    masks = [np.ones(32, dtype=bool) for _ in feats]
    report = parity_report(
        exported["fp32"], exported["int8"], feats, masks, None, torch_model=exported["model"]
    )
    assert report["max_abs_logit_diff"]["torch_vs_fp32"] < 1e-4
    assert 0 < report["max_abs_logit_diff"]["fp32_vs_int8"] < 0.5
    assert report["top1_agreement_fp32_int8"] >= 0.8
    assert report["accuracy"] == {"fp32": None, "int8": None}
    assert report["decision"] == "fp32"  # accuracy unmeasured: never ship int8 blind


def test_int8_landmark_model_keeps_its_convolutions_float(tmp_path: Path) -> None:
    """Depthwise convolutions stay float in int8 landmark models: ONNX Runtime's
    ConvInteger is slow for grouped convolutions (most of the default model's time)."""
    torch.manual_seed(0)
    cfg = FeatureConfig()
    model = TinyConv(feature_dim(cfg), len(LABELS)).eval()
    ckpt = {"model": {"name": "tiny_conv", "args": {}}, "labels": LABELS, "features": cfg.to_dict()}
    fp32 = export_onnx(model, ckpt, tmp_path / "m.fp32.onnx")
    int8 = quantize_int8(fp32, tmp_path / "m.int8.onnx")
    ops = [n.op_type for n in onnx.load(str(int8)).graph.node]
    assert "ConvInteger" not in ops and ops.count("Conv") == 1
    assert "MatMulInteger" in ops or "DynamicQuantizeMatMul" in ops  # mix and head
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 32, feature_dim(cfg))).astype(np.float32)
    m = np.ones((8, 32), dtype=bool)
    m[1, 20:] = False
    with torch.no_grad():
        want = model(torch.from_numpy(x), torch.from_numpy(m)).numpy()
    sess = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"])
    got = sess.run(["logits"], {"features": x, "mask": m})[0]
    assert 0 < np.abs(got - want).max() < 0.1


def test_parity_report_with_labels(exported: dict[str, Any]) -> None:
    rng = np.random.default_rng(2)
    feats = [rng.standard_normal((int(t), exported["dim"])).astype(np.float32) for t in (8, 20, 32)]
    masks = [np.ones(len(f), dtype=bool) for f in feats]
    with torch.no_grad():
        labels = [
            int(exported["model"](torch.from_numpy(f[None]), torch.from_numpy(m[None])).argmax())
            for f, m in zip(feats, masks, strict=True)
        ]
    report = parity_report(exported["fp32"], exported["int8"], feats, masks, labels)
    assert report["accuracy"]["fp32"] == 1.0  # variable lengths are padded and masked right
    assert report["delta_points"] == pytest.approx((report["accuracy"]["int8"] - 1.0) * 100)
    assert 0.05 <= report["reject_threshold"] <= 0.9
    md = parity_markdown(report, {"fp32": 1000, "int8": 500})
    assert "Decision: ship" in md and "accuracy fp32 | 100.00%" in md


@pytest.mark.parametrize(
    ("delta", "decision"),
    [(0.0, "int8"), (-0.5, "int8"), (-0.51, "fp32"), (1.0, "int8"), (None, "fp32")],
)
def test_decision_rule(delta: float | None, decision: str) -> None:
    assert choose_model({"delta_points": delta}) == decision


def test_calibrated_threshold_keeps_most_correct_predictions() -> None:
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.55, 0.45], [0.2, 0.8]], np.float32)
    labels = np.array([0, 0, 1, 1, 1])
    thr = calibrate_reject_threshold(probs, labels, keep=0.75)
    correct_top = np.array([0.9, 0.6, 0.7, 0.8])
    assert (correct_top >= thr).mean() >= 0.75
    assert calibrate_reject_threshold(probs, np.array([1, 1, 0, 1, 0])) == 0.5  # none correct
    # answers of the ignored class (`_none_`, rejected anyway) do not pull it down
    probs = np.array(
        [[0.9, 0.1, 0], [0.8, 0.2, 0], [0.4, 0.3, 0.3], [0.33, 0.31, 0.36]], np.float32
    )
    labels = np.array([0, 0, 0, 2])
    assert calibrate_reject_threshold(probs, labels, keep=1.0) == 0.36
    assert calibrate_reject_threshold(probs, labels, keep=1.0, ignore=2) == 0.4


def test_bad_checkpoint_is_a_model_error(tmp_path: Path) -> None:
    model = TinyAttention(8, 2)
    with pytest.raises(ModelError):
        export_onnx(model, {"labels": ["a", "b"]}, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_every_input_kind_has_quantized_operators() -> None:
    from sign2text.export.onnx_export import QUANTIZED_OPS
    from sign2text.runtime.metadata import KNOWN_INPUTS

    assert set(QUANTIZED_OPS) == set(KNOWN_INPUTS)
    assert "Conv" not in QUANTIZED_OPS["landmarks"] and "Conv" in QUANTIZED_OPS["rgb"]


def test_unknown_input_kind_is_refused(exported: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="input kind 'video'"):
        export_onnx(
            exported["model"], {**exported["ckpt"], "input": {"kind": "video"}}, tmp_path / "v.onnx"
        )
    assert not (tmp_path / "v.onnx").exists()
    proto = onnx.load(str(exported["fp32"]))
    for prop in proto.metadata_props:
        if prop.key == METADATA_KEY:
            prop.value = json.dumps({**json.loads(prop.value), "input": "video"})
    onnx.save(proto, str(tmp_path / "edited.onnx"))
    with pytest.raises(ModelError, match="'input' is 'video'"):
        read_metadata(tmp_path / "edited.onnx")


def test_read_metadata_refuses_foreign_onnx(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "foreign.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ModelError, match="not a Sign2Text model"):
        read_metadata(path)
    (tmp_path / "junk.onnx").write_bytes(b"not onnx at all")
    with pytest.raises(ModelError):
        read_metadata(tmp_path / "junk.onnx")


def test_export_prints_no_torchvision_notes(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """torch's exporter logs one "torchvision is not installed. Skipping ..." line per
    torchvision op on every export; no model uses those ops, so they are dropped."""
    torch.manual_seed(0)
    cfg = FeatureConfig()
    model = TinyConv(feature_dim(cfg), len(LABELS)).eval()
    ckpt = {"model": {"name": "tiny_conv", "args": {}}, "labels": LABELS, "features": cfg.to_dict()}
    capfd.readouterr()
    with caplog.at_level(logging.WARNING):
        export_onnx(model, ckpt, tmp_path / "m.onnx")
    out, err = capfd.readouterr()
    assert "torchvision" not in out + err + caplog.text
