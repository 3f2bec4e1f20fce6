"""A check's result, shared by the host and database checks of :mod:`aicenter.services.doctor`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

Status = Literal["ok", "warn", "fail"]

ALLOW_TRUST_ENV = "AICENTER_UNSAFE_ALLOW_TRUST_DATABASE"
ALLOW_WEAK_ENV = "AICENTER_UNSAFE_ALLOW_WEAK_ISOLATION"
ALLOW_UNLIMITED_ENV = "AICENTER_UNSAFE_ALLOW_UNLIMITED_JOBS"
MIN_JOB_UIDS = 64
"""Fewer uids than this and a busy node runs out of identities for concurrent jobs."""
SHOWN = 5
"""Paths named in a check's detail at most."""


@dataclass(frozen=True, slots=True)
class Check:
    """One thing the host does or does not enforce, and how to fix it."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def worst(checks: Iterable[Check]) -> Status:
    """The most severe status of ``checks`` (``ok`` when empty)."""
    statuses = {c.status for c in checks}
    return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "ok"


def loose_mode(mode: int) -> bool:
    """Whether group or other may do anything with a file of this mode."""
    return bool(mode & 0o077)
