from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from aicenter.api import create_app
from aicenter.services.context import ServiceContext
from aicenter.services.org import bootstrap_operator
from tests.services.fixtures import (  # noqa: F401
    clock_fixture,
    ctx_fixture,
    database_fixture,
    operator_fixture,
)


@pytest.fixture
def api(ctx: ServiceContext) -> Iterator[tuple[TestClient, str]]:
    """A test client of the app and the operator's token secret."""
    boot = bootstrap_operator(ctx)
    assert boot is not None
    with TestClient(create_app(ctx)) as client:
        yield client, boot[1]
