"""``aicenter dataset scan``: the JSON contract of issue 6, the table, bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import zstandard

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_scan_json_contract_on_zstd_jsonl(cli: Cli, tmp_path: Path) -> None:
    lines = [
        {"text": "기사 본문입니다. 문의 010-1234-5678"},
        {"text": "숫자만 2024-03-15 12,000원"},
        {"text": "주민번호 900101-1234568, 메일 kim@example.com"},
    ]
    raw = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()
    path = tmp_path / "news.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(raw))
    result = cli("dataset", "scan", str(path), "--format", "json", "--no-names")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert set(doc) == {"findings", "counts", "bytes", "seconds"}
    assert doc["findings"] == [
        {"type": "phone", "start": 13, "end": 26, "record": 0},
        {"type": "rrn", "start": 5, "end": 19, "record": 2},
        {"type": "email", "start": 24, "end": 39, "record": 2},
    ]
    assert doc["counts"] == {"email": 1, "phone": 1, "rrn": 1}
    assert doc["bytes"] == sum(len(x["text"].encode()) for x in lines)
    assert isinstance(doc["seconds"], float) and doc["seconds"] >= 0
    text = lines[0]["text"]
    assert text[13:26] == "010-1234-5678"


def test_scan_csv_column_with_names_and_table(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("id,body\n1,김철수 기자가 보도했다\n2,없음\n", encoding="utf-8")
    result = cli("dataset", "scan", str(path), "--field", "body", "--format", "json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["findings"] == [{"type": "person_name", "start": 0, "end": 3, "record": 0}]
    table = cli("dataset", "scan", str(path), "--field", "body")
    assert table.code == 0
    assert "person_name" in table.out and "김**" in table.out and "김철수" not in table.out


def test_scan_bad_input_is_one_line_exit_2(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok"}\n{"text": 3}\n')
    result = cli("dataset", "scan", str(path), "--format", "json", "--no-names")
    assert result.code == 2
    assert result.err == f"error: {path}:2: field 'text': must be a string, not int\n"
    missing = cli("dataset", "scan", str(tmp_path / "nope.txt"))
    assert missing.code == 2 and missing.err.startswith("error: ")


def test_scan_parquet_text_column(cli: Cli, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"body": ["없음", "카드 4111-1111-1111-1111"]}), path)
    result = cli("dataset", "scan", str(path), "--field", "body", "--format", "json", "--no-names")
    assert result.code == 0, result.err
    assert json.loads(result.out)["findings"] == [
        {"type": "card", "start": 3, "end": 22, "record": 1}
    ]
