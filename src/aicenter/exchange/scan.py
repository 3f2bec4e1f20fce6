"""Scanning a stream of records for PII: the findings, counts per type, bytes scanned.

Pure: records come in, a :class:`ScanResult` goes out. The caller times it (the core never
reads the clock).
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, compress
from operator import itemgetter
from typing import Any, TextIO

from aicenter.exchange.pii.base import Finding, PiiType
from aicenter.exchange.pii.scanner import Scanner
from aicenter.exchange.records import Record, TextBatch


@dataclass(frozen=True, slots=True)
class RecordFinding:
    """A finding located in a record (``start``/``end`` are character offsets in its text)."""

    record: int
    finding: Finding

    def as_json(self) -> dict[str, Any]:
        f = self.finding
        return {"type": f.pii_type.value, "start": f.start, "end": f.end, "record": self.record}


_TYPES = list(PiiType)
_TYPE_INDEX = {t: i for i, t in enumerate(_TYPES)}


@dataclass(slots=True)
class ScanResult:
    """What a scan found: every finding, counts per type, records and UTF-8 bytes scanned.

    Findings are packed four 64-bit integers each (record, start, end, type) — 32 bytes a
    finding instead of a few hundred for objects — so a scan with millions of findings fits.
    """

    packed: array[int] = field(default_factory=lambda: array("q"))
    counts: Counter[PiiType] = field(default_factory=Counter)
    records: int = 0
    bytes: int = 0

    def add(self, record: int, finding: Finding) -> None:
        self.packed.extend((record, finding.start, finding.end, _TYPE_INDEX[finding.pii_type]))
        self.counts[finding.pii_type] += 1

    def add_batch(self, first: int, found: Sequence[list[Finding]]) -> None:
        """The findings of records ``first``, ``first + 1``, ...; Python work only for the
        records that have some."""
        index = _TYPE_INDEX
        self.packed.extend(
            [
                value
                for i in compress(range(len(found)), found)
                for start, end, pii_type, _score in found[i]
                for value in (first + i, start, end, index[pii_type])
            ]
        )
        self.counts.update(map(itemgetter(2), chain.from_iterable(found)))

    @property
    def findings(self) -> Iterator[RecordFinding]:
        p = self.packed
        for i in range(0, len(p), 4):
            yield RecordFinding(p[i], Finding(p[i + 1], p[i + 2], _TYPES[p[i + 3]], 0.0))

    def as_json(self, seconds: float) -> dict[str, Any]:
        """The ``aicenter dataset scan --format json`` document."""
        return {
            "findings": [f.as_json() for f in self.findings],
            "counts": {t.value: n for t, n in sorted(self.counts.items())},
            "bytes": self.bytes,
            "seconds": seconds,
        }

    def write_json(self, out: TextIO, seconds: float) -> None:
        """The same document as :meth:`as_json`, written a finding at a time."""
        out.write('{\n  "findings": [')
        p, names = self.packed, [t.value for t in _TYPES]  # plain words: nothing to escape
        for i in range(0, len(p), 4):
            out.write(",\n    " if i else "\n    ")
            out.write(
                f'{{"type": "{names[p[i + 3]]}", "start": {p[i + 1]}, "end": {p[i + 2]}, '
                f'"record": {p[i]}}}'
            )
        tail = {
            "counts": {t.value: n for t, n in sorted(self.counts.items())},
            "bytes": self.bytes,
            "seconds": seconds,
        }
        out.write("\n  ],\n" if self.packed else "],\n")
        out.write(json.dumps(tail, indent=2, ensure_ascii=False)[2:] + "\n")


BATCH_RECORDS = 1024
BATCH_CHARS = 1 << 20


def scan_records(
    records: Iterable[Record],
    scanner: Scanner,
    on_record: Callable[[Record, list[Finding]], None] | None = None,
) -> ScanResult:
    """Scan every record; ``on_record`` (optional) sees each record with its findings, in
    order. Records are scanned in batches (up to 1024 records or 2²⁰ characters), one
    :meth:`Scanner.scan_many` call each, so the scanner's cost is per batch, not per record."""
    result = ScanResult()
    batch: list[Record] = []
    chars = 0
    for record in records:
        batch.append(record)
        chars += len(record.text)
        if len(batch) >= BATCH_RECORDS or chars >= BATCH_CHARS:
            _scan_batch(batch, scanner, result, on_record)
            batch, chars = [], 0
    if batch:
        _scan_batch(batch, scanner, result, on_record)
    return result


def scan_batches(
    batches: Iterable[TextBatch],
    scanner: Scanner,
    on_batch: Callable[[TextBatch, list[list[Finding]]], None] | None = None,
) -> ScanResult:
    """Scan batches of texts (:meth:`RecordReader.text_batches`): as :func:`scan_records`,
    without a Python object or call per record — what ``aicenter dataset scan`` runs."""
    result = ScanResult()
    for batch in batches:
        found = scanner.scan_many(batch.texts)
        result.records += len(batch.texts)
        result.bytes += batch.utf8_bytes
        result.add_batch(batch.first, found)
        if on_batch is not None:
            on_batch(batch, found)
    return result


def _scan_batch(
    batch: list[Record],
    scanner: Scanner,
    result: ScanResult,
    on_record: Callable[[Record, list[Finding]], None] | None,
) -> None:
    found = scanner.scan_many([r.text for r in batch])
    result.records += len(batch)
    result.bytes += sum(len(r.text.encode("utf-8")) for r in batch)
    for record, findings in zip(batch, found, strict=True):
        for f in findings:
            result.add(record.index, f)
        if on_record is not None:
            on_record(record, findings)
