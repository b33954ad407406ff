"""Fixtures of the service tests: one app (TestClient) shared by the whole package."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from sign2text.data.pack import read_pack
from sign2text.runtime import Recognizer
from sign2text.serve import ServeSettings, create_app

MIB = 1024 * 1024
HELLO = "hello__sdb1228__hello.mp4"


@pytest.fixture(scope="session")
def settings(videos_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> ServeSettings:
    """Small caps (2 MiB, 120 landmark frames) so the limit tests stay quick; no demo page."""
    return ServeSettings(
        max_upload_bytes=2 * MIB,
        max_landmark_frames=120,
        workers=2,
        queue_size=8,
        examples_dir=videos_dir,
        static_dir=tmp_path_factory.mktemp("no-demo"),
        tmp_dir=tmp_path_factory.mktemp("spool"),
    )


@pytest.fixture(scope="session")
def client(settings: ServeSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="session")
def hello_clip(videos_dir: Path) -> bytes:
    return (videos_dir / HELLO).read_bytes()


@pytest.fixture(scope="session")
def words(data_dir: Path) -> dict[str, np.ndarray]:
    """Real recordings (traduttore pack) of two in-vocabulary words, each one the
    first in pack order that the bundled model recognizes on its own."""
    wanted = ("hello", "water")
    found: dict[str, np.ndarray] = {}
    with Recognizer() as rec:
        for s in read_pack(data_dir / "landmarks" / "traduttore.npz"):
            if s.label in wanted and s.label not in found:
                lm = np.asarray(s.landmarks, dtype=np.float32)
                got = rec.recognize_landmarks(lm)
                if got.label == s.label and got.confidence > 0.6:
                    found[s.label] = lm
            if len(found) == len(wanted):
                break
    assert set(found) == set(wanted), found.keys()
    return found
