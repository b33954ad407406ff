"""A writer killed mid-write leaves a temp file that the next write removes; checksum
sidecars, staging folders and sets of files survive interrupts between their steps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sign2text.io import atomic
from sign2text.io.atomic import (
    atomic_write,
    checksum_listed,
    remove_orphaned_temps,
    replace_all,
    sidecar,
    staging_dir,
    write_checked,
)


def _temps(folder: Path, name: str) -> list[Path]:
    return sorted(folder.glob(f".{name}.*.tmp"))


def test_killed_writer_leaves_nothing_visible_and_next_write_cleans_up(tmp_path: Path) -> None:
    dest = tmp_path / "model.onnx"
    dest.write_bytes(b"old")
    code = textwrap.dedent(
        f"""
        import sys, time
        from sign2text.io.atomic import atomic_write
        with atomic_write({str(dest)!r}) as fh:
            fh.write(b"half")
            fh.flush()
            print("writing", flush=True)
            time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    left = _temps(tmp_path, dest.name)
    assert len(left) == 1 and f".{proc.pid}." in left[0].name
    assert dest.read_bytes() == b"old"  # the half-written file never replaced it

    with atomic_write(dest) as fh:
        fh.write(b"new")
    assert dest.read_bytes() == b"new"
    assert _temps(tmp_path, dest.name) == []


def test_temp_files_of_live_writers_and_other_names_are_kept(tmp_path: Path) -> None:
    dest = tmp_path / "signs.npz"
    mine = tmp_path / f".signs.npz.{os.getpid()}.abc.tmp"  # a writer at work (this process)
    foreign = tmp_path / ".signs.npz.abc123.tmp"  # no pid in the name: not ours to judge
    other = tmp_path / ".other.npz.999999999.abc.tmp"  # another destination
    for p in (mine, foreign, other):
        p.write_bytes(b"x")
    assert remove_orphaned_temps(dest) == []
    assert mine.exists() and foreign.exists() and other.exists()
    # a pid that cannot exist (above the kernel's pid_max) counts as gone
    dead = tmp_path / f".signs.npz.{2**22 + 17}.abc.tmp"
    dead.write_bytes(b"x")
    assert remove_orphaned_temps(dest) == [dead]


def test_sidecar_lists_the_checksum_of_whatever_file_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer killed between a file and its ``.sha256`` never leaves a pair that fails
    its own check (which would make a checkpoint unresumable)."""
    path = tmp_path / "last.pt"
    write_checked(path, b"old")
    assert checksum_listed(path, b"old") and not checksum_listed(path, b"new")

    def die(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    # Killed after the sidecar was widened, before the file was replaced: old file.
    with monkeypatch.context() as m:
        m.setattr(atomic, "atomic_write_bytes", die)
        with pytest.raises(KeyboardInterrupt):
            write_checked(path, b"new")
    assert path.read_bytes() == b"old" and checksum_listed(path, path.read_bytes())
    # Killed after the file was replaced, before the sidecar was narrowed: new file.
    calls = {"n": 0}
    real = atomic.atomic_write_text

    def second_call_dies(dest: object, text: str) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real(dest, text)  # type: ignore[arg-type]

    with monkeypatch.context() as m:
        m.setattr(atomic, "atomic_write_text", second_call_dies)
        with pytest.raises(KeyboardInterrupt):
            write_checked(path, b"new")
    assert path.read_bytes() == b"new" and checksum_listed(path, path.read_bytes())
    write_checked(path, b"newer")  # a completed write lists only its own checksum
    assert sidecar(path).read_text().split() == [atomic.sha256_bytes(b"newer")]


def test_ctrl_c_waits_until_a_set_of_files_is_in_place(tmp_path: Path) -> None:
    staged = tmp_path / "staged"
    staged.mkdir()
    pairs = []
    for name in ("a", "b", "c"):
        (staged / name).write_text(name)
        pairs.append((staged / name, tmp_path / name))
    with pytest.raises(KeyboardInterrupt), atomic.interrupts_deferred():
        os.kill(os.getpid(), signal.SIGINT)  # arrives now, raised only after the block
        replace_all(pairs)
    assert [(tmp_path / n).read_text() for n in ("a", "b", "c")] == ["a", "b", "c"]


def test_staged_files_are_flushed_before_they_are_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = tmp_path / "staged"
    staged.mkdir()
    pairs = []
    for name in ("a", "b"):
        (staged / name).write_text(name)  # a plain write, as an image encoder does
        pairs.append((staged / name, tmp_path / name))
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", str(Path(f"/proc/self/fd/{fd}").readlink())))
        real_fsync(fd)

    def replace(src: os.PathLike[str], dst: os.PathLike[str]) -> None:
        events.append(("replace", str(src)))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    replace_all(pairs)
    first_rename = events.index(("replace", str(staged / "a")))
    flushed = {path for kind, path in events[:first_rename] if kind == "fsync"}
    assert {str(staged / "a"), str(staged / "b")} <= flushed
    assert [(tmp_path / n).read_text() for n in ("a", "b")] == ["a", "b"]


def test_staging_folders_of_killed_processes_are_removed(tmp_path: Path) -> None:
    dead = tmp_path / ".export.s2t-999999999.abc"  # no such pid
    dead.mkdir()
    (dead / "model.fp32.onnx").write_bytes(b"half")
    live = tmp_path / f".export.s2t-{os.getpid()}.xyz"  # this process: still at work
    live.mkdir()
    # Folders that merely look alike are not ours: a user's, another name's build.
    mine = [tmp_path / ".export.1234567", tmp_path / ".export.20240101.s2t-999999999.x"]
    for folder in mine:
        folder.mkdir()
    with staging_dir(tmp_path, "export") as scratch:
        assert scratch.parent == tmp_path
        assert scratch.name.startswith(f".export.s2t-{os.getpid()}.")
        assert not dead.exists() and live.exists()
    assert not scratch.exists() and all(folder.exists() for folder in mine)


def test_a_file_damaged_before_a_write_never_becomes_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "last.pt"
    write_checked(path, b"old content")
    path.write_bytes(b"old con")  # damaged on disk, then a writer is killed mid-way

    def die(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic, "atomic_write_bytes", die)
    with pytest.raises(KeyboardInterrupt):
        write_checked(path, b"new content")
    assert not checksum_listed(path, path.read_bytes())


def test_deferred_ctrl_c_with_the_default_action_still_terminates(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import os, signal
        from sign2text.io.atomic import interrupts_deferred
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            print("inside", flush=True)
        print("survived", flush=True)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["inside"] and done.returncode == -signal.SIGINT
