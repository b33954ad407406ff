"""Registry-driven model tests: every registered model gets every check.

A new model is tested by being registered in ``sign2text.models.MODELS``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from sign2text.errors import ConfigError, IntegrityError, ModelError  # noqa: E402
from sign2text.models import (  # noqa: E402
    MODELS,
    create_model,
    input_kind,
    load_checkpoint,
    save_checkpoint,
)

pytestmark = pytest.mark.torch

IN_DIM, NUM_CLASSES = 12, 5
# Landmark models take (B, T, F) features; the RGB models (clips) are covered by the same
# checks in tests/rgb/test_rgb_models.py.
NAMES = [n for n in MODELS.names() if input_kind(n) == "landmarks"]


def _build(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(name, in_dim=IN_DIM, num_classes=NUM_CLASSES)


def _batch(b: int, t: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, t, IN_DIM, generator=g)
    mask = torch.rand(b, t, generator=g) > 0.2
    mask[:, 0] = True
    return x, mask


def test_registry_lists_the_builtin_models() -> None:
    assert {"conv_transformer", "gru", "mlp"} <= set(NAMES)
    with pytest.raises(ConfigError, match="conv_transformer"):
        create_model("no_such_model", in_dim=4, num_classes=2)
    with pytest.raises(ConfigError, match="bad arguments"):
        create_model("mlp", in_dim=4, num_classes=2, no_such_arg=1)


@pytest.mark.parametrize("name", NAMES)
def test_forward_backward_and_embed(name: str) -> None:
    model = _build(name).train()
    x, mask = _batch(3, 9)
    logits = model(x, mask)
    assert logits.shape == (3, NUM_CLASSES)
    assert model.num_classes == NUM_CLASSES
    emb = model.embed(x, mask)
    assert emb.shape == (3, model.embed_dim)
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2]))
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(float(g.abs().sum()) > 0 for g in grads if g is not None)


@pytest.mark.parametrize("name", NAMES)
def test_padding_frames_do_not_change_the_output(name: str) -> None:
    model = _build(name).eval()
    x, mask = _batch(2, 7)
    garbage = torch.randn(2, 5, IN_DIM) * 100
    xp = torch.cat([x, garbage], dim=1)
    mp = torch.cat([mask, torch.zeros(2, 5, dtype=torch.bool)], dim=1)
    with torch.no_grad():
        a, b = model(x, mask), model(xp, mp)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    # And the mask matters: the same frames unmasked give something else.
    with torch.no_grad():
        c = model(xp, torch.ones_like(mp))
    assert not torch.allclose(a, c, atol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_all_false_mask_rows_are_finite(name: str) -> None:
    model = _build(name).train()
    x, mask = _batch(3, 6)
    mask[1] = False
    logits = model(x, mask)
    assert torch.isfinite(logits).all()
    logits.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("t", [1, 4, 61])
def test_dynamic_time(name: str, t: int) -> None:
    model = _build(name).eval()
    x, mask = _batch(2, t)
    with torch.no_grad():
        assert model(x, mask).shape == (2, NUM_CLASSES)


def _save(name: str, path: Path) -> torch.nn.Module:
    model = _build(name).eval()
    save_checkpoint(
        path,
        model,
        model_name=name,
        model_args={"in_dim": IN_DIM, "num_classes": NUM_CLASSES},
        labels=[f"w{i}" for i in range(NUM_CLASSES)],
        features={"frames": 8},
        metrics={"val_accuracy": 0.5},
    )
    return model


@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_round_trip(name: str, tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    model = _save(name, path)
    loaded, ckpt = load_checkpoint(path)
    assert not loaded.training
    assert ckpt["format"] == "sign2text-checkpoint/1"
    assert ckpt["labels"] == [f"w{i}" for i in range(NUM_CLASSES)]
    assert set(ckpt["versions"]) == {"torch", "sign2text", "numpy"}
    x, mask = _batch(2, 10)
    with torch.no_grad():
        torch.testing.assert_close(model(x, mask), loaded(x, mask), atol=0, rtol=0)


def test_checkpoint_corruption_and_format_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "m.pt"
    _save("mlp", path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        load_checkpoint(path)
    other = tmp_path / "other.pt"
    torch.save({"format": "something-else"}, other)
    with pytest.raises(ModelError, match="not a sign2text-checkpoint/1"):
        load_checkpoint(other, verify=False)
    with pytest.raises(ModelError, match="num_classes"):
        _save_wrong = _build("mlp")
        save_checkpoint(
            tmp_path / "x.pt",
            _save_wrong,
            model_name="mlp",
            model_args={"in_dim": IN_DIM, "num_classes": NUM_CLASSES},
            labels=["a"],
            features={},
        )


def test_default_conv_transformer_size() -> None:
    """The default model is in the 1-2 M parameter range of the GISLR-winning family."""
    model = create_model("conv_transformer", in_dim=396, num_classes=30)
    n = sum(p.numel() for p in model.parameters())
    assert 1_000_000 <= n <= 2_000_000
