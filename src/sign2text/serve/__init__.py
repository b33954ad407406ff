"""The Sign2Text HTTP service: REST API, WebSocket stream and the web demo's files.

``create_app(settings)`` builds the FastAPI app (``sign2text serve`` runs it with
uvicorn); :class:`ServeSettings` reads ``SIGN2TEXT_SERVE_*`` from the environment.
Needs the ``serve`` extra (fastapi, uvicorn, python-multipart); never imports torch.
"""

from sign2text.serve.app import create_app
from sign2text.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app"]
