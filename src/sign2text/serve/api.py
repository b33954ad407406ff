"""The ``/v1`` HTTP routes: recognition, labels, model card and file, skeleton, examples."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Security
from fastapi.responses import FileResponse
from fastapi.security import APIKeyHeader
from pydantic import ValidationError

from sign2text.errors import Sign2TextError
from sign2text.landmarks.skeleton import N_DIMS, N_POINTS
from sign2text.runtime import Recognition, Recognizer
from sign2text.runtime.metadata import METADATA_FORMAT, NONE_LABEL
from sign2text.serve.errors import ApiError, from_library, summarize, validation_details
from sign2text.serve.landmarks import invalid as invalid_landmarks
from sign2text.serve.landmarks import sequence_array
from sign2text.serve.memory import release_free_memory
from sign2text.serve.schemas import (
    ExampleItem,
    ExamplesResponse,
    LabelsResponse,
    LandmarksRequest,
    ModelFile,
    ModelResponse,
    RecognitionResponse,
    SkeletonResponse,
    Timings,
    TopK,
    error_doc,
)
from sign2text.serve.service import MAX_TOP_K, Service
from sign2text.serve.uploads import check_container, spooled_upload
from sign2text.serve.workers import BusyError, PoolClosedError, WorkerPool

T = TypeVar("T")

API_KEY_HEADER = "X-API-Key"
# Commas of one full landmark frame in JSON, its separator included; a little more for
# the rest of the body (top_k, and a malformed body is left to the parser to name).
_COMMAS_PER_FRAME = N_POINTS * (N_DIMS - 1) + N_POINTS
_COMMAS_SLACK = 64
RGB_MODEL_MESSAGE = (
    "this server's model takes RGB video clips, not landmarks: send the clip to POST /v1/recognize"
)


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


def require_api_key(
    request: Request,
    given: Annotated[
        str | None, Security(APIKeyHeader(name=API_KEY_HEADER, auto_error=False))
    ] = None,
) -> None:
    """When the service has an API key, every /v1 route needs it in ``X-API-Key``."""
    expected = get_service(request).settings.api_key_value
    if expected is None:
        return
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(
            401,
            "unauthorized",
            f"missing or wrong {API_KEY_HEADER} header",
            headers={"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'},
        )


_BUSY = error_doc(
    "all workers busy and the queue full (with Retry-After)",
    "busy",
    "all workers are busy and the queue is full; retry in 3 s",
)
_UNAUTHORIZED = error_doc("API key required", "unauthorized", "missing or wrong X-API-Key header")

router = APIRouter(
    prefix="/v1",
    dependencies=[Depends(require_api_key)],
    responses={401: _UNAUTHORIZED},
)


def busy(pool: WorkerPool[Any]) -> ApiError:
    retry = pool.retry_after_s()
    return ApiError(
        503,
        "busy",
        f"all workers are busy and the queue is full; retry in {retry} s",
        headers={"Retry-After": str(retry)},
    )


async def run_job(
    pool: WorkerPool[Any], fn: Callable[[Any], T], timeout_s: float
) -> tuple[T, float]:
    """Run ``fn(recognizer)`` on ``pool`` with a deadline; busy/closed/timeout -> API errors."""
    try:
        async with asyncio.timeout(timeout_s):
            return await pool.run(fn)
    except BusyError:
        raise busy(pool) from None
    except PoolClosedError:
        raise ApiError(503, "unavailable", "the server is shutting down") from None
    except TimeoutError:
        raise ApiError(
            504, "timeout", f"recognition did not finish within {timeout_s:g} s"
        ) from None


def recognition_response(
    result: Recognition, top_k: int, queue_ms: float, started: float
) -> RecognitionResponse:
    return RecognitionResponse(
        label=result.label,
        confidence=result.confidence,
        rejected=result.rejected,
        top_k=[TopK(label=lab, probability=p) for lab, p in result.top_k[:top_k]],
        frames=result.frames,
        hands_rate=result.hands_rate,
        timings=Timings.model_validate(result.timings),
        queue_ms=round(queue_ms, 3),
        request_ms=round((time.perf_counter() - started) * 1000.0, 3),
    )


_BINARY = {"schema": {"type": "string", "format": "binary"}}
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "a video clip of one sign (mp4, mov, webm, mkv, avi), as the "
        "multipart field 'file' or as the raw body",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
            "video/mp4": _BINARY,
            "video/webm": _BINARY,
            "application/octet-stream": _BINARY,
        },
    }
}
_LANDMARKS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": LandmarksRequest.model_json_schema()}},
    }
}


@router.post(
    "/recognize",
    summary="Recognize the sign in a video clip",
    response_model=RecognitionResponse,
    openapi_extra=_UPLOAD_BODY,
    responses={
        400: error_doc("malformed multipart body", "bad_request", "malformed multipart body"),
        408: error_doc("body too slow", "request_timeout", "the request body did not arrive"),
        413: error_doc(
            "upload over the size limit, or clip over the duration/frame caps",
            "payload_too_large",
            "the upload is over the limit of 52428800 bytes",
        ),
        415: error_doc(
            "not a video", "unsupported_media", "the upload is not in a video container"
        ),
        422: error_doc(
            "unreadable video (undecodable_media, empty_upload, missing_file), or nobody "
            "signs (no_signing)",
            "no_signing",
            "no hand found in any of the 39 frames: nobody signs",
        ),
        503: _BUSY,
        504: error_doc("took too long", "timeout", "recognition did not finish within 120 s"),
    },
)
async def recognize(
    request: Request,
    service: ServiceDep,
    top_k: Annotated[int, Query(ge=1, le=MAX_TOP_K, description="candidates to return")] = 5,
) -> RecognitionResponse:
    """Upload a clip (multipart field ``file``, or a raw ``video/*`` body); get the word.

    The upload streams to a temporary file (removed afterwards; media are never
    kept), then one worker decodes it, runs MediaPipe Holistic at the service's
    ``extract_fps`` and classifies the landmarks.
    """
    started = time.perf_counter()
    if service.videos.full():
        raise busy(service.videos)  # before reading a body we would refuse anyway
    settings = service.settings
    limits = service.video_limits
    async with spooled_upload(
        request, max_bytes=settings.max_upload_bytes, tmp_dir=settings.tmp_dir
    ) as upload:
        check_container(upload)
        path = upload.path

        def job(rec: Recognizer) -> Recognition:
            try:
                return rec.recognize_video(path, limits=limits)
            finally:
                release_free_memory()

        try:
            result, queue_ms = await run_job(service.videos, job, settings.recognize_timeout_s)
        except Sign2TextError as exc:  # its message names our temp file: name the upload
            api = from_library(exc)
            api.message = api.detail = api.message.replace(str(path), upload.label)
            raise api from None
    return recognition_response(result, top_k, queue_ms, started)


def _parse_landmarks(body: bytes, max_frames: int) -> LandmarksRequest:
    # A frame of 543 [x, y, z] points holds 1629 commas with its separator, fewer with
    # null points. More commas than max_frames such frames can hold is refused before
    # parsing: parsing a body of millions of short numbers ("0,0,0,...") takes seconds
    # and hundreds of MB however the frame count is checked afterwards.
    if body.count(b",") > max_frames * _COMMAS_PER_FRAME + _COMMAS_SLACK:
        raise invalid_landmarks(
            f"the body holds more values than {max_frames} frames of {N_POINTS} [x, y, z] "
            f"points (the most this server takes)"
        )
    try:
        return LandmarksRequest.model_validate_json(body)
    except ValidationError as exc:
        details = validation_details(exc.errors())
        raise ApiError(422, "invalid_landmarks", summarize(details), details=details) from None


@router.post(
    "/recognize/landmarks",
    summary="Recognize a sign from landmarks",
    response_model=RecognitionResponse,
    openapi_extra=_LANDMARKS_BODY,
    responses={
        409: error_doc(
            "the served model takes RGB clips, not landmarks: use POST /v1/recognize",
            "model_input_mismatch",
            RGB_MODEL_MESSAGE,
        ),
        413: error_doc("body over the size limit", "payload_too_large", "request body too big"),
        415: error_doc("not JSON", "unsupported_media", "send application/json"),
        422: error_doc(
            "bad shape, non-finite number, too many frames (invalid_landmarks), or no hand "
            "in any frame (no_signing)",
            "invalid_landmarks",
            "landmarks.0: List should have at least 543 items after validation, not 2",
        ),
        503: _BUSY,
    },
)
async def recognize_landmarks(request: Request, service: ServiceDep) -> RecognitionResponse:
    """Classify a landmark sequence ``(T, 543, 3)`` (for clients that run MediaPipe
    themselves); no video is decoded."""
    started = time.perf_counter()
    if service.metadata.input != "landmarks":
        raise ApiError(409, "model_input_mismatch", RGB_MODEL_MESSAGE)
    ctype = request.headers.get("content-type", "")
    main = ctype.split(";", 1)[0].strip().lower()
    if main and main != "application/json" and not main.endswith("+json"):
        raise ApiError(415, "unsupported_media", f"send application/json, not {ctype!r}")
    if service.landmarks.full():
        raise busy(service.landmarks)
    body = await request.body()  # bounded in size and time by BodyGuard
    max_frames = service.settings.max_landmark_frames

    def job(rec: Recognizer) -> tuple[int, Recognition]:
        try:  # validating a large body is CPU work: not on the loop
            req = _parse_landmarks(body, max_frames)
            return req.top_k, rec.recognize_landmarks(sequence_array(req.landmarks, max_frames))
        finally:
            release_free_memory()  # the parsed lists of a large body are freed here

    (top_k, result), queue_ms = await run_job(
        service.landmarks, job, service.settings.recognize_timeout_s
    )
    return recognition_response(result, top_k, queue_ms, started)


@router.get("/labels", summary="The model's labels", response_model=LabelsResponse)
async def labels(service: ServiceDep) -> LabelsResponse:
    return LabelsResponse(
        labels=list(service.labels), vocabulary=service.vocabulary, none_label=NONE_LABEL
    )


@router.get("/model", summary="The model card and settings", response_model=ModelResponse)
async def model_card(service: ServiceDep) -> ModelResponse:
    meta = service.metadata
    return ModelResponse(
        format=METADATA_FORMAT,
        input=meta.input,
        labels=list(meta.labels),
        reject_threshold=service.reject_threshold,
        model=meta.model,
        features=meta.features.to_dict(),
        card=meta.card,
        prototypes=None if meta.prototypes is None else meta.prototypes.to_json(),
        file=ModelFile(
            name=service.model_path.name,
            bytes=service.model_bytes,
            sha256=service.model_sha256,
            url="/v1/model.onnx",
        ),
    )


@router.get(
    "/model.onnx",
    summary="The ONNX model file (for onnxruntime-web)",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def model_file(service: ServiceDep) -> FileResponse:
    return FileResponse(
        service.model_path,
        media_type="application/octet-stream",
        headers={"Cache-Control": "no-cache", "X-Model-SHA256": service.model_sha256},
    )


@router.get(
    "/skeleton", summary="The landmark layout (for clients)", response_model=SkeletonResponse
)
async def skeleton(service: ServiceDep) -> SkeletonResponse:
    """Parts, pose point names, named point subsets, left/right mirror map and limbs of
    the ``(543, 3)`` layout; the web demo computes its features from this."""
    return SkeletonResponse.model_validate(service.skeleton)


@router.get("/examples", summary="Example clips to try", response_model=ExamplesResponse)
async def examples(service: ServiceDep) -> ExamplesResponse:
    vocab = set(service.vocabulary)
    return ExamplesResponse(
        examples=[
            ExampleItem(
                name=ex.name,
                size=ex.size,
                expected=ex.expected,
                in_vocabulary=ex.expected in vocab,
                url=ex.url,
            )
            for ex in service.examples()
        ]
    )


@router.get(
    "/examples/{name}",
    summary="One example clip",
    response_class=FileResponse,
    responses={
        200: {"content": {"video/mp4": {}}},
        404: error_doc("not in the list", "not_found", "no example named 'x.mp4'"),
    },
)
async def example_file(name: str, service: ServiceDep) -> FileResponse:
    """Only names from ``GET /v1/examples`` are served (no paths)."""
    found = {ex.name: ex for ex in service.examples()}.get(name)
    if found is None:
        raise ApiError(404, "not_found", f"no example named {name!r}")
    return FileResponse(found.path, media_type=found.media_type)
