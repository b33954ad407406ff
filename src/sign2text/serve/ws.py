"""``WebSocket /v1/stream``: landmark frames in, words out (continuous recognition).

Protocol (JSON text messages; see :class:`~sign2text.serve.schemas.StreamMessage`):

* server -> client on connect: ``{"type": "ready", "model": ..., "max_message_bytes": ...}``;
* client -> server: ``{"t": seconds, "landmarks": [[x, y, z] | null] * 543}`` per frame,
  and ``{"type": "flush"}`` at the end of the signing;
* server -> client: ``{"type": "word", "label", "confidence", "start", "end"}`` for every
  word a :class:`~sign2text.runtime.StreamRecognizer` emits, ``{"type": "flushed",
  "frames", "dropped", "words"}`` after a flush, and ``{"type": "error", "code",
  "message"}`` for a refused message (the stream goes on).

Close codes: 1008 after :data:`MAX_BAD_MESSAGES` refused messages in a row, on a
message over ``max_stream_message_bytes``, or with a wrong API key; 1013 when
``max_streams`` streams are open; 1003 when the served model takes RGB clips (the
stream carries landmarks); 1000 after ``stream_idle_s`` without a message;
1001 when the server stops; 1011 on an unexpected server error.

Segmentation state lives in the connection; each frame is pushed on a worker of the
``landmarks`` pool (classification never runs on the event loop), one frame at a time
per stream, so a stream holds at most one job.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

from numpy.typing import NDArray
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from sign2text.errors import Sign2TextError
from sign2text.runtime import Recognition, Recognizer, StreamRecognizer, WordEvent
from sign2text.serve.errors import ApiError, summarize, validation_details
from sign2text.serve.landmarks import frame_array
from sign2text.serve.schemas import StreamMessage
from sign2text.serve.service import Service
from sign2text.serve.workers import PoolClosedError

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_BAD_MESSAGES = 5
RGB_STREAM_MESSAGE = "the served model takes RGB video clips: the stream needs a landmark model"
MIN_FRAME_STEP_S = 1.0 / 120.0  # frames closer than this are dropped (bounds buffers)

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011
CLOSE_TRY_LATER = 1013


class _Lent:
    """The stream's classifier: the recognizer the pool lends for the current job."""

    def __init__(self) -> None:
        self.recognizer: Recognizer | None = None

    def recognize_landmarks(self, landmarks: NDArray[Any]) -> Recognition:
        if self.recognizer is None:
            raise RuntimeError("classifier used outside a pool job")
        return self.recognizer.recognize_landmarks(landmarks)


class _RefusedError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def key_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _parse(data: str | bytes) -> StreamMessage:
    try:
        return StreamMessage.model_validate_json(data)
    except ValidationError as exc:
        errors = exc.errors()
        details = validation_details(errors)
        if any(e.get("type") == "json_invalid" for e in errors):
            raise _RefusedError("invalid_json", "the message is not valid JSON") from None
        if details and details[0]["loc"][:1] == ["landmarks"]:
            raise _RefusedError("invalid_landmarks", summarize(details)) from None
        raise _RefusedError("invalid_message", summarize(details)) from None


class StreamSession:
    """One open stream: its segmenter, its clock and its counters."""

    def __init__(self, websocket: WebSocket, service: Service) -> None:
        self.ws = websocket
        self.service = service
        self.settings = service.settings
        self.lent = _Lent()
        self.stream = StreamRecognizer(self.lent)
        self.prev_t: float | None = None
        self.frames = 0
        self.dropped = 0
        self.words = 0
        self.bad = 0

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_json(message)

    async def _classify(self, fn: Callable[[], T]) -> T:
        lent = self.lent

        def job(rec: Recognizer) -> T:
            lent.recognizer = rec
            try:
                return fn()
            finally:
                lent.recognizer = None

        result, _ = await self.service.landmarks.run(job, bounded=False)
        return result

    async def _send_words(self, events: list[WordEvent]) -> None:
        for ev in events:
            self.words += 1
            await self.send(
                {
                    "type": "word",
                    "label": ev.label,
                    "confidence": round(float(ev.confidence), 6),
                    "start": round(float(ev.start_s), 6),
                    "end": round(float(ev.end_s), 6),
                }
            )

    async def _frame(self, msg: StreamMessage) -> None:
        if msg.t is None or msg.landmarks is None:
            raise _RefusedError("invalid_message", "a frame needs 't' and 'landmarks'")
        t = float(msg.t)
        if self.prev_t is not None:
            if t <= self.prev_t:
                raise _RefusedError(
                    "invalid_timestamp", f"t must increase: got {t} after {self.prev_t}"
                )
            if t - self.prev_t < MIN_FRAME_STEP_S:
                self.dropped += 1
                return
        try:
            lm = frame_array(msg.landmarks)
        except ApiError as exc:
            raise _RefusedError(exc.code, exc.message) from None
        self.prev_t = t
        self.frames += 1
        stream = self.stream
        await self._send_words(await self._classify(lambda: stream.push(lm, t)))

    async def _flush(self) -> None:
        stream = self.stream
        await self._send_words(await self._classify(stream.flush))
        await self.send(
            {"type": "flushed", "frames": self.frames, "dropped": self.dropped, "words": self.words}
        )

    async def _handle(self, data: str | bytes) -> None:
        msg = _parse(data)
        if msg.type == "flush":
            await self._flush()
        else:
            await self._frame(msg)

    async def run(self) -> None:
        limit = self.settings.max_stream_message_bytes
        await self.send(
            {
                "type": "ready",
                "model": self.service.model_path.name,
                "max_message_bytes": limit,
                "min_frame_step_s": MIN_FRAME_STEP_S,
            }
        )
        while True:
            try:
                async with asyncio.timeout(self.settings.stream_idle_s):
                    message = await self.ws.receive()
            except TimeoutError:
                await self.ws.close(CLOSE_NORMAL, "idle timeout")
                return
            if message["type"] == "websocket.disconnect":
                return
            data: str | bytes | None = message.get("text")
            if data is None:
                data = message.get("bytes") or b""
            size = len(data.encode()) if isinstance(data, str) else len(data)
            if size > limit:
                await self.send(
                    {
                        "type": "error",
                        "code": "message_too_large",
                        "message": f"a message is {size} bytes, over the limit of {limit}",
                    }
                )
                await self.ws.close(CLOSE_POLICY, "message too large")
                return
            try:
                await self._handle(data)
                self.bad = 0
            except (_RefusedError, Sign2TextError) as exc:
                text = exc.message if isinstance(exc, _RefusedError) else str(exc)
                self.bad += 1
                await self.send({"type": "error", "code": exc.code, "message": text})
                if self.bad >= MAX_BAD_MESSAGES:
                    await self.ws.close(CLOSE_POLICY, "too many bad messages")
                    return


async def _refuse(websocket: WebSocket, code: str, message: str, close_code: int) -> None:
    await websocket.send_json({"type": "error", "code": code, "message": message})
    await websocket.close(close_code, message[:120])


async def stream_endpoint(websocket: WebSocket) -> None:
    """Accept a stream (API key and slot permitting) and run it until it ends."""
    service: Service = websocket.app.state.service
    await websocket.accept()
    try:
        key = service.settings.api_key_value
        if key is not None and not (
            key_matches(websocket.headers.get("x-api-key"), key)
            or key_matches(websocket.query_params.get("api_key"), key)
        ):
            await _refuse(websocket, "unauthorized", "missing or wrong API key", CLOSE_POLICY)
            return
        if service.metadata.input != "landmarks":
            await _refuse(websocket, "model_input_mismatch", RGB_STREAM_MESSAGE, CLOSE_UNSUPPORTED)
            return
        if not service.open_stream():
            limit = service.settings.max_streams
            await _refuse(
                websocket, "busy", f"{limit} streams are open; retry later", CLOSE_TRY_LATER
            )
            return
        try:
            await StreamSession(websocket, service).run()
        finally:
            service.close_stream()
    except WebSocketDisconnect:
        return
    except PoolClosedError:
        await _close_quietly(websocket, CLOSE_GOING_AWAY, "server is stopping")
    except Exception:
        log.exception("stream failed")
        await _close_quietly(websocket, CLOSE_INTERNAL, "internal error")


async def _close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    with suppress(RuntimeError, WebSocketDisconnect, OSError):
        await websocket.close(code, reason)
