"""A version of the center's Cedar policies, as an operator set it (``aicenter policy set``).

Version 0 is the packaged ``policies.cedar`` (never stored); every version an operator sets is
stored whole, with the sha256 of its UTF-8 text, who set it and when, so any decision in the
log can be traced to the exact text that made it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One policy text in force from ``set_at`` (until the next version)."""

    version: int
    text: str
    sha256: str
    set_at: datetime | None
    set_by: str | None
    """The operator's person id; None for the packaged policies (version 0)."""
