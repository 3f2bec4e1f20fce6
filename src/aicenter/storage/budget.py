"""The PostgreSQL connection budget of one server: ``database_max_connections`` shared by its
API workers.

Each of ``w`` workers gets a pool of

    per_worker = floor(budget / w)        connections, no overflow,

so the server never holds more than ``w × per_worker ≤ budget`` connections, whatever the
load: a request finding every connection busy waits for one (the pool's timeout) instead of
opening another. A worker needs at least ``MIN_CONNECTIONS_PER_WORKER``: one for the
scheduling loop, one for the admission thread and two for request transactions; below that,
or with a budget larger than the database server accepts (``max_connections`` less the slots
reserved for superusers), the server refuses to start and says which setting to change.
"""

from __future__ import annotations

from aicenter.domain.errors import InputError

MIN_CONNECTIONS_PER_WORKER = 4
"""The scheduling loop, the admission thread and two request transactions at once."""


def pool_size_per_worker(budget: int, workers: int, server_limit: int | None = None) -> int:
    """Connections in each worker's pool (see the module docstring for the rule and errors).
    ``server_limit``: connections the database server accepts from ordinary roles, if known.
    """
    if workers < 1:
        raise InputError(f"{workers} workers: at least 1 is needed", field="workers")
    if server_limit is not None and budget > server_limit:
        raise InputError(
            f"{budget} connections budgeted but the database server accepts only "
            f"{server_limit} (max_connections less the superuser-reserved ones); lower "
            "AICENTER_DATABASE_MAX_CONNECTIONS or raise the server's max_connections",
            field="database_max_connections")
    per_worker = budget // workers
    if per_worker < MIN_CONNECTIONS_PER_WORKER:
        raise InputError(
            f"{budget} connections shared by {workers} workers leaves {per_worker} each; a "
            f"worker needs at least {MIN_CONNECTIONS_PER_WORKER} (the scheduling loop, the "
            "admission thread, two requests): raise AICENTER_DATABASE_MAX_CONNECTIONS to "
            f"{MIN_CONNECTIONS_PER_WORKER * workers} or start fewer workers",
            field="database_max_connections")
    return per_worker
