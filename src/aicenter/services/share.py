"""Guaranteed shares (:mod:`aicenter.domain.share`): the operator sets what an organisation's
or a call's jobs may hold at once ahead of everyone else's; the scheduling loop reads them
into the snapshot (``guaranteed_h100e``)."""

from __future__ import annotations

from decimal import Decimal

from aicenter.domain.errors import NotFoundError
from aicenter.domain.share import Share, ShareHolder, check_guaranteed_h100e
from aicenter.policy import Resource
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext
from aicenter.storage import Tx


def _holder_exists(tx: Tx, kind: ShareHolder, holder_id: str) -> bool:
    if kind is ShareHolder.ORG:
        return tx.orgs.get(holder_id) is not None
    return tx.calls.get_call(holder_id) is not None


def set_share(ctx: ServiceContext, caller: Caller, kind: ShareHolder, holder_id: str,
              guaranteed_h100e: Decimal) -> Share:
    """Set the holder's guaranteed share (operators); 404 for an unknown holder."""
    caller.check(ctx, "share:set", Resource("Share", holder_id))
    amount = check_guaranteed_h100e(guaranteed_h100e)
    with ctx.db.transaction() as tx:
        if not _holder_exists(tx, kind, holder_id):
            raise NotFoundError(f"{kind.value} {holder_id} not found")
        share = Share(kind, holder_id, amount, ctx.clock.now(), caller.person.id)
        tx.shares.put(share)
        audit.changed(ctx, tx, caller, "share.set", "share", f"{kind.value}:{holder_id}",
                      holder_id if kind is ShareHolder.ORG else None, holder=kind,
                      guaranteed_h100e=amount)
    return share


def clear_share(ctx: ServiceContext, caller: Caller, kind: ShareHolder, holder_id: str) -> None:
    """Remove the holder's guaranteed share (operators); 404 if it had none."""
    caller.check(ctx, "share:set", Resource("Share", holder_id))
    with ctx.db.transaction() as tx:
        if not tx.shares.remove(kind, holder_id):
            raise NotFoundError(f"{kind.value} {holder_id} has no guaranteed share")
        audit.changed(ctx, tx, caller, "share.cleared", "share", f"{kind.value}:{holder_id}",
                      holder_id if kind is ShareHolder.ORG else None, holder=kind)


def list_shares(ctx: ServiceContext, caller: Caller) -> list[Share]:
    """Every guaranteed share (everyone signed in: they say who comes first, like pools)."""
    caller.check(ctx, "share:read", Resource("Share", "any"))
    with ctx.db.transaction(write=False) as tx:
        shares: list[Share] = tx.shares.list()
    return shares
