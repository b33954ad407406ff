"""Live mode: the one-slot buffer drops instead of queueing; a headless run accounts for
every frame; ``sign2text live --video`` replays a real clip."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tiny_export import export_tiny

from sign2text.cli.main import main
from sign2text.io.video import Frame
from sign2text.runtime import Recognizer
from sign2text.runtime.live import LatestFrame, run_live


def _frame(i: int) -> Frame:
    return Frame(index=i, time_s=i / 30, image=np.zeros((120, 160, 3), dtype=np.uint8))


def test_latest_frame_drops_unread_frames() -> None:
    buf = LatestFrame()
    for i in range(3):
        buf.put(_frame(i))
    got = buf.get(timeout=1)
    assert got is not None and got.index == 2
    assert buf.dropped == 2 and buf.put_count == 3
    assert buf.get(timeout=0.01) is None  # empty, not closed: times out
    buf.put(_frame(3))
    buf.close()
    last = buf.get(timeout=1)
    assert last is not None and last.index == 3  # the last frame survives close
    assert buf.get(timeout=1) is None


def test_latest_frame_wakes_a_waiting_reader() -> None:
    buf = LatestFrame()
    seen: list[int] = []

    def reader() -> None:
        f = buf.get(timeout=5)
        seen.append(-1 if f is None else f.index)

    t = threading.Thread(target=reader)
    t.start()
    buf.put(_frame(7))
    t.join(5)
    assert seen == [7]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    return export_tiny(tmp_path_factory.mktemp("live") / "tiny.onnx")[1]


class BurstSource:
    """Produces frames faster than Holistic can take them."""

    fps = 30.0

    def __init__(self, n: int) -> None:
        self.n = n

    def frames(self) -> Iterator[Frame]:
        for i in range(self.n):
            yield _frame(i)


def test_headless_run_accounts_for_every_frame(model: Path) -> None:
    words: list[Any] = []
    with Recognizer(model) as rec:
        stats = run_live(BurstSource(200), rec, on_word=words.append, show=False)
    assert stats.error is None
    assert stats.captured == 200
    assert stats.processed + stats.dropped == stats.captured
    assert stats.dropped > 0  # a burst source outruns the worker: frames are dropped
    assert stats.processed >= 1 and stats.processed_fps > 0
    assert words == stats.words == []  # nobody in the frames


class FailingSource:
    fps = 30.0

    def frames(self) -> Iterator[Frame]:
        yield _frame(0)
        raise OSError("camera unplugged")


def test_capture_errors_are_reported(model: Path) -> None:
    with Recognizer(model) as rec:
        stats = run_live(FailingSource(), rec, show=False)
    assert stats.error is not None and "camera unplugged" in stats.error


@pytest.mark.slow
def test_cli_live_replays_a_video(
    model: Path, videos_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = videos_dir / "yes__Osushi2022__64287.mp4"
    code = main(["live", "--video", str(clip), "--model", str(model), "--no-window"])
    assert code == 0
    out = capsys.readouterr().out
    assert "processed" in out and "dropped" in out and "captured frames" in out
