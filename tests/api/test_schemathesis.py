"""Property-based API test: schemathesis generates requests from the OpenAPI document for
every operation; none may answer 5xx, every answer must match the document (status codes
declared, bodies of the declared schema: the error body :class:`aicenter.api.errors.ErrorOut`
for every 4xx), and every 4xx carries a readable ``detail``.

Runs as the operator (the role that reaches deepest into every route), with a real token, in
the world of the authorisation table (pools, a call, organisations, a grant, jobs, a dataset,
an offer, an agreement, an upload), on SQLite and PostgreSQL. ``MAX_EXAMPLES`` per operation
keeps a run to a few minutes on 2 cores.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from aicenter.api import create_app
from aicenter.services.context import ServiceContext
from tests.api.test_authorization_table import TABLE, build_world

MAX_EXAMPLES = 30
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def _check(case: Any, token: str) -> None:
    if case.path.endswith("/logs/stream"):  # a stream follows a running job: from the start
        case.query = {**(case.query or {}), "offset": 0}
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("detail"), str) and body["detail"], response.text


def test_no_server_errors_and_documented_answers(ctx: ServiceContext) -> None:
    token = build_world(ctx).tokens["operator"]
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(ctx))
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) >= len(TABLE) - 5  # every route of the app (the table's, new)
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            _check(case, token)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
