"""Crash and resume: ``sign2text train`` killed with SIGKILL mid-run resumes to the same
final checkpoint as an uninterrupted run; ``sign2text export`` killed mid-export never
leaves a half-written ``.onnx``; a corrupted checkpoint is detected, never loaded.

(``sign2text extract`` has its SIGKILL-resume test in ``tests/test_extract.py``.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest
from reliability_helpers import cli_command

torch = pytest.importorskip("torch")

from sign2text.data.pack import read_pack, write_pack  # noqa: E402
from sign2text.data.sample import Sample  # noqa: E402
from sign2text.errors import IntegrityError, ModelError  # noqa: E402
from sign2text.models import load_checkpoint, read_checkpoint  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "configs" / "tiny.toml"
WORDS = ("coffee", "hello", "thank-you")
EPOCHS = 40


def _report(**figures: object) -> None:
    target = os.environ.get("SIGN2TEXT_RELIABILITY_REPORT")
    if target:
        with open(target, "a") as fh:
            fh.write(json.dumps({"kind": "crash", **figures}) + "\n")


@pytest.fixture(scope="module")
def pack(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    per: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for s in read_pack(data_dir / "landmarks" / "traduttore.npz"):
        if s.label in WORDS and len(per[s.label, s.signer]) < 8:
            per[s.label, s.signer].append(s)
    path = tmp_path_factory.mktemp("crash-data") / "slice.npz"
    write_pack(path, [s for group in per.values() for s in group])
    return path


def _train_cmd(pack: Path, out: Path, *extra: str) -> list[str]:
    # A constant LR and no early stopping: an interruption is then invisible in the end.
    sets = [
        f"epochs={EPOCHS}",
        "patience=1000",
        "max_steps_per_epoch=2",
        "schedule.name=constant",
        "model.name=mlp",
        "model.args={hidden=32}",
        f'data.paths=["{pack}"]',
    ]
    args = [a for s in sets for a in ("--set", s)]
    return [*cli_command(), "-q", "train", str(TINY), *args, "--out", str(out), *extra]


def _run(cmd: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return done


def _epoch_of(path: Path) -> int:
    return int(read_checkpoint(path)["epoch"])


def _kill_when(proc: subprocess.Popen[bytes], ready: object, timeout: float = 240) -> None:
    """SIGKILL ``proc`` (and its group) the moment ``ready()`` is true."""
    deadline = time.monotonic() + timeout
    while not ready():  # type: ignore[operator]
        if proc.poll() is not None:
            raise AssertionError(f"finished before the kill (rc {proc.returncode})")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the kill point never came")
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def straight(pack: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("straight") / "run"
    _run(_train_cmd(pack, out))
    return out


def test_train_sigkill_then_resume_equals_an_uninterrupted_run(
    pack: Path, straight: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen(
        _train_cmd(pack, out),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    last = out / "last.pt"

    def mid_run() -> bool:  # a few epochs saved, far from the end
        try:
            return last.is_file() and 3 <= _epoch_of(last) < EPOCHS - 5
        except (ModelError, OSError):
            return False  # between the file and its sidecar: not yet

    _kill_when(proc, mid_run)
    # What the kill left is whole: the checkpoint verifies and names its epoch.
    killed_at = _epoch_of(last)
    assert not (out / "test").exists(), "the run was not interrupted"
    hidden = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    _report(case="train", killed_after_epoch=killed_at + 1, of=EPOCHS, temp_files_left=hidden)

    done = _run(_train_cmd(pack, out, "--resume"))
    assert "best epoch" in done.stdout
    a, ckpt_a = load_checkpoint(straight / "last.pt")
    b, ckpt_b = load_checkpoint(out / "last.pt")
    assert ckpt_a["epoch"] == ckpt_b["epoch"] == EPOCHS - 1
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb
        torch.testing.assert_close(va, vb, atol=1e-6, rtol=1e-5)
    hist_a = json.loads((straight / "history.json").read_text())
    hist_b = json.loads((out / "history.json").read_text())
    assert [h["train_loss"] for h in hist_b] == pytest.approx(
        [h["train_loss"] for h in hist_a], abs=1e-6
    )


def _onnx_files_are_whole(folder: Path) -> list[str]:
    import onnx

    names = []
    for path in sorted(folder.glob("*.onnx")):
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
        assert any(p.key == "sign2text" for p in proto.metadata_props), path.name
        names.append(path.name)
    return names


@pytest.mark.parametrize("point", ["first_file", "fp32_staged"])
def test_export_sigkill_leaves_no_half_written_onnx(
    straight: Path, tmp_path: Path, point: str
) -> None:
    """Export builds its files in a hidden staging folder and renames them into place
    together at the end: killed before that, the folder shows no model at all, and the
    next export removes the dead process's staging folder."""
    out = tmp_path / "export"
    cmd = [*cli_command(), "-q", "export", str(straight / "best.pt"), "--out", str(out)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )

    def ready() -> bool:
        if point == "first_file":
            return out.is_dir() and any(out.iterdir())
        return any(out.glob(".export.*/model.fp32.onnx"))  # during int8 quantization

    _kill_when(proc, ready)
    visible = _onnx_files_are_whole(out)
    hidden = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    _report(case=f"export@{point}", onnx_visible=visible, temp_files_left=hidden)
    assert visible == [] and not (out / "parity.json").exists()
    # A later export over the same folder completes and clears the dead staging folder.
    _run([*cli_command(), "-q", "export", str(straight / "best.pt"), "--out", str(out)])
    assert _onnx_files_are_whole(out) == ["model.fp32.onnx", "model.int8.onnx"]
    assert sorted(p.name for p in out.iterdir()) == [
        "model.fp32.onnx",
        "model.int8.onnx",
        "parity.json",
        "parity.md",
    ]


@pytest.mark.parametrize("damage", ["flip", "truncate", "no_sidecar", "swap_sidecar"])
def test_corrupted_checkpoint_is_detected_not_loaded(
    straight: Path, tmp_path: Path, damage: str
) -> None:
    ckpt = tmp_path / "best.pt"
    data = bytearray((straight / "best.pt").read_bytes())
    sidecar = (straight / "best.pt.sha256").read_text()
    if damage == "flip":
        for pos in range(len(data) // 3, len(data) // 3 + 64, 8):
            data[pos] ^= 0xFF
    elif damage == "truncate":
        data = data[: len(data) // 2]
    ckpt.write_bytes(bytes(data))
    if damage == "swap_sidecar":
        sidecar = (straight / "last.pt.sha256").read_text()
    if damage != "no_sidecar":
        (tmp_path / "best.pt.sha256").write_text(sidecar)
    with pytest.raises(IntegrityError) as info:
        load_checkpoint(ckpt)
    assert "\n" not in str(info.value)
    done = subprocess.run(
        [*cli_command(), "export", str(ckpt), "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("sign2text: error: "), done.stderr
    assert not (tmp_path / "x").exists() or not list((tmp_path / "x").glob("*.onnx"))


def test_resume_from_a_corrupted_last_checkpoint_is_refused(
    pack: Path, straight: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for name in ("last.pt", "last.pt.sha256", "config.json", "split.json"):
        (run / name).write_bytes((straight / name).read_bytes())
    data = bytearray((run / "last.pt").read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit
    (run / "last.pt").write_bytes(bytes(data))
    done = subprocess.run(
        _train_cmd(pack, run, "--resume"), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "checksum mismatch" in done.stderr and "Traceback" not in done.stderr
