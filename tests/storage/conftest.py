from tests.services.fixtures import (  # noqa: F401
    clock_fixture,
    ctx_fixture,
    database_fixture,
    operator_fixture,
)
