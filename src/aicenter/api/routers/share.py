"""/api/v1/shares: guaranteed shares of organisations and calls (operators set them)."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Response

from aicenter.api.deps import Ctx, Who
from aicenter.api.schemas import ShareIn, ShareOut
from aicenter.domain.share import Share, ShareHolder
from aicenter.services import share as svc

router = APIRouter(tags=["shares"])
LEDGER_PLACES = Decimal("0.000001")


def _out(s: Share) -> ShareOut:
    """At ledger precision whichever way it was read (the database may drop trailing zeros:
    a share reads the same from PUT and from GET)."""
    return ShareOut(holder_kind=s.holder_kind.value, holder_id=s.holder_id,
                    guaranteed_h100e=s.guaranteed_h100e.quantize(LEDGER_PLACES),
                    set_at=s.set_at.isoformat(), set_by=s.set_by)


@router.get("/shares")
def list_shares(ctx: Ctx, who: Who) -> list[ShareOut]:
    return [_out(s) for s in svc.list_shares(ctx, who)]


@router.put("/shares/{holder_kind}/{holder_id}")
def set_share(holder_kind: ShareHolder, holder_id: str, body: ShareIn, ctx: Ctx,
              who: Who) -> ShareOut:
    """Set an organisation's or a call's guaranteed share (operators)."""
    return _out(svc.set_share(ctx, who, holder_kind, holder_id, body.guaranteed_h100e))


@router.delete("/shares/{holder_kind}/{holder_id}", status_code=204)
def clear_share(holder_kind: ShareHolder, holder_id: str, ctx: Ctx, who: Who) -> Response:
    svc.clear_share(ctx, who, holder_kind, holder_id)
    return Response(status_code=204)
