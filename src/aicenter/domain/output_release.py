"""An output release: the center's verdict on what a job that read licensed data may take out
(its log and declared outputs), decided once when the job ends and kept per job.

A domain noun rather than a storage row because the service decides it, the API shows it to
the providers' reviewers and the repository only stores it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

RELEASED, REDACTED, WITHHELD = "released", "redacted", "withheld"
"""The verdicts: everything released, licensed spans redacted, or all held back for review."""


@dataclass(frozen=True, slots=True)
class OutputRelease:
    """``verdict`` is one of :data:`RELEASED`, :data:`REDACTED` or :data:`WITHHELD`;
    ``findings`` name the file (``log`` or a declared output), the span and the datasets
    reproduced."""

    job_id: str
    verdict: str
    policy: str
    reason: str
    datasets: tuple[str, ...]
    provider_org_ids: tuple[str, ...]
    findings: tuple[dict[str, Any], ...]
    checked_bytes: int
    decided_at: datetime
