"""An upload: a provider's file waiting for (or going through) the background ingest that makes
it a dataset version."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class UploadStatus(StrEnum):
    QUEUED = "queued"
    INGESTING = "ingesting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (UploadStatus.SUCCEEDED, UploadStatus.FAILED)


@dataclass(frozen=True, slots=True)
class Upload:
    """One upload: what the provider asked for, where the bytes wait, how the ingest went."""

    id: str
    dataset_id: str
    provider_org_id: str
    person_id: str
    source_path: str
    status: UploadStatus
    created_at: datetime
    request: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    version: str | None = None
    finished_at: datetime | None = None
