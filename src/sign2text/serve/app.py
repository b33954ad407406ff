"""The FastAPI application factory: :func:`create_app`.

Routes:

* ``/v1/*`` (:mod:`sign2text.serve.api`): recognition of clips and landmarks, labels,
  the model card and file, example clips; ``WebSocket /v1/stream``
  (:mod:`sign2text.serve.ws`);
* ``/healthz`` (the process answers), ``/readyz`` (model loaded, pools running);
* ``/`` the web demo's ``index.html`` and ``/static/*`` its files, from
  ``settings.static_dir`` (a placeholder page when the demo is not there);
* ``/docs`` (Swagger UI from the app's own files when ``make web`` built them) and
  ``/openapi.json``.

State (model, worker pools) is built in the lifespan and kept on ``app.state``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from sign2text import __version__
from sign2text.serve import api, ws
from sign2text.serve.errors import ApiError, error_response, install_error_handlers
from sign2text.serve.middleware import BodyGuard, HeadAsGet, JsonErrorBodies, WebSecurityHeaders
from sign2text.serve.schemas import HealthResponse, ReadyResponse
from sign2text.serve.service import Service
from sign2text.serve.settings import ServeSettings

log = logging.getLogger(__name__)

# Room for multipart boundaries and part headers on top of the file itself.
MULTIPART_OVERHEAD = 64 * 1024

_PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign2Text</title></head>
<body>
<h1>Sign2Text</h1>
<p>The web demo is not built in this installation (no <code>index.html</code> in the
static folder). The API is running: see <a href="/docs">/docs</a>.</p>
</body></html>
"""

DESCRIPTION = """\
Sign language on video to text. Upload a clip of one sign to **POST /v1/recognize**,
or send MediaPipe Holistic landmarks to **POST /v1/recognize/landmarks** or, frame by
frame, over the WebSocket **/v1/stream** (continuous recognition).

Errors are JSON, `{"error": {"code": "...", "message": "..."}}`, with stable codes:
400 `bad_request`, 401 `unauthorized`, 404 `not_found`, 405 `method_not_allowed`,
408 `request_timeout`, 409 `model_input_mismatch` (landmarks sent to a server whose
model takes RGB clips), 413 `payload_too_large` / `media_too_large`, 415
`unsupported_media`, 422 `empty_upload` / `missing_file` / `undecodable_media` /
`no_signing` / `invalid_landmarks` / `invalid_request`, 503 `busy` (with `Retry-After`)
/ `unavailable`, 504 `timeout`.

When the service has an API key, every `/v1` route needs the header `X-API-Key`
(the WebSocket also takes `?api_key=`); `/healthz`, `/readyz`, `/docs` and the demo
page stay open.

**WebSocket /v1/stream** (JSON text messages). The server first sends
`{"type": "ready", ...}`. Send one message per frame, `{"t": <seconds, increasing>,
"landmarks": [[x, y, z] or null] * 543}` (MediaPipe Holistic order: face 0-467, left
hand 468-488, pose 489-521, right hand 522-542), and `{"type": "flush"}` at the end.
The server answers `{"type": "word", "label", "confidence", "start", "end"}` for each
recognized sign, `{"type": "flushed", "frames", "dropped", "words"}` after a flush, and
`{"type": "error", "code", "message"}` for a refused message. It closes with 1008
after 5 refused messages in a row or an oversized message, 1013 when too many streams
are open, 1003 (after an error `model_input_mismatch`) when the served model takes RGB
clips, 1000 after a silence of `stream_idle_s`.
"""


class _OptionalStaticFiles(StaticFiles):
    """Static files whose folder may be missing (the demo is built separately): 404s."""

    async def check_config(self) -> None:
        if self.directory is not None and Path(self.directory).is_dir():
            await super().check_config()


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """Build the app; the model loads when the app starts (lifespan), not here."""
    settings = settings if settings is not None else ServeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = await anyio.to_thread.run_sync(Service, settings)
        app.state.service = service
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(service.close)

    app = FastAPI(
        title="Sign2Text",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by _add_docs, from the app's own files when built
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(JsonErrorBodies)  # innermost: sees Starlette's own plain-text errors
    app.add_middleware(
        BodyGuard,
        max_body_bytes=settings.max_upload_bytes + MULTIPART_OVERHEAD,
        read_timeout_s=settings.read_timeout_s,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Content-Type", api.API_KEY_HEADER],
            expose_headers=["Retry-After"],
            max_age=600,
        )
    app.add_middleware(WebSecurityHeaders)  # CSP on the demo page and /static/*
    app.add_middleware(HeadAsGet)  # outermost: HEAD wherever GET
    app.include_router(api.router)
    app.add_api_websocket_route("/v1/stream", ws.stream_endpoint, name="stream")
    _add_stream_over_http(app)
    _add_health(app)
    _add_docs(app, settings.static_dir)
    _add_web(app, settings.static_dir)
    return app


def _add_docs(app: FastAPI, static_dir: Path) -> None:
    """Swagger UI at ``/docs`` from ``static/vendor/swagger`` (``make web``), so that the
    docs work offline; FastAPI's CDN copy only when that folder was not built."""
    vendor = static_dir / "vendor" / "swagger"

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        title = f"{app.title} API"
        if (vendor / "swagger-ui-bundle.js").is_file():
            base = "/static/vendor/swagger"
            return get_swagger_ui_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=title,
                swagger_js_url=f"{base}/swagger-ui-bundle.js",
                swagger_css_url=f"{base}/swagger-ui.css",
                swagger_favicon_url=f"{base}/favicon-32x32.png",
            )
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=title)


def _add_stream_over_http(app: FastAPI) -> None:
    @app.get("/v1/stream", include_in_schema=False)
    async def stream_over_http() -> None:
        """A plain HTTP request to the WebSocket endpoint: say how to connect."""
        raise ApiError(
            426,
            "upgrade_required",
            "/v1/stream is a WebSocket endpoint: connect with ws:// (or wss://)",
            headers={"Upgrade": "websocket", "Connection": "Upgrade"},
        )


def _add_health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"], response_model=HealthResponse)
    async def healthz() -> HealthResponse:
        """Liveness: the process answers."""
        return HealthResponse()

    @app.get(
        "/readyz",
        tags=["health"],
        response_model=ReadyResponse,
        responses={503: {"description": "not ready (starting or stopping)"}},
    )
    async def readyz(request: Request) -> ReadyResponse | JSONResponse:
        """Readiness: the model is loaded and the worker pools run."""
        service: Service | None = getattr(request.app.state, "service", None)
        if service is None or not service.ready:
            return error_response(503, "not_ready", "the model is not loaded or the pools stopped")
        s = service.settings
        return ReadyResponse(
            model=service.model_path.name,
            labels=len(service.labels),
            workers=s.workers,
            queue_size=s.queue_size,
            in_flight=service.videos.pending,
            streams=service.streams,
        )


def _add_web(app: FastAPI, static_dir: Path) -> None:
    app.mount("/static", _OptionalStaticFiles(directory=static_dir, check_dir=False), "static")

    @app.get("/", include_in_schema=False, response_model=None)
    async def index() -> FileResponse | HTMLResponse:
        page = static_dir / "index.html"
        if page.is_file():
            return FileResponse(page, media_type="text/html", headers={"Cache-Control": "no-cache"})
        return HTMLResponse(_PLACEHOLDER)
