"""Every registered model exports with dynamic batch and time and matches torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from sign2text.export import export_onnx  # noqa: E402
from sign2text.features import FeatureConfig, feature_dim  # noqa: E402
from sign2text.models import MODELS, create_model, input_kind  # noqa: E402

pytestmark = pytest.mark.torch

FAST = {"mlp"}  # the others take 10-30 s each to export on 2 cores


@pytest.mark.parametrize(
    "name",
    # landmark models; the RGB models' export is tested in tests/rgb/test_rgb_models.py
    [
        n if n in FAST else pytest.param(n, marks=pytest.mark.slow)
        for n in MODELS.names()
        if input_kind(n) == "landmarks"
    ],
)
def test_registered_model_exports(name: str, tmp_path: Path) -> None:
    cfg = FeatureConfig()
    dim = feature_dim(cfg)
    torch.manual_seed(0)
    model = create_model(name, in_dim=dim, num_classes=5).eval()
    ckpt = {"model": {"name": name, "args": {}}, "labels": list("abcde"), "features": cfg.to_dict()}
    path = export_onnx(model, ckpt, tmp_path / f"{name}.onnx")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["features", "mask"]
    assert [o.name for o in sess.get_outputs()] == ["logits", "embedding"]
    rng = np.random.default_rng(0)
    for batch, frames in ((1, 5), (3, 13), (4, 40)):
        x = rng.standard_normal((batch, frames, dim)).astype(np.float32)
        m = np.ones((batch, frames), dtype=bool)
        m[0, frames // 2 :] = False  # padded clips, first and last in the batch
        m[-1, : frames // 3] = False
        logits = sess.run(["logits"], {"features": x, "mask": m})[0]
        with torch.no_grad():
            ref = model(torch.from_numpy(x), torch.from_numpy(m)).numpy()
        assert logits.shape == (batch, 5)
        assert np.abs(logits - ref).max() < 1e-4
