"""WebSocket /v1/stream: real signing in, words out; bad messages; limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from serve_helpers import rest, to_json_frames
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from sign2text.landmarks import skeleton as sk
from sign2text.serve import ServeSettings, create_app
from sign2text.serve.service import Service

FPS = 15.0


def _frames(words: dict[str, np.ndarray]) -> np.ndarray:
    a, b = words["hello"], words["water"]
    return np.concatenate([rest(a, 10), a, rest(a, 12), b, rest(b, 10)])


def _until(ws: WebSocketTestSession, kind: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while True:
        msg = ws.receive_json()
        got.append(msg)
        if msg["type"] == kind:
            return got


def test_two_signs_become_two_words(client: TestClient, words: dict[str, np.ndarray]) -> None:
    seq = _frames(words)
    with client.websocket_connect("/v1/stream") as ws:
        ready = ws.receive_json()
        assert ready["type"] == "ready" and ready["max_message_bytes"] > 0
        for i, frame in enumerate(to_json_frames(seq)):
            ws.send_json({"t": 100.0 + i / FPS, "landmarks": frame})
        ws.send_json({"type": "flush"})
        msgs = _until(ws, "flushed")
    got = [m for m in msgs if m["type"] == "word"]
    assert [m["label"] for m in got] == ["hello", "water"], msgs
    for m in got:
        assert set(m) == {"type", "label", "confidence", "start", "end"}
        assert 0 < m["confidence"] <= 1 and 100.0 <= m["start"] < m["end"]
    assert got[0]["end"] < got[1]["start"]
    assert msgs[-1] == {"type": "flushed", "frames": len(seq), "dropped": 0, "words": 2}


def test_flush_classifies_an_open_segment(client: TestClient, words: dict[str, np.ndarray]) -> None:
    seq = np.concatenate([rest(words["water"], 5), words["water"]])  # no rest at the end
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        for i, frame in enumerate(to_json_frames(seq)):
            ws.send_json({"type": "frame", "t": i / FPS, "landmarks": frame})
        ws.send_text(json.dumps({"type": "flush"}))
        msgs = _until(ws, "flushed")
    assert [m["label"] for m in msgs if m["type"] == "word"] == ["water"]


def test_frames_where_nothing_was_found_are_rests(
    client: TestClient, words: dict[str, np.ndarray]
) -> None:
    """A camera that sees nobody sends all-null frames: they are rests, not errors."""
    nothing = [None] * sk.N_POINTS
    frames = [nothing] * 8 + to_json_frames(words["water"]) + [nothing] * 8
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        for i, frame in enumerate(frames):
            ws.send_json({"t": i / FPS, "landmarks": frame})
        ws.send_json({"type": "flush"})
        msgs = _until(ws, "flushed")
    assert not [m for m in msgs if m["type"] == "error"], msgs
    assert [m["label"] for m in msgs if m["type"] == "word"] == ["water"]
    assert msgs[-1]["frames"] == len(frames)


def _error(ws: WebSocketTestSession) -> dict[str, Any]:
    msg = ws.receive_json()
    assert msg["type"] == "error", msg
    return msg


def test_bad_messages_get_errors_and_the_stream_goes_on(
    client: TestClient, words: dict[str, np.ndarray]
) -> None:
    good = to_json_frames(words["hello"][:1])[0]
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        ws.send_text("{not json")
        assert _error(ws)["code"] == "invalid_json"
        ws.send_json({"t": 0.0, "landmarks": good[:10]})
        assert _error(ws)["code"] == "invalid_landmarks"
        ws.send_json({"t": 0.0})
        assert _error(ws)["code"] == "invalid_message"
        ws.send_json({"type": "dance"})
        assert _error(ws)["code"] == "invalid_message"
        ws.send_json({"t": 0.0, "landmarks": good})  # a good one resets the count
        ws.send_text('{"t": NaN, "landmarks": []}')
        assert _error(ws)["code"] == "invalid_message"  # t must be finite
        marked = [["NAN", 0.5, 0.5], *good[1:]]
        ws.send_text(json.dumps({"t": 0.1, "landmarks": marked}).replace('"NAN"', "NaN"))
        assert _error(ws)["code"] == "invalid_landmarks"
        ws.send_json({"t": 0.0, "landmarks": good})
        assert _error(ws)["code"] == "invalid_timestamp"  # t must increase
        ws.send_json({"t": 0.001, "landmarks": good})  # too close: dropped silently
        bad = [[1e39, 0.0, 0.0], *good[1:]]
        ws.send_json({"t": 0.2, "landmarks": bad})
        assert _error(ws)["code"] == "invalid_landmarks"
        ws.send_bytes(json.dumps({"type": "flush"}).encode())
        assert _until(ws, "flushed")[-1] == {
            "type": "flushed",
            "frames": 1,
            "dropped": 1,
            "words": 0,
        }


def test_repeated_garbage_closes_with_1008(client: TestClient) -> None:
    with client.websocket_connect("/v1/stream") as ws:
        ws.receive_json()
        for _ in range(5):
            ws.send_text("garbage")
            assert _error(ws)["code"] == "invalid_json"
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 1008


def test_oversized_message_closes_with_1008(client: TestClient) -> None:
    frame = [[0.123456789012345, 0.123456789012345, 0.123456789012345]] * sk.N_POINTS
    with client.websocket_connect("/v1/stream") as ws:
        limit = ws.receive_json()["max_message_bytes"]
        ws.send_json({"t": 0.0, "landmarks": frame * (limit // 30000 + 1), "pad": "x" * limit})
        assert _error(ws)["code"] == "message_too_large"
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 1008


def test_stream_slots_are_bounded(client: TestClient) -> None:
    assert client.get("/readyz").json()["streams"] == 0
    service: Service = client.app.state.service  # type: ignore[attr-defined]
    held = []
    try:
        while service.open_stream():
            held.append(1)
        with client.websocket_connect("/v1/stream") as ws:
            msg = ws.receive_json()
            assert msg["type"] == "error" and msg["code"] == "busy"
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_json()
            assert info.value.code == 1013
    finally:
        for _ in held:
            service.close_stream()
    with client.websocket_connect("/v1/stream") as ws:
        assert ws.receive_json()["type"] == "ready"


def test_idle_stream_is_closed(tmp_path: Path) -> None:
    settings = ServeSettings(workers=1, queue_size=0, stream_idle_s=0.3, examples_dir=None)
    with TestClient(create_app(settings)) as c, c.websocket_connect("/v1/stream") as ws:
        assert ws.receive_json()["type"] == "ready"
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 1000
