"""The center's pools of accelerators (chip type × count at a site)."""

from __future__ import annotations

from aicenter.domain.errors import InputError
from aicenter.policy import Resource
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.storage.repositories.pool import PoolRow


def add_pool(ctx: ServiceContext, caller: Caller | None, chip_id: str, chip_count: int,
             site: str = "haenam", country: str = "KR") -> PoolRow:
    """Register a pool; ``caller`` None is the server itself (demo set-up, pools file)."""
    if caller is not None:
        caller.check(ctx, "pool:create", Resource("Pool", "new"))
    ctx.catalog.get(chip_id)
    if not 1 <= chip_count <= 1_000_000:
        raise InputError(f"{chip_count} is not a chip count from 1 to 1,000,000",
                         field="chip_count")
    if len(country) != 2 or not country.isalpha() or not country.isupper():
        raise InputError(f"'{country}' is not an ISO 3166 alpha-2 code like KR",
                         field="country")
    pool = PoolRow(new_id("pool"), chip_id, chip_count, site, country)
    with ctx.db.transaction() as tx:
        tx.pools.add(pool)
    if ctx.backend is not None:
        from aicenter.services.runtime import attach_backend

        attach_backend(ctx)
    return pool


def list_pools(ctx: ServiceContext, caller: Caller) -> list[PoolRow]:
    caller.check(ctx, "pool:read", Resource("Pool", "any"))
    with ctx.db.transaction(write=False) as tx:
        return tx.pools.list()  # type: ignore[no-any-return]
