"""Bodies of ``/api/v1/reclaim-notices``: grants the idle sweep noticed. A leaf module beside
:mod:`aicenter.client.models` (which is past the size the design asks for)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from aicenter.client.models import Model


class ReclaimNoticeOut(Model):
    """A grant noticed as idle: reclaimed at ``reclaim_at`` unless it is used before."""

    grant_id: str
    call_id: str
    org_id: str
    status: str = Field(description="active (notice running), reclaimed or expired")
    last_used_at: datetime = Field(description="Idle since")
    noticed_at: datetime
    reclaim_at: datetime = Field(description="When the sweep reclaims it if still idle")
    available_h100e_h: str = Field(description="What goes back to the call (exact decimal)")
