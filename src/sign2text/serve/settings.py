"""Service settings read from the environment (prefix ``SIGN2TEXT_SERVE_``).

``sign2text serve`` flags override the environment; :func:`sign2text.serve.create_app`
takes a :class:`ServeSettings` so tests and embedders pass values directly.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sign2text.runtime.recognizer import DEFAULT_EXTRACT_FPS
from sign2text.settings import Settings

MIB = 1024 * 1024


def default_static_dir() -> Path:
    """The web demo shipped in the package: ``sign2text/serve/static``."""
    return Path(str(resources.files("sign2text.serve").joinpath("static")))


def default_examples_dir() -> Path:
    """The shared clips folder of the project settings (``SIGN2TEXT_VIDEOS_DIR``)."""
    return Settings().videos_dir


class ServeSettings(BaseSettings):
    """Everything the HTTP service needs; each field is ``SIGN2TEXT_SERVE_<NAME>``.

    ``api_key``: when set, every ``/v1/*`` route (the WebSocket included) needs it in
    the ``X-API-Key`` header (the WebSocket also takes ``?api_key=``, since browsers
    cannot set headers there); ``/healthz``, ``/readyz``, ``/docs`` and the demo page
    stay open. ``cors_origins`` takes a JSON list or a comma-separated string.
    """

    model_config = SettingsConfigDict(env_prefix="SIGN2TEXT_SERVE_", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    model: Path | None = Field(
        default=None, description="exported .onnx model; None: the bundled one"
    )
    max_upload_bytes: int = Field(default=50 * MIB, ge=1, description="largest accepted upload")
    # One MediaPipe graph already keeps ~1.3 cores busy and holds ~250 MiB; one worker
    # keeps the server's peak under 700 MB (docs/benchmarks.md). Add workers on machines
    # with more cores and memory.
    workers: int = Field(default=1, ge=1, le=64, description="recognizers running at once")
    queue_size: int = Field(default=8, ge=0, le=4096, description="jobs waiting beyond the workers")
    api_key: SecretStr | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    examples_dir: Path | None = Field(default_factory=default_examples_dir)
    vocab: Path | None = Field(
        default=None, description="user vocabulary file (sign2text vocab); None: none"
    )
    static_dir: Path = Field(default_factory=default_static_dir)
    tmp_dir: Path | None = Field(
        default=None, description="where uploads are spooled (default: TMPDIR)"
    )
    read_timeout_s: float = Field(
        default=60.0, gt=0, description="deadline to receive a request body"
    )
    recognize_timeout_s: float = Field(
        default=120.0, gt=0, description="deadline for one recognition"
    )
    max_video_seconds: float = Field(default=30.0, gt=0, description="longest accepted clip")
    max_landmark_frames: int = Field(default=900, ge=1, description="longest landmark sequence")
    extract_fps: float = Field(
        default=DEFAULT_EXTRACT_FPS, gt=0, description="frames per second given to Holistic"
    )
    threads: int = Field(default=1, ge=1, le=64, description="ONNX Runtime threads per recognizer")
    max_streams: int = Field(default=8, ge=1, description="open WebSocket streams at once")
    stream_idle_s: float = Field(default=60.0, gt=0, description="close a stream silent this long")
    max_stream_message_bytes: int = Field(default=256 * 1024, ge=1024)
    access_log: bool = True

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [v.strip() for v in text.split(",") if v.strip()]
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_key_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def api_key_value(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key is not None else None
