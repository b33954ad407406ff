"""BodyGuard on its own: no body byte read for a declared-too-large request; deadline."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from sign2text.serve.errors import ApiError
from sign2text.serve.middleware import BodyGuard


async def _reader(scope: Any, receive: Any, send: Any) -> None:
    """An inner app that reads the whole body, then answers 200."""
    while True:
        message = await receive()
        if not message.get("more_body", False):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/", "headers": headers}


async def _call(app: Any, scope: dict[str, Any], receive: Any) -> tuple[int, dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return status, json.loads(body) if status != 200 else {}


def test_declared_length_over_the_cap_reads_nothing() -> None:
    reads: list[int] = []

    async def receive() -> dict[str, Any]:
        reads.append(1)
        return {"type": "http.request", "body": b"x", "more_body": True}

    app = BodyGuard(_reader, max_body_bytes=1000, read_timeout_s=5.0)
    scope = _scope([(b"content-length", str(10 * 1024**3).encode())])
    status, body = asyncio.run(_call(app, scope, receive))
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    assert reads == []


def test_streamed_body_is_cut_when_it_passes_the_cap() -> None:
    reads: list[int] = []

    async def receive() -> dict[str, Any]:  # an endless chunked body
        reads.append(1)
        return {"type": "http.request", "body": b"x" * 100, "more_body": True}

    app = BodyGuard(_reader, max_body_bytes=1000, read_timeout_s=5.0)
    with pytest.raises(ApiError) as info:  # answered as JSON by the app's handlers
        asyncio.run(_call(app, _scope([]), receive))
    assert info.value.status_code == 413 and info.value.code == "payload_too_large"
    assert len(reads) == 11  # stopped right after passing 1000 bytes


def test_slow_body_hits_the_deadline() -> None:
    async def receive() -> dict[str, Any]:
        await asyncio.sleep(30)
        return {"type": "http.request", "body": b"", "more_body": False}

    app = BodyGuard(_reader, max_body_bytes=1000, read_timeout_s=0.2)
    start = time.monotonic()
    with pytest.raises(ApiError) as info:
        asyncio.run(_call(app, _scope([]), receive))
    assert info.value.status_code == 408 and info.value.code == "request_timeout"
    assert time.monotonic() - start < 2.0


def test_bad_content_length() -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    app = BodyGuard(_reader, max_body_bytes=1000, read_timeout_s=1.0)
    status, body = asyncio.run(_call(app, _scope([(b"content-length", b"-5")]), receive))
    assert status == 400 and body["error"]["code"] == "bad_request"
