"""Fuzz the HTTP API from its own OpenAPI schema (schemathesis) against a real
``sign2text serve`` on loopback: no 5xx, and every response conforms to the schema
(status code documented, content type, body schema, headers).

Examples per operation are limited (``MAX_EXAMPLES``) so the run stays under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import Server
from schemathesis import GenerationMode, checks

MAX_EXAMPLES = 30
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("fuzz")
    spool = tmp / "spool"
    spool.mkdir()
    env = {
        "SIGN2TEXT_SERVE_MAX_UPLOAD_BYTES": str(1024 * 1024),
        "SIGN2TEXT_SERVE_MAX_LANDMARK_FRAMES": "60",
        "SIGN2TEXT_SERVE_TMP_DIR": str(spool),
        "SIGN2TEXT_SERVE_ACCESS_LOG": "false",
    }
    server = Server(tmp, env, "--workers", "1", "--queue-size", "4")
    try:
        yield server
    finally:
        server.stop()
    assert list(spool.iterdir()) == [], "uploads left in the spool"
    assert "Traceback" not in server.output(), server.output()


@pytest.fixture(scope="module")
def api_schema(fuzz_server: Server) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{fuzz_server.base}/openapi.json")


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation, from the app's schema (no server needed)."""
    from sign2text.serve import ServeSettings, create_app

    doc = create_app(ServeSettings(examples_dir=None)).openapi()
    return sorted((m.upper(), p) for p, item in doc["paths"].items() for m in item)


OPERATIONS = _operations()


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_conforms_to_its_schema(
    method: str, path: str, api_schema: schemathesis.BaseSchema, fuzz_server: Server
) -> None:
    operation = api_schema[path][method]
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=fuzz_server.base, checks=CHECKS, timeout=60)

    fuzz()


def test_schema_lists_the_routes(api_schema: schemathesis.BaseSchema) -> None:
    paths = set(api_schema.raw_schema["paths"])
    assert {"/v1/recognize", "/v1/recognize/landmarks", "/v1/labels", "/healthz"} <= paths
    assert {p for _, p in OPERATIONS} == paths
