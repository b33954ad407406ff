"""RGB models: the registry checks of tests/models on clips, ONNX export + parity + int8,
and TwoOutNet's pose head on a tiny overfit run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sign2text.models import (  # noqa: E402
    MODELS,
    create_model,
    input_kind,
    load_checkpoint,
    save_checkpoint,
)

pytestmark = pytest.mark.torch

NUM_CLASSES, T, S = 4, 4, 32
RGB = [n for n in MODELS.names() if input_kind(n) == "rgb"]
SMALL = {
    "resnet18-frame": {"width": 8},
    "simplenet3d": {"channels": [8, 8, 16], "dense": 16},
    "twooutnet": {"channels": [8, 8, 16], "dense": 16},
}
CLIP = {
    "kind": "rgb",
    "size": S,
    "frames": T,
    "resize": 40,
    "fps": 15.0,
    "sampling": "uniform",
    "window_min": 0.7,
    "mean": [0.45] * 3,
    "std": [0.225] * 3,
    "pose": False,
}


def _build(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(name, in_dim=3, num_classes=NUM_CLASSES, size=S, frames=T, **SMALL[name])


def _clips(b: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, T, 3, S, S, generator=g), torch.ones(b, T, dtype=torch.bool)


def test_the_three_rgb_models_are_registered() -> None:
    assert set(RGB) == {"resnet18-frame", "simplenet3d", "twooutnet"}
    assert input_kind("gru") == "landmarks"


@pytest.mark.parametrize("name", RGB)
def test_forward_backward_embed_and_masks(name: str) -> None:
    model = _build(name).train()
    x, mask = _clips(3)
    mask[1, 2:] = False
    mask[2] = False  # an all-padding clip stays finite
    logits = model(x, mask)
    assert logits.shape == (3, NUM_CLASSES) and torch.isfinite(logits).all()
    assert model.embed(x, mask).shape == (3, model.embed_dim)
    torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2])).backward()
    # (twooutnet's pose head gets no gradient from the class loss alone)
    grads = [p.grad for n, p in model.named_parameters() if not n.startswith("pose_head")]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    model.eval()
    with torch.no_grad():  # masked frames are not seen: their content does not matter
        y = x.clone()
        y[1, 2:] = 100.0
        torch.testing.assert_close(model(x, mask)[1], model(y, mask)[1])


@pytest.mark.parametrize("name", RGB)
def test_checkpoint_export_parity_and_int8(name: str, tmp_path: Path) -> None:
    import onnx

    from sign2text.export import export_onnx, quantize_int8, read_metadata
    from sign2text.runtime.onnx_model import OnnxClassifier

    model = _build(name).eval()
    args = {"in_dim": 3, "num_classes": NUM_CLASSES, "size": S, "frames": T, **SMALL[name]}
    ckpt = save_checkpoint(
        tmp_path / "m.pt",
        model,
        model_name=name,
        model_args=args,
        labels=[f"w{i}" for i in range(NUM_CLASSES)],
        features={},
        extra={"input": CLIP},
    )
    loaded, ckpt = load_checkpoint(tmp_path / "m.pt")
    x, mask = _clips(3, seed=1)
    with torch.no_grad():
        want = model(x, mask).numpy()
        torch.testing.assert_close(loaded(x, mask), model(x, mask), atol=0, rtol=0)
    fp32 = export_onnx(loaded, ckpt, tmp_path / "m.onnx")
    meta = read_metadata(fp32)
    assert meta.input == "rgb" and meta.input_config["size"] == S
    clf = OnnxClassifier(fp32)
    got = clf.logits(x.numpy(), mask.numpy())  # batch 3 though exported with 2
    assert np.abs(got - want).max() < 1e-4
    assert clf.logits(x[0].numpy(), mask[0].numpy()).shape == (1, NUM_CLASSES)
    int8 = quantize_int8(fp32, tmp_path / "m.int8.onnx")  # conv3d: ConvInteger works
    # RGB models keep their convolutions quantized (they hold most of the weights).
    assert "ConvInteger" in {n.op_type for n in onnx.load(str(int8)).graph.node}
    q = OnnxClassifier(int8).logits(x.numpy(), mask.numpy())
    assert q.shape == want.shape and np.abs(q - want).max() < 0.5


def test_twooutnet_pose_head_learns_the_landmark_targets() -> None:
    from sign2text.models.rgb import TwoOutNet

    torch.manual_seed(0)
    model = create_model(
        "twooutnet",
        in_dim=3,
        num_classes=2,
        size=S,
        frames=T,
        channels=[8, 16, 16],
        dense=16,
        pose_weight=1.0,
        dropout=0.0,
    )
    assert isinstance(model, TwoOutNet)
    g = torch.Generator().manual_seed(3)
    x, mask = torch.randn(4, T, 3, 16, 16, generator=g), torch.ones(4, T, dtype=torch.bool)
    # each clip's signer stands somewhere else: its landmarks differ from clip to clip
    target = (torch.rand(4, 1, 75, 2, generator=g) * 0.6 + 0.2).expand(4, T, 75, 2).clone()
    target[:, :, 40:] = float("nan")  # undetected points (e.g. a hand) are not targets
    labels = torch.tensor([0, 1, 0, 1])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(80):
        logits, pose = model.forward_both(x, mask)
        reg = model.pose_loss(pose, target, mask)
        loss = torch.nn.functional.cross_entropy(logits, labels) + model.pose_weight * reg
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(reg.detach()))
    assert losses[-1] < 0.5 * losses[0]
    with torch.no_grad():  # train-mode batch norm: the statistics the head was fit with
        pose = model.pose(x, mask)
    assert pose.shape == (4, T, 75, 2) and float(pose.min()) >= 0 and float(pose.max()) <= 1
    err = (pose[:, :, :40] - target[:, :, :40]).abs().mean()
    base = (target[:, :, :40] - target[:, :, :40].mean()).abs().mean()
    assert float(err) < 0.4 * float(base)  # closer than predicting the mean target
