"""A dataset of the exchange as the center records it (metadata only: the records stay in the
content-addressed store), and what jobs read of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Usage:
    """Totals of metered reads: records, UTF-8 bytes of their texts, estimated tokens."""

    records: int = 0
    bytes: int = 0
    tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.records + other.records, self.bytes + other.bytes,
                     self.tokens + other.tokens)


@dataclass(frozen=True, slots=True)
class Dataset:
    """A stored dataset version: who provides it, where its manifest is, what ingest found."""

    id: str
    name: str
    provider_org_id: str
    version: str
    manifest_sha256: str
    manifest_path: str
    domestic: bool
    licence_text: str
    description: str
    created_at: datetime
    croissant: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    pii_report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DatasetRead:
    """Metered totals of one job reading one dataset."""

    job_id: str
    dataset_id: str
    org_id: str
    agreement_id: str
    usage: Usage
    updated_at: datetime
