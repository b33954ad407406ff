"""What a running app holds (``app.state.service``): the model, its pools, stream slots.

Built in the app's lifespan and closed when it ends; there is no module-level state.

Two pools of :class:`~sign2text.runtime.Recognizer`:

* ``videos``: uploads (decode + MediaPipe Holistic + classifier, seconds per clip),
  ``workers`` threads and ``queue_size`` waiting jobs;
* ``landmarks``: landmark requests and stream frames (features + classifier,
  milliseconds), as many threads, so a stream never waits behind video uploads.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sign2text.io.atomic import sha256_file
from sign2text.io.video import SUPPORTED_EXTENSIONS, VideoLimits
from sign2text.landmarks import skeleton as sk
from sign2text.runtime import ModelMetadata, Recognizer, bundled_model_path
from sign2text.runtime.metadata import NONE_LABEL
from sign2text.serve.settings import ServeSettings
from sign2text.serve.workers import WorkerPool

if TYPE_CHECKING:
    from sign2text.runtime.vocab import UserVocabulary

log = logging.getLogger(__name__)

# Recognizers return this many candidates; a request asks for 1..MAX_TOP_K of them.
MAX_TOP_K = 20

VIDEO_MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
}


@dataclass(frozen=True)
class Example:
    """One clip of the examples folder."""

    name: str
    path: Path
    size: int
    expected: str | None  # the word from a '<word>__*.ext' file name

    @property
    def url(self) -> str:
        return f"/v1/examples/{quote(self.name)}"

    @property
    def media_type(self) -> str:
        return VIDEO_MEDIA_TYPES.get(self.path.suffix.lower(), "application/octet-stream")


def list_examples(folder: Path | None) -> list[Example]:
    """Video clips directly in ``folder`` (sorted by name); [] when it is missing.

    Only regular files with a video extension are listed; hidden files and symlinks
    are left out, so a name from this list can never lead outside the folder.
    """
    if folder is None or not folder.is_dir():
        return []
    out: list[Example] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.is_symlink() or not path.is_file():
            continue
        if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            continue
        word = path.name.split("__", 1)[0] if "__" in path.name else None
        out.append(Example(path.name, path, path.stat().st_size, word or None))
    return out


def skeleton_document() -> dict[str, Any]:
    """The landmark layout as JSON: parts, pose names, subsets, mirror map, limbs."""
    return {
        "n_points": sk.N_POINTS,
        "n_dims": sk.N_DIMS,
        "parts": {name: {"start": p.start, "size": p.size} for name, p in sk.PARTS.items()},
        "pose_names": list(sk.POSE_NAMES),
        "subsets": {name: sk.subset([name]).tolist() for name in sk.subset_names()},
        "mirror_map": sk.mirror_map().tolist(),
        "limbs": [list(pair) for pair in sk.limbs()],
    }


def model_path(settings: ServeSettings) -> Path:
    """The model the service runs: ``settings.model``, else the bundled one."""
    return settings.model if settings.model is not None else bundled_model_path()


def load_vocabulary(settings: ServeSettings) -> UserVocabulary | None:
    """The user vocabulary of ``settings`` checked against the model, or None."""
    if settings.vocab is None:
        return None
    from sign2text.runtime.vocab import UserVocabulary

    return UserVocabulary.load(settings.vocab, model_sha256=sha256_file(model_path(settings)))


class Service:
    """The model, the worker pools and the open-stream counter of one app."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.model_path = model_path(settings)
        started = time.perf_counter()
        self.user_vocabulary = load_vocabulary(settings)
        make = self._make_recognizer
        first = make()  # fails here, once, with a ModelError on a bad model
        self.metadata: ModelMetadata = first.metadata
        self.labels: tuple[str, ...] = first.labels
        self.reject_threshold = first.reject_threshold
        videos = [first] + [make() for _ in range(settings.workers - 1)]
        self.videos = WorkerPool("video", videos, settings.queue_size)
        try:
            marks = [make() for _ in range(settings.workers)]
            self.landmarks = WorkerPool("landmarks", marks, settings.queue_size)
        except BaseException:
            self.videos.close()
            raise
        self.model_bytes = self.model_path.stat().st_size
        self.model_sha256 = sha256_file(self.model_path)
        self.skeleton = skeleton_document()
        self.video_limits = VideoLimits(
            max_bytes=settings.max_upload_bytes,
            max_duration_s=settings.max_video_seconds,
        )
        self._streams = 0
        self._lock = threading.Lock()
        log.info(
            "model %s loaded (%d labels), %d workers, queue %d, in %.2f s",
            self.model_path,
            len(self.labels),
            settings.workers,
            settings.queue_size,
            time.perf_counter() - started,
        )

    def _make_recognizer(self) -> Recognizer:
        s = self.settings
        return Recognizer(
            self.model_path,
            threads=s.threads,
            extract_fps=s.extract_fps,
            top_k=MAX_TOP_K,
            vocabulary=self.user_vocabulary,
        )

    @property
    def vocabulary(self) -> list[str]:
        """The words the model can answer (without the no-sign class)."""
        return [lab for lab in self.labels if lab != NONE_LABEL]

    @property
    def ready(self) -> bool:
        return self.videos.alive and self.landmarks.alive

    def examples(self) -> list[Example]:
        return list_examples(self.settings.examples_dir)

    # --- streams ------------------------------------------------------------------

    @property
    def streams(self) -> int:
        return self._streams

    def open_stream(self) -> bool:
        """Take a stream slot; False when ``max_streams`` are open."""
        with self._lock:
            if self._streams >= self.settings.max_streams:
                return False
            self._streams += 1
            return True

    def close_stream(self) -> None:
        with self._lock:
            self._streams -= 1

    def close(self) -> None:
        self.videos.close()
        self.landmarks.close()
