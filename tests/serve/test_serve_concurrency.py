"""The bounded pool: admission, 503 with Retry-After, and simultaneous real uploads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from serve_helpers import error_of

from sign2text.serve import ServeSettings, create_app
from sign2text.serve.workers import BusyError, PoolClosedError, WorkerPool


class Res:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_pool_admits_workers_plus_queue_then_refuses() -> None:
    res = [Res("a"), Res("b")]
    pool = WorkerPool("test", res, queue_size=1)
    gate = threading.Event()
    used: list[str] = []

    def job(r: Res) -> str:
        used.append(r.name)
        gate.wait(5)
        return r.name

    async def scenario() -> list[object]:
        tasks = [asyncio.create_task(pool.run(job)) for _ in range(3)]
        await asyncio.sleep(0.2)
        assert pool.pending == 3 and pool.full()
        with pytest.raises(BusyError) as info:
            await pool.run(job)
        assert info.value.retry_after_s >= 1
        gate.set()
        out = await asyncio.gather(*tasks)
        assert pool.pending == 0
        (name, waited), _ = await pool.run(lambda r: r.name), None
        return [*out, name, waited]

    got = asyncio.run(scenario())
    assert {g[0] for g in got[:3]} <= {"a", "b"}  # type: ignore[index]
    assert sorted(set(used)) == ["a", "b"]  # one resource per running job
    pool.close()
    assert all(r.closed for r in res)
    with pytest.raises(PoolClosedError):
        asyncio.run(pool.run(lambda r: r.name))


def test_unbounded_jobs_skip_admission() -> None:
    pool = WorkerPool("test", [Res("a")], queue_size=0)
    gate = threading.Event()

    async def scenario() -> None:
        first = asyncio.create_task(pool.run(lambda r: gate.wait(5)))
        await asyncio.sleep(0.1)
        with pytest.raises(BusyError):
            await pool.run(lambda r: 1)
        second = asyncio.create_task(pool.run(lambda r: 2, bounded=False))
        gate.set()
        await first
        assert (await second)[0] == 2

    asyncio.run(scenario())
    pool.close()


def test_job_errors_reach_the_caller_and_free_the_slot() -> None:
    pool = WorkerPool("test", [Res("a")], queue_size=0)

    def boom(r: Res) -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        asyncio.run(pool.run(boom))
    assert pool.pending == 0
    assert asyncio.run(pool.run(lambda r: r.name))[0] == "a"
    pool.close()


@pytest.fixture(scope="module")
def one_worker(videos_dir: Path) -> Iterator[TestClient]:
    settings = ServeSettings(workers=1, queue_size=1, examples_dir=videos_dir)
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.slow
def test_simultaneous_uploads_are_answered_or_refused_cleanly(
    one_worker: TestClient, hello_clip: bytes
) -> None:
    def post(_: int) -> httpx.Response:
        files = {"file": ("hello.mp4", hello_clip, "video/mp4")}
        return one_worker.post("/v1/recognize", files=files)

    with ThreadPoolExecutor(6) as ex:
        replies = list(ex.map(post, range(6)))
    codes = sorted(r.status_code for r in replies)
    assert set(codes) <= {200, 503}, [r.text for r in replies]
    assert codes.count(200) >= 1 and codes.count(503) >= 1, codes
    for r in replies:
        if r.status_code == 200:
            assert r.json()["label"] == "hello"
        else:
            assert error_of(r)["code"] == "busy"
            assert int(r.headers["retry-after"]) >= 1
    assert one_worker.get("/readyz").json()["in_flight"] == 0


@pytest.mark.slow
def test_recognition_deadline_is_a_clean_504(videos_dir: Path) -> None:
    settings = ServeSettings(workers=1, queue_size=0, recognize_timeout_s=0.05, examples_dir=None)
    clip = (videos_dir / "book__Osushi2022__07074.mp4").read_bytes()
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/recognize", files={"file": ("book.mp4", clip, "video/mp4")})
        assert r.status_code == 504 and error_of(r)["code"] == "timeout"
