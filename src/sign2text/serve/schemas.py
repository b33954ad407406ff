"""Request and response bodies of the API (pydantic), with the examples shown in /docs."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, Strict
from pydantic.config import JsonDict

from sign2text.landmarks.skeleton import N_DIMS, N_POINTS

# --- errors ---------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable code")
    message: str = Field(description="what went wrong, for people")
    details: list[dict[str, Any]] | None = Field(
        default=None, description="per-field problems of a validation error"
    )


class ErrorResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"error": {"code": "unsupported_media", "message": "the upload is not a video"}}
            ]
        }
    )

    error: ErrorDetail


def error_doc(description: str, code: str, message: str) -> dict[str, Any]:
    """An OpenAPI ``responses`` entry for one error status."""
    return {
        "model": ErrorResponse,
        "description": description,
        "content": {"application/json": {"example": {"error": {"code": code, "message": message}}}},
    }


# --- recognition ----------------------------------------------------------------------


class TopK(BaseModel):
    label: str
    probability: float


class Timings(BaseModel):
    decode_ms: float = 0.0
    landmarks_ms: float = 0.0
    features_ms: float = 0.0
    model_ms: float = 0.0
    total_ms: float = 0.0


_RECOGNITION_EXAMPLE: dict[str, Any] = {
    "label": "hello",
    "confidence": 0.49,
    "rejected": False,
    "top_k": [
        {"label": "hello", "probability": 0.49},
        {"label": "thank-you", "probability": 0.12},
        {"label": "please", "probability": 0.07},
    ],
    "frames": 39,
    "hands_rate": 0.92,
    "timings": {
        "decode_ms": 61.2,
        "landmarks_ms": 1890.4,
        "features_ms": 2.1,
        "model_ms": 1.0,
        "total_ms": 1955.3,
    },
    "queue_ms": 0.2,
    "request_ms": 1972.8,
}


class RecognitionResponse(BaseModel):
    """The word recognized in one clip or landmark sequence.

    ``label`` is ``"_none_"`` when ``rejected`` (top probability under the model's
    reject threshold, or the no-sign class); ``top_k`` still shows what the model saw.
    """

    model_config = ConfigDict(
        json_schema_extra={"examples": [cast(JsonDict, _RECOGNITION_EXAMPLE)]}
    )

    label: str
    confidence: float = Field(description="probability of the top class")
    rejected: bool
    top_k: list[TopK] = Field(description="best first")
    frames: int = Field(description="landmark frames the model saw")
    hands_rate: float = Field(description="fraction of frames with a hand")
    timings: Timings
    queue_ms: float = Field(description="time waiting for a free worker")
    request_ms: float = Field(description="time in the server, upload included")


StrictCoord = Annotated[float, Strict()]
Point = Annotated[list[StrictCoord | None], Field(min_length=N_DIMS, max_length=N_DIMS)]
Frame = Annotated[list[Point | None], Field(min_length=N_POINTS, max_length=N_POINTS)]

_EXAMPLE_FRAME: list[Any] = [None] * N_POINTS
_EXAMPLE_FRAME[468:471] = [[0.61, 0.52, -0.03], [0.63, 0.49, -0.04], [0.64, 0.45, -0.05]]


class LandmarksRequest(BaseModel):
    """A landmark sequence: ``T`` frames of 543 ``[x, y, z]`` points in the MediaPipe
    Holistic (GISLR) order: face 0-467, left hand 468-488, pose 489-521, right hand
    522-542. ``null`` (a point or a coordinate) marks what was not detected. Numbers
    must be finite."""

    model_config = ConfigDict(
        allow_inf_nan=False,
        extra="forbid",
        json_schema_extra={"examples": [{"landmarks": [_EXAMPLE_FRAME], "top_k": 5}]},
    )

    landmarks: list[Frame] = Field(min_length=1, description="(T, 543, 3)")
    top_k: int = Field(default=5, ge=1, le=20, description="candidates to return")


# --- model, labels, examples, health --------------------------------------------------


class LabelsResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "labels": ["_none_", "bye", "hello"],
                    "vocabulary": ["bye", "hello"],
                    "none_label": "_none_",
                }
            ]
        }
    )

    labels: list[str] = Field(description="every class, in the model's output order")
    vocabulary: list[str] = Field(description="the words (labels without the no-sign class)")
    none_label: str


class ModelFile(BaseModel):
    name: str
    bytes: int
    sha256: str
    url: str


class ModelResponse(BaseModel):
    """The model card and settings stored in the ONNX file's metadata."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "format": "sign2text-onnx/1",
                    "input": "landmarks",
                    "labels": ["_none_", "bye", "hello"],
                    "reject_threshold": 0.4581,
                    "model": {"name": "conv_transformer", "args": {"dim": 128}},
                    "features": {"frames": 32},
                    "card": {"evaluation": {"mean_fold_top1": 0.759}},
                    "file": {
                        "name": "model.onnx",
                        "bytes": 707909,
                        "sha256": "…",
                        "url": "/v1/model.onnx",
                    },
                }
            ]
        }
    )

    format: str
    input: str
    labels: list[str]
    reject_threshold: float
    model: dict[str, Any]
    features: dict[str, Any]
    card: dict[str, Any]
    prototypes: dict[str, Any] | None = Field(
        default=None,
        description=(
            "built-in prototypes for personal vocabularies (labels, dim, float16 data in "
            "base64); null when the model has none"
        ),
    )
    file: ModelFile


class SkeletonPart(BaseModel):
    start: int
    size: int


class SkeletonResponse(BaseModel):
    """The named landmark layout (from :mod:`sign2text.landmarks.skeleton`), so that a
    browser computes the same features as the server from one source of truth."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "n_points": 543,
                    "n_dims": 3,
                    "parts": {"face": {"start": 0, "size": 468}},
                    "pose_names": ["nose", "left_eye_inner"],
                    "subsets": {"hands": [468, 469]},
                    "mirror_map": [0, 1],
                    "limbs": [[468, 469]],
                }
            ]
        }
    )

    n_points: int
    n_dims: int
    parts: dict[str, SkeletonPart]
    pose_names: list[str]
    subsets: dict[str, list[int]]
    mirror_map: list[int] = Field(description="point i of a mirrored frame = point map[i]")
    limbs: list[tuple[int, int]] = Field(description="connections to draw")


class ExampleItem(BaseModel):
    name: str
    size: int = Field(description="bytes")
    expected: str | None = Field(description="the word in the file name '<word>__*.mp4'")
    in_vocabulary: bool
    url: str


class ExamplesResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "examples": [
                        {
                            "name": "hello__sdb1228__hello.mp4",
                            "size": 293044,
                            "expected": "hello",
                            "in_vocabulary": True,
                            "url": "/v1/examples/hello__sdb1228__hello.mp4",
                        }
                    ]
                }
            ]
        }
    )

    examples: list[ExampleItem]


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    status: Literal["ready"] = "ready"
    model: str
    labels: int
    workers: int
    queue_size: int
    in_flight: int = Field(description="uploads running or waiting")
    streams: int = Field(description="open WebSocket streams")


# --- the WebSocket protocol (documented here; /docs does not list WebSockets) ---------


class StreamMessage(BaseModel):
    """Client -> server, one JSON text message each:

    * ``{"t": 1.25, "landmarks": [[x, y, z] | null] * 543}``: one frame (``type``
      ``"frame"`` may be given or left out); ``t`` in seconds on the client's clock,
      increasing; frames closer than 1/120 s to the previous one are dropped;
    * ``{"type": "flush"}``: end of the signing: classify a segment still open; the
      server answers its words and then ``{"type": "flushed", ...}``.
    """

    model_config = ConfigDict(allow_inf_nan=False, extra="forbid")

    type: Literal["frame", "flush"] = "frame"
    t: float | None = None
    landmarks: Frame | None = None


class StreamWord(BaseModel):
    """Server -> client: a word, with the time span (client clock) of its segment."""

    type: Literal["word"] = "word"
    label: str
    confidence: float
    start: float
    end: float


class StreamError(BaseModel):
    """Server -> client: a message was refused; the stream goes on."""

    type: Literal["error"] = "error"
    code: str
    message: str
