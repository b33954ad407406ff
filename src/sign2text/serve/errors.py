"""JSON errors of the API: ``{"error": {"code": "...", "message": "..."}}`` with stable codes.

:class:`ApiError` is a Starlette ``HTTPException`` so that FastAPI lets it through
untouched even when it is raised while a request body is read. Library errors
(:class:`~sign2text.errors.Sign2TextError`) map to a status by class and keep their
``code``; anything unexpected is a logged 500 ``internal_error`` without details.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from sign2text.errors import (
    ConfigError,
    InputError,
    MediaError,
    MediaTooLargeError,
    ModelInputError,
    NoSigningError,
    Sign2TextError,
    UnsupportedMediaError,
)

log = logging.getLogger(__name__)

# Library error class -> HTTP status (first match in this order wins).
_STATUS: tuple[tuple[type[Sign2TextError], int], ...] = (
    (UnsupportedMediaError, 415),
    (MediaTooLargeError, 413),
    (MediaError, 422),
    (NoSigningError, 422),
    (ModelInputError, 409),
    (InputError, 422),
    (ConfigError, 422),
)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media",
    416: "range_not_satisfiable",
    422: "invalid_request",
    426: "upgrade_required",
    503: "unavailable",
}


class ApiError(HTTPException):
    """An error answered as JSON with ``status`` and a stable ``code``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(status_code=status, detail=message, headers=headers)
        self.code = code
        self.message = message
        self.details = details


def from_library(exc: Sign2TextError) -> ApiError:
    """The API error for a library error: status by class, ``code`` kept."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return ApiError(status, exc.code, str(exc))
    log.error("server-side error: %s: %s", type(exc).__name__, exc)
    return ApiError(500, exc.code, "the server could not process this request")


def error_body(code: str, message: str, details: list[dict[str, Any]] | None = None) -> Any:
    err: dict[str, Any] = {"code": code, "message": message}
    if details:
        err["details"] = details
    return {"error": err}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    details: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, details), status_code=status, headers=dict(headers or {})
    )


def validation_details(errors: Any, limit: int = 10) -> list[dict[str, Any]]:
    """Pydantic errors as small JSON-safe dicts (no echoed input)."""
    out: list[dict[str, Any]] = []
    for err in list(errors)[:limit]:
        loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
        out.append({"loc": loc, "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))})
    return out


def summarize(details: list[dict[str, Any]]) -> str:
    if not details:
        return "invalid request"
    first = details[0]
    where = ".".join(str(p) for p in first["loc"]) or "request"
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f"{where}: {first['msg']}{more}"


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(
        exc.status_code, exc.code, exc.message, headers=exc.headers, details=exc.details
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    message = str(exc.detail) if exc.detail else code.replace("_", " ")
    if exc.status_code == 404:
        message = f"no such resource: {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    return error_response(exc.status_code, code, message, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc.errors())
    return error_response(422, "invalid_request", summarize(details), details=details)


async def _library_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Sign2TextError)
    api = from_library(exc)
    return error_response(api.status_code, api.code, api.message)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "the server could not process this request")


def install_error_handlers(app: FastAPI) -> None:
    """Every error the app answers becomes the JSON error body."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Sign2TextError, _library_error)
    app.add_exception_handler(Exception, _unexpected)
