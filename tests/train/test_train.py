"""Training on real landmarks (a slice of traduttore), on CPU, in a few seconds."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sign2text.cli.main import main  # noqa: E402
from sign2text.data.pack import read_pack, write_pack  # noqa: E402
from sign2text.data.sample import Sample  # noqa: E402
from sign2text.data.splits import load_split  # noqa: E402
from sign2text.errors import ConfigError  # noqa: E402
from sign2text.features.core import FeatureConfig  # noqa: E402
from sign2text.models import create_model, load_checkpoint, read_checkpoint  # noqa: E402
from sign2text.train.config import TrainConfig, load_config  # noqa: E402
from sign2text.train.data import compute_all, pad_batch  # noqa: E402
from sign2text.train.trainer import train  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "configs" / "tiny.toml"
WORDS = ("coffee", "hello", "thank-you")


@pytest.fixture(scope="module")
def samples(data_dir: Path) -> list[Sample]:
    """Up to 12 sequences per (word, signer) of three traduttore words."""
    per: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for s in read_pack(data_dir / "landmarks" / "traduttore.npz"):
        if s.label in WORDS and len(per[s.label, s.signer]) < 12:
            per[s.label, s.signer].append(s)
    return [s for group in per.values() for s in group]


@pytest.fixture(scope="module")
def pack(samples: list[Sample], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "slice.npz"
    write_pack(path, samples)
    return path


def _cfg(*overrides: str) -> TrainConfig:
    return load_config(TINY, overrides)


def test_configs_parse_and_overrides_apply() -> None:
    cfg = _cfg("optim.lr=0.5", "model.args.dim=24", "features.frames=0", "loss.name=focal")
    assert cfg.optim.lr == 0.5 and cfg.model.args["dim"] == 24
    assert cfg.features.frames is None and cfg.loss.name == "focal"
    assert load_config(ROOT / "configs" / "bsl_bhutan.toml").data.split == "random"
    with pytest.raises(ConfigError, match=r"optim\.lrr"):
        _cfg("optim.lrr=1")
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("epochs=1.5", "epochs must be int"),
        ("epochs=99999999999999999999", "epochs must be 1 to 100000"),
        ("batch_size=0", "batch_size 1 to 65536"),
        ("patience=0", "patience must be >= 1"),
        ("schedule.warmup_epochs=-1", "schedule: warmup_epochs must be >= 0"),
        ("schedule.factor=1.5", "schedule: pct_start and factor"),
        ("batch_size=true", "batch_size must be int"),
        ("seed=-1", "seed"),
        ("optim.lr=-1", "optim.lr must be > 0"),
        ("optim.lr=abc", "optim.lr must be float"),
        ("optim.lr=nan", "finite"),
        ("loss.label_smoothing=5", "label_smoothing"),
        ("data.val=true", "data.val must be float"),
        ("features.frames=100000", "features.frames must be 2 to 1024"),
        ("model.args.dim=-1", "model 'conv_transformer': bad arguments"),
        ("model.args=0", "model.args must be a table of the model's arguments, got 0"),
        ("model=1", "model must be a table"),
        ("features=1", "features must be a table"),
        ("clips=1", "clips must be a table"),
        ("features.subsets=1", "features.subsets must be a list of subset names, got 1"),
        ("data.paths=1", "data.paths must be a list of strings, got 1"),
        ('data.labels=["hello",2]', "data.labels must be a list of strings"),
        ("data.test_signers=x", "data.test_signers must be a list of strings"),
        ("mixup.alpha=-1", "mixup: alpha must be in [0, 10]"),
        ("mixup.p=2", "mixup: alpha must be in [0, 10] and p in [0, 1]"),
    ],
)
def test_bad_config_values_are_config_errors(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        cfg = _cfg("model.name=conv_transformer", override)
        create_model(cfg.model.name, in_dim=8, num_classes=3, **dict(cfg.model.args))


def _assert_best_reproduces_val_accuracy(
    run: Path, samples: list[Sample], result: Any
) -> tuple[list[Sample], dict[str, Any]]:
    """best.pt, rebuilt, scores the run's val part as the history recorded for its
    best epoch; returns that val part and the checkpoint dict."""
    model, ckpt = load_checkpoint(run / "best.pt")
    split = json.loads((run / "split.json").read_text())
    by_id = {s.source_id: s for s in samples}
    val = [by_id[i] for i in split["parts"]["val"]]
    x, m = pad_batch(compute_all(val, FeatureConfig.from_dict(ckpt["features"])))
    with torch.no_grad():
        pred = model(torch.from_numpy(x), torch.from_numpy(m)).argmax(1).numpy()
    y = np.array([ckpt["labels"].index(s.label) for s in val])
    best = result.history[result.best_epoch]
    assert float((pred == y).mean()) == pytest.approx(best["val_accuracy"], abs=1e-6)
    return val, ckpt


def test_loss_falls_and_checkpoint_reproduces_val_accuracy(
    samples: list[Sample], tmp_path: Path
) -> None:
    cfg = _cfg("epochs=5", "max_steps_per_epoch=0", "augment=[]", "optim.lr=3e-3")
    result = train(cfg, tmp_path / "run", samples=samples)
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < 0.8 * losses[0], losses
    for name in ("config.json", "split.json", "history.json", "curves.png", "best.pt", "last.pt"):
        assert (tmp_path / "run" / name).is_file(), name
    assert any((tmp_path / "run" / "tb").iterdir())
    # The best checkpoint rebuilds a model whose val accuracy is the one recorded.
    val, ckpt = _assert_best_reproduces_val_accuracy(tmp_path / "run", samples, result)
    # The run's split file is a split file `sign2text evaluate --split-file` reads.
    position = {s.source_id: i for i, s in enumerate(samples)}
    assert load_split(tmp_path / "run" / "split.json", samples).parts["val"] == sorted(
        position[s.source_id] for s in val
    )
    best = result.history[result.best_epoch]
    assert ckpt["metrics"]["val_accuracy"] == pytest.approx(best["val_accuracy"])
    assert json.loads((tmp_path / "run" / "test" / "report.json").read_text())["n_samples"] > 0


@pytest.mark.parametrize(
    "average",
    [
        (),
        ("average.name=uniform", "average.start=0"),
        ("average.name=ema", "average.start=0"),
        ("mixup.alpha=0.4",),
    ],
    ids=["no-average", "uniform", "ema", "mixup"],
)
def test_resume_continues_exactly(
    samples: list[Sample], tmp_path: Path, average: tuple[str, ...]
) -> None:
    # A constant LR, so that stopping after 2 of 3 epochs is a true interruption (a cosine
    # schedule depends on the number of epochs).
    common = ("max_steps_per_epoch=2", "model.name=mlp", "model.args={hidden=32}", *average)
    cfg3 = _cfg("epochs=3", "schedule.name=constant", *common)
    cfg2 = _cfg("epochs=2", "schedule.name=constant", *common)
    straight = train(cfg3, tmp_path / "a", samples=samples)
    train(cfg2, tmp_path / "b", samples=samples)
    resumed = train(cfg3, tmp_path / "b", samples=samples, resume=True)
    assert len(resumed.history) == 3
    assert [h["train_loss"] for h in resumed.history] == pytest.approx(
        [h["train_loss"] for h in straight.history], abs=1e-6
    )
    a, _ = load_checkpoint(tmp_path / "a" / "last.pt")
    b, _ = load_checkpoint(tmp_path / "b" / "last.pt")
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb
        torch.testing.assert_close(va, vb, atol=1e-6, rtol=1e-5)


def test_weight_averaging_delivers_the_mean_of_the_weights(
    samples: list[Sample], tmp_path: Path
) -> None:
    """``average.name=uniform``: best.pt/last.pt hold the mean of the weights after each
    step from ``start`` on (BatchNorm statistics included), the raw weights stay in the
    resume state, and the reported validation accuracy is the averaged model's (the tiny
    config's conv_transformer has BatchNorm)."""
    cfg = _cfg(
        "epochs=2",
        "max_steps_per_epoch=3",
        "average.name=uniform",
        "average.start=0.5",
        "optim.lr=3e-3",
    )
    result = train(cfg, tmp_path / "run", samples=samples)
    ckpt = read_checkpoint(tmp_path / "run" / "last.pt")
    averaged = ckpt["state_dict"]
    raw = ckpt["resume"]["model"]
    assert int(ckpt["resume"]["averaged"]["n_averaged"]) == 3  # steps 3..5 of 0..5
    assert averaged.keys() == raw.keys()
    assert any(not torch.equal(averaged[k], raw[k]) for k in raw if "running_mean" in k)
    assert any(not torch.equal(averaged[k], raw[k]) for k in raw if k.endswith("weight"))
    _assert_best_reproduces_val_accuracy(tmp_path / "run", samples, result)
    with pytest.raises(ConfigError, match=r"other settings: average\.name"):
        train(
            _cfg("epochs=3", "max_steps_per_epoch=3"),
            tmp_path / "run",
            samples=samples,
            resume=True,
        )


def test_resume_refuses_other_settings_before_writing(
    samples: list[Sample], tmp_path: Path
) -> None:
    """``--resume`` with another split or learning rate used to go on silently (the
    optimizer state kept the old rate, and the new split tested on clips the first
    epochs trained on) after rewriting config.json and split.json; now it is refused
    and the run folder is untouched. More epochs are fine."""
    common = ("max_steps_per_epoch=2", "model.name=mlp", "model.args={hidden=32}")
    run = tmp_path / "run"
    train(_cfg("epochs=1", *common), run, samples=samples)
    before = {n: (run / n).read_bytes() for n in ("config.json", "split.json")}
    for change in ("optim.lr=0.1", "data.split_seed=7"):
        with pytest.raises(ConfigError, match=re.escape(change.split("=")[0]) + " "):
            train(_cfg("epochs=2", *common, change), run, samples=samples, resume=True)
        assert {n: (run / n).read_bytes() for n in before} == before
    with pytest.raises(ConfigError, match="does not exist"):
        train(_cfg("epochs=2", *common), tmp_path / "typo", samples=samples, resume=True)
    assert not (tmp_path / "typo").exists()
    assert len(train(_cfg("epochs=2", *common), run, samples=samples, resume=True).history) == 2


def test_mixup_trains_on_mixed_pairs_and_p0_is_off(samples: list[Sample], tmp_path: Path) -> None:
    """``mixup.alpha > 0`` changes what the model is trained on; ``p = 0`` draws but
    never mixes, so it trains exactly as without mixup (its draws touch no other
    random stream)."""
    common = ("epochs=2", "max_steps_per_epoch=3", "model.name=mlp", "model.args={hidden=32}")
    off = train(_cfg(*common), tmp_path / "off", samples=samples)
    never = train(_cfg(*common, "mixup.alpha=0.4", "mixup.p=0"), tmp_path / "p0", samples=samples)
    mixed = train(_cfg(*common, "mixup.alpha=0.4"), tmp_path / "mix", samples=samples)
    losses = [[h["train_loss"] for h in r.history] for r in (off, never, mixed)]
    assert losses[1] == pytest.approx(losses[0], abs=1e-7)
    assert losses[2][0] != pytest.approx(losses[0][0], abs=1e-4)


def test_mixup_loss_is_the_mix_of_both_targets_losses() -> None:
    """The batch the model sees is ``lam * x + (1 - lam) * x[perm]`` with OR-ed masks,
    and the loss is the same mix of the two targets' cross-entropies."""
    from torch import nn

    from sign2text.train.trainer import Trainer

    seen: dict[str, torch.Tensor] = {}

    class Probe(nn.Module):
        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            seen["x"], seen["mask"] = x, mask
            return x[:, 0, :3]

    trainer = Trainer.__new__(Trainer)
    trainer.cfg = _cfg("mixup.alpha=0.4")
    trainer.device = torch.device("cpu")
    trainer.dist = type("D", (), {"rank": 0})()  # type: ignore[assignment]
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(6, 4, 5, generator=gen)
    mask = torch.rand(6, 4, generator=gen) > 0.5
    target = torch.tensor([0, 1, 2, 0, 1, 2])
    crit = nn.CrossEntropyLoss()
    logits, loss, out = trainer._mixup_loss(Probe(), (x, mask, target), crit, epoch=1, step=2)
    rng = np.random.default_rng([0, 0, 1, 2])
    rng.random()  # the draw against p (p = 1: every batch is mixed)
    lam = float(rng.beta(0.4, 0.4))
    perm = torch.from_numpy(rng.permutation(6))
    torch.testing.assert_close(seen["x"], lam * x + (1 - lam) * x[perm])
    assert torch.equal(seen["mask"], mask | mask[perm])
    expected = lam * crit(logits, target) + (1 - lam) * crit(logits, target[perm])
    torch.testing.assert_close(loss, expected)
    assert torch.equal(out, target) and 0 < lam < 1


def test_averagers_average_weights_and_buffers() -> None:
    from sign2text.train.config import AverageConfig
    from sign2text.train.optim import create_averager

    model = torch.nn.BatchNorm1d(2)
    uniform = create_averager(model, AverageConfig(name="uniform"))
    ema = create_averager(model, AverageConfig(name="ema", decay=0.5))
    assert create_averager(model, AverageConfig()) is None
    assert uniform is not None and ema is not None
    for value in (1.0, 2.0, 6.0):
        with torch.no_grad():
            model.weight.fill_(value)
            model.running_mean.fill_(value)
        uniform.update_parameters(model)
        ema.update_parameters(model)
    assert uniform.module.weight.tolist() == [3.0, 3.0]
    assert uniform.module.running_mean.tolist() == [3.0, 3.0]
    assert ema.module.weight.tolist() == [3.75, 3.75]  # 1, then 1.5, then 3.75
    with pytest.raises(ConfigError, match="valid names: ema, none, uniform"):
        create_averager(model, AverageConfig(name="swad"))
    with pytest.raises(ConfigError, match="average: start"):
        AverageConfig(start=1.0)


def test_resume_of_a_finished_run_repairs_its_history(
    samples: list[Sample], tmp_path: Path
) -> None:
    """Killed after the final epoch's last.pt but before its history.json: the resumed
    run goes straight to the reports and writes the whole history."""
    cfg = _cfg("epochs=2", "max_steps_per_epoch=2", "model.name=mlp", "model.args={hidden=16}")
    run = tmp_path / "run"
    done = train(cfg, run, samples=samples)
    full = json.loads((run / "history.json").read_text())
    assert len(full) == 2
    (run / "history.json").write_text(json.dumps(full[:1]))  # as the kill left it
    (run / "curves.png").unlink()
    again = train(cfg, run, samples=samples, resume=True)
    assert json.loads((run / "history.json").read_text()) == full
    assert (run / "curves.png").is_file() and again.history == done.history


def test_resume_of_an_early_stopped_run_trains_no_more(
    samples: list[Sample], tmp_path: Path
) -> None:
    cfg = _cfg(
        "epochs=6", "patience=1", "monitor=accuracy", "max_steps_per_epoch=1", "optim.lr=1e-9",
        "model.name=mlp", "model.args={hidden=8}", "schedule.name=constant",
    )  # fmt: skip
    run = tmp_path / "run"
    done = train(cfg, run, samples=samples)
    assert len(done.history) < 6, "no early stop to test"
    again = train(cfg, run, samples=samples, resume=True)
    assert again.history == done.history and again.epochs_run == done.epochs_run


@pytest.mark.parametrize("quiet", [False, True])
def test_quiet_silences_the_progress_bars(
    pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], quiet: bool
) -> None:
    args = ["train", str(TINY), "--out", str(tmp_path / "run"), "--set", f"data.paths=['{pack}']"]
    args += ["--set", "epochs=1", "--set", "max_steps_per_epoch=1"]
    assert main(["-q", *args] if quiet else args) == 0
    err = capsys.readouterr().err
    assert ("epoch 1/1" in err) is not quiet and ("features" in err) is not quiet, err[-500:]


def test_cli_train_then_evaluate(
    pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    code = main(["-q", "train", str(TINY), "--set", f'data.paths=["{pack}"]', "--out", str(run)])
    assert code == 0
    assert "best epoch" in capsys.readouterr().out
    out = tmp_path / "eval"
    assert main(["-q", "evaluate", str(run / "best.pt"), str(pack), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["labels"] == list(WORDS)
    assert report["n_evaluated"] == report["n_samples"]
    assert (out / "confusion.png").stat().st_size > 1000
    assert "top-1 accuracy" in (out / "report.md").read_text()


@pytest.mark.parametrize("opt_name", ["adamw", "sgd", "radam"])
@pytest.mark.parametrize("sched_name", ["cosine_warmup", "onecycle", "plateau", "constant"])
def test_every_optimizer_and_scheduler_steps(opt_name: str, sched_name: str) -> None:
    from sign2text.models import create_model
    from sign2text.train.config import OptimConfig, ScheduleConfig
    from sign2text.train.optim import (
        OPTIMIZERS,
        PER_STEP,
        SCHEDULERS,
        create_optimizer,
        create_scheduler,
    )

    assert {opt_name} <= set(OPTIMIZERS.names()) and {sched_name} <= set(SCHEDULERS.names())
    torch.manual_seed(0)
    model = create_model("mlp", in_dim=6, num_classes=3, hidden=8)
    opt = create_optimizer(model, OptimConfig(name=opt_name, lr=0.01))
    sched = create_scheduler(opt, ScheduleConfig(name=sched_name), steps_per_epoch=3, epochs=2)
    before = [p.detach().clone() for p in model.parameters()]
    x, m = torch.randn(4, 5, 6), torch.ones(4, 5, dtype=torch.bool)
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(model(x, m), torch.tensor([0, 1, 2, 0]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched_name in PER_STEP:
            sched.step()
    if sched_name not in PER_STEP:
        sched.step(float(loss))
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert all(g["lr"] > 0 for g in opt.param_groups)


@pytest.mark.parametrize("loss_name", ["cross_entropy", "focal"])
def test_criterions(loss_name: str) -> None:
    from sign2text.train.config import LossConfig
    from sign2text.train.optim import create_criterion

    crit = create_criterion(LossConfig(name=loss_name, label_smoothing=0.1))
    good = torch.tensor([[5.0, 0.0], [0.0, 5.0]])
    target = torch.tensor([0, 1])
    assert float(crit(good, target)) < float(crit(-good, target))
    with pytest.raises(ConfigError, match="valid names: cross_entropy, focal"):
        create_criterion(LossConfig(name="hinge"))


def test_sampling_weights_balance_labels_then_signers() -> None:
    from sign2text.train.trainer import sampling_weights

    lm = np.zeros((2, 543, 3), dtype=np.float32)
    # "a": signer p has 9 recordings, q has 1; "b": 4 recordings of one signer.
    rows = [("a", "p")] * 9 + [("a", "q")] + [("b", "p")] * 4
    samples = [Sample(lm, label, signer, str(i)) for i, (label, signer) in enumerate(rows)]

    def mass(weights: list[float], label: str, signer: str | None = None) -> float:
        return sum(
            w
            for w, s in zip(weights, samples, strict=True)
            if s.label == label and (signer is None or s.signer == signer)
        )

    plain = sampling_weights(samples)
    signers = sampling_weights(samples, balance_signers=True)
    for w in (plain, signers):  # a label weighs sqrt(its count) either way
        assert mass(w, "a") == pytest.approx(10**0.5)
        assert mass(w, "b") == pytest.approx(4**0.5)
    assert mass(plain, "a", "p") == pytest.approx(9 * mass(plain, "a", "q"))
    assert mass(signers, "a", "p") == pytest.approx(mass(signers, "a", "q"))  # equal shares
    # The option is read from the config (off by default).
    assert load_config(None, ["balance_signers=true"]).balance_signers
    assert not TrainConfig().balance_signers


def test_features_that_read_the_face_warn_without_faces(
    samples: list[Sample], caplog: pytest.LogCaptureFixture
) -> None:
    from sign2text.features import FeatureConfig
    from sign2text.landmarks import skeleton as sk
    from sign2text.train.data import warn_missing_face

    assert np.isnan(samples[0].landmarks[:, sk.FACE.start]).all()  # traduttore has no face
    lips = FeatureConfig(subsets=("hands", "lips"))
    with caplog.at_level("WARNING", logger="sign2text.train.data"):
        assert warn_missing_face(samples, lips)
    assert "none of the" in caplog.text and "--no-face" in caplog.text
    assert not warn_missing_face(samples, FeatureConfig())  # the default reads no face
    with_face = np.array(samples[0].landmarks, dtype=np.float32)
    with_face[:, sk.FACE.start : sk.FACE.stop] = 0.5
    one = Sample(with_face, samples[0].label, samples[0].signer, "with-face")
    assert not warn_missing_face([*samples, one], lips)
