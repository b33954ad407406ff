"""Atomic file writes and checksums.

A write goes to a temporary file in the destination folder, is flushed and fsynced,
then renamed over the destination (``os.replace`` is atomic on POSIX), so a reader
never sees a half-written file, even when the writer is killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import os
import re
import shutil
import signal
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from sign2text.errors import IntegrityError


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file that replaces ``path`` only when the block succeeds."""
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_orphaned_temps(dest)
    # The writer's pid is in the name, so a later write can tell a temp file left by a
    # killed writer (removed) from one being written right now (kept).
    fd, tmp = tempfile.mkstemp(
        prefix=f".{dest.name}.{os.getpid()}.", suffix=".tmp", dir=dest.parent
    )
    # mkstemp creates 0600; the result should get the usual permissions of a new file.
    os.fchmod(fd, 0o666 & ~_umask())
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(dest.parent)


def remove_orphaned_temps(dest: str | Path) -> list[Path]:
    """Remove the temporary files of :func:`atomic_write` for ``dest`` whose writer is gone.

    A writer killed with SIGKILL cannot clean up; its ``.<name>.<pid>.<random>.tmp`` was
    never renamed over ``dest`` (so nothing half-written was ever visible), and it is
    removed here once no process with that pid exists. Returns the removed paths.
    """
    target = Path(dest)
    prefix = f".{target.name}."
    removed: list[Path] = []
    try:
        candidates = list(target.parent.glob(f"{glob.escape(prefix)}*.tmp"))
    except OSError:
        return removed
    for tmp in candidates:
        pid_text = tmp.name[len(prefix) :].split(".", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue  # another naming scheme, or a writer still at work
        with contextlib.suppress(FileNotFoundError, PermissionError):
            tmp.unlink()
            removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not a pid we can reason about: keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


# Folders built aside are named ``<prefix>s2t-<pid>.<random>``: the marker keeps the
# clean-up away from folders that merely start like them (``.landmarks.2024...``).
_AT_WORK = "s2t-"


def _remove_orphaned_dirs(folder: Path, prefix: str) -> None:
    """Remove ``<prefix>s2t-<pid>.<random>`` folders in ``folder`` whose creator is gone."""
    pattern = re.compile(re.escape(prefix + _AT_WORK) + r"(\d+)\.[A-Za-z0-9_]+")
    try:
        candidates = [p for p in folder.glob(f"{glob.escape(prefix + _AT_WORK)}*") if p.is_dir()]
    except OSError:
        return
    for tmp in candidates:
        match = pattern.fullmatch(tmp.name)
        if match and not _alive(int(match.group(1))):
            shutil.rmtree(tmp, ignore_errors=True)


def _aside(folder: Path, prefix: str) -> Path:
    """A new folder ``<prefix>s2t-<pid>.<random>`` in ``folder``."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{_AT_WORK}{os.getpid()}.", dir=folder))


@contextlib.contextmanager
def staging_dir(folder: str | Path, tag: str) -> Iterator[Path]:
    """A hidden scratch folder ``.<tag>.s2t-<pid>.<random>`` inside ``folder`` (so its files
    can be renamed into ``folder`` atomically), removed when the block ends. Folders of
    the same tag left by a process killed with SIGKILL are removed first."""
    parent = Path(folder)
    parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{tag}."
    _remove_orphaned_dirs(parent, prefix)
    tmp = _aside(parent, prefix)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) until the block ends, then deliver it: for the few renames
    that put a set of files in place, so an interrupt cannot leave half a set. A no-op
    outside the main thread (where signal handlers cannot be set)."""
    current = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or current is None:
        yield  # not the main thread, or a handler set outside Python: leave it alone
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if not received:
        return
    if callable(previous):
        previous(signal.SIGINT, None)  # Python's default raises KeyboardInterrupt
    elif previous == signal.SIG_DFL:
        os.kill(os.getpid(), signal.SIGINT)  # the default action: terminate


def replace_all(pairs: list[tuple[Path, Path]]) -> None:
    """Rename each staged file over its destination (same file system), with Ctrl-C held
    until all are in place. Each staged file is flushed to disk first, whoever wrote it
    (an image encoder, an ONNX writer), so a crash just after the renames cannot leave a
    destination that exists but lost its contents."""
    for staged, _ in pairs:
        _fsync(staged)
    with interrupts_deferred():
        for staged, dest in pairs:
            os.replace(staged, dest)
        for folder in {dest.parent for _, dest in pairs}:
            _fsync_dir(folder)


@contextlib.contextmanager
def atomic_dir(dest: str | Path) -> Iterator[Path]:
    """Build a folder aside and rename it to ``dest`` only when the block succeeds.

    ``dest`` must not exist or be an empty folder; otherwise :class:`DatasetError`.
    A folder left aside by a process killed with SIGKILL is removed by the next call.
    """
    from sign2text.errors import DatasetError

    final = Path(dest)
    if final.exists() and (not final.is_dir() or any(final.iterdir())):
        raise DatasetError(f"{final}: already exists and is not an empty folder")
    final.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{final.name}."
    _remove_orphaned_dirs(final.parent, prefix)
    tmp = _aside(final.parent, prefix)
    try:
        yield tmp
        if final.exists():
            final.rmdir()
        tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (renames), best effort: some file systems refuse it."""
    with contextlib.suppress(OSError):
        _fsync(folder)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def npz_bytes(arrays: dict[str, NDArray[Any]], compressed: bool = True) -> bytes:
    """Serialize arrays to ``.npz`` bytes, byte-for-byte deterministic.

    ``np.savez`` stamps each member with the current time, so two runs over the same
    data differ; we write the zip ourselves with a fixed timestamp (readable by
    ``np.load`` as usual).
    """
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, arr in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(  # type: ignore[no-untyped-call]
                member, np.asanyarray(arr), allow_pickle=False
            )
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def sidecar(path: str | Path) -> Path:
    """The ``.sha256`` file next to ``path``."""
    return Path(str(path) + ".sha256")


def write_checked(path: str | Path, data: bytes) -> None:
    """Write ``data`` atomically with a ``.sha256`` sidecar, so that at every moment,
    even when killed between the two files, the sidecar lists the checksum of the file
    that is there: first the sidecar lists the new checksum and the ones it already
    listed, then the file is replaced, then the sidecar keeps the new one only. (The
    checksums kept are the listed ones, never a hash of what is on disk now, so a file
    damaged before the write cannot become valid.)"""
    dest, side = Path(path), sidecar(path)
    new = sha256_bytes(data)
    try:
        listed = [c for c in side.read_text().split() if c != new]
    except (FileNotFoundError, UnicodeDecodeError):
        listed = []
    atomic_write_text(side, "\n".join([new, *listed]) + "\n")
    atomic_write_bytes(dest, data)
    if listed:
        atomic_write_text(side, new + "\n")


def checksum_listed(path: str | Path, data: bytes) -> bool:
    """Whether ``data`` (the content of ``path``) has a checksum its sidecar lists."""
    side = sidecar(path)
    try:
        listed = side.read_text().split()
    except (FileNotFoundError, UnicodeDecodeError):
        return False
    return sha256_bytes(data) in listed


def save_npz_checked(path: str | Path, arrays: dict[str, NDArray[Any]]) -> None:
    """Write an ``.npz`` atomically with a ``.sha256`` sidecar holding its checksum."""
    write_checked(path, npz_bytes(arrays))


def load_npz_checked(path: str | Path) -> dict[str, NDArray[Any]]:
    """Load an ``.npz`` written by :func:`save_npz_checked`; raise on checksum mismatch."""
    p = Path(path)
    data = p.read_bytes()
    if not checksum_listed(p, data):
        raise IntegrityError(f"{p}: checksum missing or wrong (corrupt or half-written cache)")
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
