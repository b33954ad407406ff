"""A writer killed mid-write leaves a temp file that the next write removes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from sign2text.io.atomic import atomic_write, remove_orphaned_temps


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
