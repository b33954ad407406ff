"""Batch landmark extraction: a video dataset -> cached per-clip landmarks -> one pack.

The pipeline is resumable and deterministic:

1. The clips of the dataset are listed (:func:`sign2text.data.importers.list_videos`),
   keyed by a stable clip key, sorted, and (optionally) cut into shards: clip ``k`` of
   the sorted list goes to shard ``k % n``.
2. Each clip whose cache file ``OUT/cache/<id>.npz`` is missing or fails its checksum
   is extracted by a worker process (one MediaPipe Holistic per worker, reset between
   clips so no tracking state leaks from one clip to the next) and cached atomically
   with a checksum sidecar (:func:`sign2text.io.atomic.save_npz_checked`).
3. The pack is assembled from the caches in sorted order and written atomically; its
   bytes depend only on the clips and the settings, never on timing, worker count or
   how many times the run was interrupted.

Clips that cannot be decoded are recorded (``failures.json``), never fatal.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import multiprocessing
import os
import re
import signal
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sign2text.data.importers.base import VideoItem
from sign2text.data.pack import write_pack
from sign2text.data.sample import Sample
from sign2text.errors import ConfigError, DatasetError, IntegrityError, Sign2TextError
from sign2text.io.atomic import atomic_write_text, load_npz_checked, save_npz_checked
from sign2text.io.video import VideoLimits
from sign2text.landmarks.holistic import HolisticConfig, HolisticExtractor, extract_video

log = logging.getLogger(__name__)

# Bump when the cache content changes meaning, so old caches are rebuilt, not reused.
CACHE_VERSION = 1


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based): sorted clip ``k`` goes to shard ``k % count``."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ConfigError(
                f"bad shard {self.index}/{self.count}: need 0 <= i < n (e.g. 0/4 .. 3/4)"
            )

    @classmethod
    def parse(cls, text: str) -> Shard:
        """Parse ``"i/n"``."""
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not m:
            raise ConfigError(f"bad shard {text!r}: expected i/n, e.g. 0/4")
        return cls(int(m.group(1)), int(m.group(2)))

    @property
    def is_whole(self) -> bool:
        return self.count == 1

    @property
    def tag(self) -> str:
        return f"shard-{self.index}-of-{self.count}"


@dataclass(frozen=True)
class ExtractConfig:
    """What shapes the landmarks (part of every cache id) and how the run goes."""

    target_fps: float | None = None
    holistic: HolisticConfig = field(default_factory=HolisticConfig)
    limits: VideoLimits = field(default_factory=VideoLimits)

    def fingerprint(self) -> str:
        """Hash of the settings that change the landmarks (not the caps)."""
        holistic = asdict(self.holistic)
        if holistic["face"]:  # the full graph: caches from before the setting stay valid
            del holistic["face"]
        data = {"v": CACHE_VERSION, "fps": self.target_fps, "holistic": holistic}
        text = json.dumps(data, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Clip:
    """One clip to extract, with its stable key and cache file name."""

    key: str
    item: VideoItem
    cache_name: str


@dataclass(frozen=True)
class ClipResult:
    """Outcome of one clip: ``status`` is ``"done"``, ``"cached"`` or ``"failed"``."""

    key: str
    status: str
    frames: int = 0
    seconds: float = 0.0
    error: str = ""
    code: str = ""


@dataclass
class ExtractReport:
    """What a run did; ``pack`` is ``None`` when no clip could be extracted."""

    pack: Path | None
    failures_path: Path
    total: int = 0
    done: int = 0
    cached: int = 0
    failed: list[ClipResult] = field(default_factory=list)
    frames_extracted: int = 0
    extract_seconds: float = 0.0

    @property
    def frames_per_second(self) -> float:
        """Frames extracted per second of wall time in the extraction phase."""
        return self.frames_extracted / self.extract_seconds if self.extract_seconds else 0.0


def clip_key(item: VideoItem) -> str:
    """The stable key of a clip: its source id, plus its frame range when cut."""
    if item.frame_start is None and item.frame_end is None:
        return item.source_id
    start = "" if item.frame_start is None else str(item.frame_start)
    end = "" if item.frame_end is None else str(item.frame_end)
    return f"{item.source_id}@{start}-{end}"


def cache_name(key: str, config: ExtractConfig) -> str:
    """File name of a clip's cache: readable prefix + hash of key and settings."""
    digest = hashlib.sha256(f"{key}\0{config.fingerprint()}".encode()).hexdigest()[:20]
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", key)[:40].strip("_") or "clip"
    return f"{slug}-{digest}.npz"


def plan(items: list[VideoItem], config: ExtractConfig, shard: Shard = Shard()) -> list[Clip]:
    """Sort clips by key and keep those of ``shard``. Duplicate keys are an error."""
    by_key: dict[str, VideoItem] = {}
    for item in items:
        key = clip_key(item)
        if key in by_key:
            raise DatasetError(
                f"two clips share the id {key!r} ({by_key[key].path} and {item.path})"
            )
        by_key[key] = item
    keys = sorted(by_key)
    return [
        Clip(key=k, item=by_key[k], cache_name=cache_name(k, config))
        for i, k in enumerate(keys)
        if i % shard.count == shard.index
    ]


def list_dataset(root: str | Path, layout: str | None = None) -> list[VideoItem]:
    """The clips of a video dataset, through the importers' :func:`list_videos`."""
    from sign2text.data.importers import list_videos

    items: list[VideoItem] = list_videos(Path(root), layout=layout)
    return items


def _cache_arrays(
    clip: Clip, landmarks: NDArray[np.float32], fps: float, config: ExtractConfig
) -> dict[str, NDArray[Any]]:
    item = clip.item
    return {
        "landmarks": landmarks.astype(np.float16),
        "fps": np.asarray(fps, dtype=np.float64),
        "key": np.asarray(clip.key, dtype=np.str_),
        "label": np.asarray(item.label, dtype=np.str_),
        "signer": np.asarray(item.signer, dtype=np.str_),
        "split": np.asarray(item.split or "", dtype=np.str_),
        "fingerprint": np.asarray(config.fingerprint(), dtype=np.str_),
    }


def load_cache(path: Path, clip: Clip, config: ExtractConfig) -> Sample:
    """Read and verify one cache file; raise :class:`IntegrityError` if it is unusable."""
    try:
        arrays = load_npz_checked(path)
        landmarks = arrays["landmarks"]
        key = str(arrays["key"])
        fingerprint = str(arrays["fingerprint"])
    except IntegrityError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise IntegrityError(f"{path}: unreadable cache ({exc})") from None
    if key != clip.key or fingerprint != config.fingerprint():
        raise IntegrityError(f"{path}: cache belongs to another clip or other settings")
    if landmarks.ndim != 3 or landmarks.shape[1:] != (543, 3):
        raise IntegrityError(f"{path}: cached landmarks have shape {landmarks.shape}")
    item = clip.item
    return Sample(
        landmarks=landmarks,
        label=item.label,
        signer=item.signer,
        source_id=clip.key,
        split=item.split,
    )


def _cache_ok(path: Path, clip: Clip, config: ExtractConfig) -> bool:
    if not path.exists():
        return False
    try:
        load_cache(path, clip, config)
    except IntegrityError as exc:
        log.warning("rebuilding cache: %s", exc)
        _remove_cache(path)
        return False
    return True


def _remove_cache(path: Path) -> None:
    for p in (path, Path(str(path) + ".sha256")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _remove_stale_temps(folder: Path, names: set[str]) -> None:
    """Delete temp files a killed run left behind (only those of files we write).

    The caller holds the run lock, so no other writer of these names is at work:
    ``.<name>.<anything>.tmp`` is stale whoever wrote it.
    """
    for tmp in folder.glob(".*.tmp"):
        if any(tmp.name.startswith(f".{name}.") for name in names):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


# --- worker side -----------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _exit_with_parent(parent: int) -> None:
    """Leave when the parent is gone (killed with SIGKILL, it cannot stop its workers;
    forkserver workers are not its children, so no parent-death signal reaches them)."""
    while True:
        time.sleep(1.0)
        try:
            os.kill(parent, 0)
        except (ProcessLookupError, PermissionError):  # gone, or its pid reused by another user
            os._exit(1)


def _init_worker(config: ExtractConfig, quiet: bool, parent: int) -> None:
    # Ctrl-C reaches the whole process group: the parent stops the workers itself, so a
    # worker must not die half-way through writing on its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    if quiet:
        # MediaPipe / TF Lite write C++ logs straight to fd 2 for every graph; a worker's
        # errors reach the parent as return values, so its stderr carries nothing we need.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    _WORKER["config"] = config
    _WORKER["extractor"] = HolisticExtractor(config.holistic)


def extract_clip(
    clip: Clip, cache_dir: Path, config: ExtractConfig, extractor: HolisticExtractor
) -> ClipResult:
    """Extract one clip into its cache file; an unreadable clip gives a failed result."""
    t0 = time.perf_counter()
    item = clip.item
    try:
        landmarks, fps = extract_video(
            item.path,
            target_fps=config.target_fps,
            limits=config.limits,
            start=item.frame_start,
            stop=item.frame_end,
            extractor=extractor,
        )
    except Sign2TextError as exc:
        return ClipResult(clip.key, "failed", error=str(exc), code=exc.code)
    save_npz_checked(cache_dir / clip.cache_name, _cache_arrays(clip, landmarks, fps, config))
    return ClipResult(clip.key, "done", frames=len(landmarks), seconds=time.perf_counter() - t0)


def _worker_run(clip: Clip, cache_dir: Path) -> ClipResult:
    config: ExtractConfig = _WORKER["config"]
    extractor: HolisticExtractor = _WORKER["extractor"]
    return extract_clip(clip, cache_dir, config, extractor)


# --- driver ----------------------------------------------------------------------------


@contextlib.contextmanager
def _run_lock(out: Path, shard: Shard) -> Iterator[None]:
    """Refuse a second run on the same output and shard (released when the process dies)."""
    path = out / f".extract-{shard.tag}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatasetError(f"{out}: another extract is running on this output") from None
        yield
    finally:
        os.close(fd)


def _run_clips(
    todo: list[Clip],
    cache_dir: Path,
    config: ExtractConfig,
    workers: int,
    on_result: Callable[[ClipResult], None],
    quiet_workers: bool,
) -> None:
    if workers <= 0:
        with HolisticExtractor(config.holistic) as ex:
            for clip in todo:
                on_result(extract_clip(clip, cache_dir, config, ex))
        return
    # forkserver: workers never inherit MediaPipe / thread state from the parent.
    ctx = multiprocessing.get_context("forkserver")
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(config, quiet_workers, os.getpid()),
    )
    pending: set[Future[ClipResult]] = {pool.submit(_worker_run, clip, cache_dir) for clip in todo}
    try:
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                on_result(fut.result())
    except BrokenProcessPool:
        _stop_pool(pool)
        raise DatasetError(
            "a worker process died (crash or out of memory); run again to resume"
        ) from None
    except BaseException:  # Ctrl-C, or an error: stop now, the cache keeps what is done
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop the workers at once instead of waiting for the clips they are on (a clip's
    cache file is written atomically, so a killed worker leaves nothing half-made)."""
    kill = getattr(pool, "kill_workers", None)  # Python >= 3.14
    if kill is not None:
        kill()
    else:
        for proc in list(getattr(pool, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                proc.kill()
    pool.shutdown(wait=True, cancel_futures=True)


def check_pack_name(name: str | None) -> None:
    """A pack name is a plain file name: it cannot lead out of the output folder."""
    if name is not None and (not name or Path(name).name != name or name in (".", "..")):
        raise ConfigError(f"pack name {name!r} must be a plain file name (no folders)")


def extract_dataset(
    root: str | Path,
    out: str | Path,
    *,
    config: ExtractConfig | None = None,
    workers: int = 1,
    shard: Shard | None = None,
    layout: str | None = None,
    name: str | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    on_result: Callable[[ClipResult], None] | None = None,
    quiet_workers: bool = True,
) -> ExtractReport:
    """Extract landmarks of every clip of a video dataset into a pack under ``out``.

    ``workers=0`` runs in this process. ``on_plan(total, todo)`` is called once the
    caches are checked; ``on_result`` after every clip (for progress bars).
    The pack is ``out/<name>.npz`` (``name`` defaults to the dataset folder's name),
    or ``out/shard-i-of-n.npz`` for a shard; failures go to ``failures.json``
    (``failures-shard-i-of-n.json``).
    """
    config = config or ExtractConfig()
    shard = shard or Shard()
    check_pack_name(name)
    out_dir = Path(out)
    cache_dir = out_dir / "cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    clips = plan(list_dataset(root, layout), config, shard)
    pack_name = f"{name or Path(root).resolve().name}.npz" if shard.is_whole else f"{shard.tag}.npz"
    fail_name = "failures.json" if shard.is_whole else f"failures-{shard.tag}.json"
    report = ExtractReport(pack=None, failures_path=out_dir / fail_name, total=len(clips))
    with _run_lock(out_dir, shard):
        cache_files = {c.cache_name for c in clips} | {c.cache_name + ".sha256" for c in clips}
        _remove_stale_temps(cache_dir, cache_files)
        _remove_stale_temps(out_dir, {pack_name, fail_name})
        todo = [c for c in clips if not _cache_ok(cache_dir / c.cache_name, c, config)]
        report.cached = len(clips) - len(todo)
        if on_plan is not None:
            on_plan(len(clips), len(todo))

        def record(result: ClipResult) -> None:
            if result.status == "done":
                report.done += 1
                report.frames_extracted += result.frames
            else:
                report.failed.append(result)
            if on_result is not None:
                on_result(result)

        t0 = time.perf_counter()
        _run_clips(todo, cache_dir, config, workers, record, quiet_workers)
        report.extract_seconds = time.perf_counter() - t0
        report.failed.sort(key=lambda r: r.key)
        failed_keys = {r.key for r in report.failed}
        by_key = {c.key: c for c in clips}
        failures = [
            {"id": r.key, "path": str(by_key[r.key].item.path), "code": r.code, "error": r.error}
            for r in report.failed
        ]
        atomic_write_text(report.failures_path, json.dumps(failures, indent=2) + "\n")
        samples = [
            load_cache(cache_dir / c.cache_name, c, config)
            for c in clips
            if c.key not in failed_keys
        ]
        if samples:
            report.pack = out_dir / pack_name
            write_pack(report.pack, samples)
    return report
