from __future__ import annotations

import io
import json

from aicenter.exchange.pii import Scanner, default_registry
from aicenter.exchange.readers import Record
from aicenter.exchange.scan import scan_records


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
