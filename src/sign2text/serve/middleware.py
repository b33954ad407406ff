"""ASGI guard on every request body: a size cap and a receive deadline.

* a ``Content-Length`` over the cap is answered 413 at once, before any byte of the
  body is read (a client declaring 10 GB gets its answer immediately);
* bodies without a length (chunked) are counted as they stream in, and the request
  fails with 413 as soon as the count passes the cap;
* the whole body must arrive within ``read_timeout_s`` of the request start (408),
  so a client that stops sending cannot hold a worker or a temp file forever.

Errors raised while the app reads are :class:`~sign2text.serve.errors.ApiError`
(an ``HTTPException``), answered as JSON by the app's handlers. After the body is
complete, ``receive`` is passed through untouched (disconnect listeners must not
time out).

Also here: :class:`HeadAsGet` (HEAD is answered wherever GET is) and
:class:`JsonErrorBodies` (an error Starlette answers itself in plain text, such as a
bad ``Range`` header on a file, gets the JSON error body too).
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sign2text.serve.errors import HTTP_CODES, ApiError, error_response


def body_too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"request body is over the limit of {limit} bytes")


class BodyGuard:
    """Cap request bodies at ``max_body_bytes`` and receive them within ``read_timeout_s``."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, read_timeout_s: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.read_timeout_s = read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size < 0:
                response = error_response(400, "bad_request", "invalid Content-Length header")
                await response(scope, receive, send)
                return
            if size > self.max_body_bytes:
                response = error_response(
                    413,
                    "payload_too_large",
                    f"the request declares {size} bytes, over the limit of "
                    f"{self.max_body_bytes} bytes",
                    headers={"Connection": "close"},
                )
                await response(scope, receive, send)
                return

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.read_timeout_s
        received = 0
        complete = False
        limit = self.max_body_bytes
        timeout_s = self.read_timeout_s

        async def guarded_receive() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                async with asyncio.timeout(remaining):
                    message = await receive()
            except TimeoutError:
                raise ApiError(
                    408,
                    "request_timeout",
                    f"the request body did not arrive within {timeout_s:g} s",
                    headers={"Connection": "close"},
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise body_too_large(limit)
                if not message.get("more_body", False):
                    complete = True
            else:
                complete = True  # http.disconnect: nothing more will come
            return message

        await self.app(scope, guarded_receive, send)


# The web demo's policy: everything from the app's own origin. WebAssembly (MediaPipe
# Holistic, onnxruntime-web) needs 'wasm-unsafe-eval' (not 'unsafe-eval'); the upload
# preview plays a blob: URL; workers may start from blob: URLs; the camera
# (getUserMedia) needs no source. /docs (Swagger UI's page has an inline script) is left
# alone.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "style-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


class WebSecurityHeaders:
    """Add a Content-Security-Policy (and ``nosniff``) to the demo page and its files."""

    def __init__(self, app: ASGIApp, *, prefixes: tuple[str, ...] = ("/static/",)) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == "/" or path.startswith(self.prefixes)):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadAsGet:
    """Answer ``HEAD`` as the ``GET`` of the same path without its body (RFC 9110: a
    server that answers GET answers HEAD), e.g. ``HEAD /healthz`` from a load balancer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


# Longest part of a plain-text error kept as the JSON message.
_MAX_PLAIN_MESSAGE = 300


class JsonErrorBodies:
    """Give an error response (status >= 400) that is not JSON the API's JSON error body,
    keeping its status and headers (``Content-Range`` of a 416, ``Allow``...) and its
    text as the message. These come from Starlette itself, outside the app's exception
    handlers: a file response refusing a bad ``Range`` header answers in plain text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        text = bytearray()

        async def send_json_errors(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                ctype = Headers(raw=message.get("headers", [])).get("content-type", "")
                if message["status"] >= 400 and "json" not in ctype:
                    start = message  # hold it: the body is rewritten once it is complete
                    return
            elif message["type"] == "http.response.body" and start is not None:
                if len(text) < _MAX_PLAIN_MESSAGE:
                    text.extend(message.get("body", b"")[:_MAX_PLAIN_MESSAGE])
                if message.get("more_body", False):
                    return
                await self._send_json(start, bytes(text), scope, receive, send)
                return
            await send(message)

        await self.app(scope, receive, send_json_errors)

    @staticmethod
    async def _send_json(
        start: Message, text: bytes, scope: Scope, receive: Receive, send: Send
    ) -> None:
        status = int(start["status"])
        code = HTTP_CODES.get(status, "http_error")
        message = text.decode("utf-8", "replace").strip()[:_MAX_PLAIN_MESSAGE]
        headers = {
            k: v
            for k, v in Headers(raw=start.get("headers", [])).items()
            if k not in ("content-type", "content-length")
        }
        response = error_response(status, code, message or code.replace("_", " "), headers=headers)
        await response(scope, receive, send)
