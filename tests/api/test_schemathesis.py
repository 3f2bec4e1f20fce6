"""Property-based API test: schemathesis generates requests from the OpenAPI spec for every
operation; none may produce a 5xx, and every 4xx carries a readable ``detail``.

Runs as the operator (the role that reaches deepest into every route) against a center with a
pool, a call, an organisation, a grant and a job, on SQLite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from aicenter.api import create_app
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.org import bootstrap_operator
from aicenter.settings import Settings
from aicenter.storage import Database
from tests.services.fixtures import seed_center


def _schema(tmp_path: Path) -> tuple[Any, str, Database]:
    db = Database(f"sqlite:///{tmp_path / 'aicenter.db'}")
    db.migrate()
    ctx = ServiceContext(db=db, settings=Settings(home=tmp_path))
    boot = bootstrap_operator(ctx)
    assert boot is not None
    seed_center(ctx, Caller(boot[0]))
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(ctx)), boot[1], db


def _check(case: Any, token: str) -> None:
    if case.path.endswith("/logs/stream"):
        case.query = {**(case.query or {}), "offset": 0}
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("detail"), str) and body["detail"], response.text


def test_no_server_errors_and_readable_client_errors(tmp_path: Path) -> None:
    schema, token, db = _schema(tmp_path)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    try:
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=25, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case: Any) -> None:
                _check(case, token)

            run()
    finally:
        db.dispose()
