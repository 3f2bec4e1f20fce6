"""Scanning a stream of records for PII: the findings, counts per type, bytes scanned.

Pure: records come in, a :class:`ScanResult` goes out. The caller times it (the core never
reads the clock).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aicenter.exchange.pii.base import Finding, PiiType
from aicenter.exchange.pii.scanner import Scanner
from aicenter.exchange.readers import Record


@dataclass(frozen=True, slots=True)
class RecordFinding:
    """A finding located in a record (``start``/``end`` are character offsets in its text)."""

    record: int
    finding: Finding

    def as_json(self) -> dict[str, Any]:
        f = self.finding
        return {"type": f.pii_type.value, "start": f.start, "end": f.end, "record": self.record}


@dataclass(slots=True)
class ScanResult:
    """What a scan found: every finding, counts per type, records and UTF-8 bytes scanned."""

    findings: list[RecordFinding] = field(default_factory=list)
    counts: Counter[PiiType] = field(default_factory=Counter)
    records: int = 0
    bytes: int = 0

    def as_json(self, seconds: float) -> dict[str, Any]:
        """The ``aicenter data scan --format json`` document."""
        return {
            "findings": [f.as_json() for f in self.findings],
            "counts": {t.value: n for t, n in sorted(self.counts.items())},
            "bytes": self.bytes,
            "seconds": seconds,
        }


def scan_records(
    records: Iterable[Record],
    scanner: Scanner,
    on_record: Callable[[Record, list[Finding]], None] | None = None,
) -> ScanResult:
    """Scan every record; ``on_record`` (optional) sees each record with its findings."""
    result = ScanResult()
    for record in records:
        found = scanner.scan(record.text)
        result.records += 1
        result.bytes += len(record.text.encode("utf-8"))
        for f in found:
            result.findings.append(RecordFinding(record.index, f))
            result.counts[f.pii_type] += 1
        if on_record is not None:
            on_record(record, found)
    return result
