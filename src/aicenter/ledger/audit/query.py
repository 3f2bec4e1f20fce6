"""Which audit entries to list: the filter a reader (the API, the CLI's show/export, a test)
passes to the log's store. A value type of the log, not of its storage, so the router builds
it without importing the database layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries to list; every field optional, all given ones must hold."""

    org_id: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    """Exclusive."""
    after_seq: int = 0
    limit: int | None = None
