"""``sign2text serve``: the HTTP service (REST API, WebSocket stream, web demo) on uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from sign2text.cli.argtypes import positive_float

log = logging.getLogger(__name__)

# Flag -> ServeSettings field; a flag given on the command line overrides the environment.
_FLAGS = {
    "host": "host",
    "port": "port",
    "model": "model",
    "workers": "workers",
    "queue_size": "queue_size",
    "max_upload_mb": "max_upload_bytes",
    "cors_origin": "cors_origins",
    "examples_dir": "examples_dir",
    "static_dir": "static_dir",
    "vocab": "vocab",
}


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="run the HTTP service (REST API, WebSocket stream, web demo)",
        description=(
            "Serve the recognizer over HTTP: POST /v1/recognize (a clip), POST "
            "/v1/recognize/landmarks, WebSocket /v1/stream, the web demo at / and the API "
            "docs at /docs. Every setting is also read from SIGN2TEXT_SERVE_<NAME> "
            "(e.g. SIGN2TEXT_SERVE_API_KEY, SIGN2TEXT_SERVE_QUEUE_SIZE); flags win."
        ),
    )
    p.add_argument("--host", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--model", type=Path, help="an exported .onnx model (default: bundled)")
    p.add_argument("--workers", type=int, help="recognitions running at once (default 1)")
    p.add_argument(
        "--queue-size", type=int, help="uploads waiting beyond the workers before 503 (default 8)"
    )
    p.add_argument(
        "--max-upload-mb", type=positive_float, help="largest upload in MiB (default 50)"
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="allow this browser origin (repeatable; default: none)",
    )
    p.add_argument("--examples-dir", type=Path, help="clips listed at /v1/examples")
    p.add_argument("--static-dir", type=Path, help="the web demo folder served at / and /static")
    p.add_argument(
        "--vocab",
        type=Path,
        help="user vocabulary (sign2text vocab; default: the user file when it exists)",
    )
    p.add_argument("--no-access-log", action="store_true", help="do not log every request")
    p.set_defaults(func=run)


def settings_from_args(args: argparse.Namespace) -> Any:
    """ServeSettings from the environment, overridden by the flags that were given."""
    from pydantic import ValidationError

    from sign2text.errors import ConfigError
    from sign2text.serve.settings import MIB, ServeSettings

    overrides: dict[str, Any] = {}
    # The user vocabulary: --vocab, else SIGN2TEXT_SERVE_VOCAB, else the default user
    # file when it exists (sign2text vocab writes it).
    if "vocab" in vars(args) and args.vocab is None and not os.environ.get("SIGN2TEXT_SERVE_VOCAB"):
        from sign2text.runtime.vocab import default_vocab_path

        if default_vocab_path().is_file():
            overrides["vocab"] = default_vocab_path()
    for flag, field in _FLAGS.items():
        value = getattr(args, flag, None)
        if value is None:
            continue
        if flag == "max_upload_mb":
            value = int(value * MIB)
        overrides[field] = value
    if getattr(args, "no_access_log", False):
        overrides["access_log"] = False
    try:
        return ServeSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"bad serve settings: {problems}") from None


def _websocket_library() -> bool:
    import importlib.util

    return any(importlib.util.find_spec(name) for name in ("websockets", "wsproto"))


def run(args: argparse.Namespace) -> int:
    from sign2text.errors import DependencyError

    try:
        import fastapi  # noqa: F401
        import python_multipart  # noqa: F401
        import uvicorn
    except ImportError as exc:
        raise DependencyError(
            f"'sign2text serve' needs the serve extra ({exc.name} is missing): "
            "pip install 'sign2text[serve]'"
        ) from None

    from sign2text.runtime import OnnxClassifier
    from sign2text.serve import create_app
    from sign2text.serve.service import load_vocabulary, model_path

    settings = settings_from_args(args)
    if not _websocket_library():
        log.warning(
            "no WebSocket library for uvicorn (websockets or wsproto): WebSocket "
            "/v1/stream will be refused; pip install websockets"
        )
    # Fail fast, with one line, on a bad model or vocabulary (the app would only fail
    # at startup, with a traceback in uvicorn's log).
    OnnxClassifier(model_path(settings))
    load_vocabulary(settings)
    app = create_app(settings)
    log.info("serving on http://%s:%d (docs at /docs)", settings.host, settings.port)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=settings.access_log,
        timeout_graceful_shutdown=10,
    )
    return 0
