from __future__ import annotations

import io
import json
from pathlib import Path

from aicenter.exchange.file_formats import RecordReader
from aicenter.exchange.pii import STRUCTURED_TYPES, Scanner, default_registry
from aicenter.exchange.records import Record
from aicenter.exchange.report import PiiReport
from aicenter.exchange.scan import scan_batches, scan_records


def test_streamed_json_equals_document_and_findings_are_packed() -> None:
    records = [
        Record(0, 1, "연락처 010-1234-5678, 메일 kim@example.com"),
        Record(1, 2, "없음"),
        Record(2, 3, "카드 4111-1111-1111-1111"),
    ]
    seen: list[int] = []
    result = scan_records(records, Scanner(default_registry()), lambda r, f: seen.append(len(f)))
    assert seen == [2, 0, 1]
    assert len(result.packed) == 3 * 4
    assert result.records == 3 and result.bytes == sum(len(r.text.encode()) for r in records)
    out = io.StringIO()
    result.write_json(out, 0.5)
    assert json.loads(out.getvalue()) == result.as_json(0.5)
    assert [f.as_json()["type"] for f in result.findings] == ["phone", "email", "card"]
    empty = scan_records([], Scanner(default_registry()))
    out = io.StringIO()
    empty.write_json(out, 0.0)
    assert json.loads(out.getvalue()) == {"findings": [], "counts": {}, "bytes": 0, "seconds": 0.0}


def test_scan_batches_equals_scan_records_and_reports_the_same(tmp_path: Path) -> None:
    from aicenter.exchange.synthetic import labelled_records

    texts = [r.text for r in labelled_records(41, 300, STRUCTURED_TYPES)] + ["", "없음"] * 50
    path = tmp_path / "records.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    scanner = Scanner(default_registry())
    by_record, report_a = [], PiiReport()
    expected = scan_records(
        RecordReader(path), scanner, lambda r, f: (report_a.add(r.text, f), by_record.append(f))
    )
    report_b = PiiReport()
    got = scan_batches(
        RecordReader(path).text_batches(max_records=64),
        scanner,
        lambda batch, found: report_b.add_batch(batch.texts, found),
    )
    assert got.packed == expected.packed and got.counts == expected.counts
    assert (got.records, got.bytes) == (expected.records, expected.bytes) == (400, got.bytes)
    assert report_b.as_json() == report_a.as_json()
    assert sum(map(len, by_record)) == len(got.packed) // 4 > 300
