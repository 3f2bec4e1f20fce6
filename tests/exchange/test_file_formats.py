from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest
import zstandard

from aicenter.domain.errors import InputError
from aicenter.exchange.file_formats import RecordFormat, RecordReader, format_of


def test_format_from_name() -> None:
    assert format_of(Path("a.jsonl.zst")) is RecordFormat.JSONL
    assert format_of(Path("a.CSV.gz")) is RecordFormat.CSV
    assert format_of(Path("a.txt")) is RecordFormat.TEXT


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_text_lines_with_any_compression(tmp_path: Path, compression: str) -> None:
    data = "첫째 줄\r\n둘째 줄\n\n넷째\n".encode()
    path = tmp_path / "x.txt"
    if compression == "gzip":
        data = gzip.compress(data)
    elif compression == "zstd":
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    reader = RecordReader(path)
    records = list(reader)
    assert [r.text for r in records] == ["첫째 줄", "둘째 줄", "", "넷째"]
    assert [r.index for r in records] == [0, 1, 2, 3]
    assert reader.bytes_read == reader.total_bytes == len(data)


def test_jsonl_field_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"text": "가"}) + "\n\n" + json.dumps({"body": "나"}) + "\n")
    reader = RecordReader(path, field="text")
    with pytest.raises(InputError) as err:
        list(reader)
    assert str(err.value) == f"{path}:3: field 'text': missing in this JSON line"
    path.write_text('{"text": 1}\n')
    with pytest.raises(InputError, match="must be a string"):
        list(RecordReader(path))
    path.write_text("{not json\n")
    with pytest.raises(InputError, match=r":1: not JSON"):
        list(RecordReader(path))
    path.write_text('{"body": "본문"}\n')
    assert [r.text for r in RecordReader(path, field="body")] == ["본문"]


def test_csv_column_with_multiline_cells(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('id,text\n1,"여러\n줄"\n2,한 줄\n', encoding="utf-8")
    records = list(RecordReader(path))
    assert [r.text for r in records] == ["여러\n줄", "한 줄"]
    with pytest.raises(InputError, match="no such column"):
        list(RecordReader(path, field="body"))


def test_bad_utf8_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(b"ok\n\xff\xfe\n")
    with pytest.raises(InputError, match="not UTF-8"):
        list(RecordReader(path))
    with pytest.raises(InputError, match="not UTF-8"):
        list(RecordReader(path).text_batches())
    with pytest.raises(InputError, match="cannot read"):
        RecordReader(tmp_path / "missing.txt")
    broken = tmp_path / "x.txt.gz"
    broken.write_bytes(gzip.compress(b"hello\n" * 100)[:30])
    with pytest.raises(InputError, match="cannot decompress"):
        list(RecordReader(broken))
    with pytest.raises(InputError, match="cannot decompress"):
        list(RecordReader(broken).text_batches())


def test_streaming_keeps_memory_bounded(tmp_path: Path) -> None:
    import tracemalloc

    line = ("기사 본문 " * 40 + "\n").encode()
    path = tmp_path / "big.txt.zst"
    compressor = zstandard.ZstdCompressor()
    with path.open("wb") as raw, compressor.stream_writer(raw) as out:
        for _ in range(40_000):  # about 17 MB of text
            out.write(line)
    tracemalloc.start()
    count = sum(1 for _ in RecordReader(path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 40_000
    assert peak < 4_000_000


def test_parquet_string_column_in_batches(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "rows.parquet"
    table = pa.table({"id": list(range(10_000)), "text": [f"기사 {i}" for i in range(10_000)]})
    pq.write_table(table, path, row_group_size=1000)
    reader = RecordReader(path)
    assert reader.format is RecordFormat.PARQUET
    records = list(reader)
    assert len(records) == 10_000 and records[9_999].text == "기사 9999"
    assert records[5].index == 5 and records[5].line == 6
    assert reader.bytes_read == reader.total_bytes
    with pytest.raises(InputError, match="no such column"):
        list(RecordReader(path, field="body"))
    with pytest.raises(InputError, match="must be a string column"):
        list(RecordReader(path, field="id"))
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(InputError, match="not a Parquet file"):
        list(RecordReader(bad))


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_text_batches_hold_the_records_texts_whatever_the_line_ends(
    tmp_path: Path, compression: str
) -> None:
    """Line ends split across read chunks ("\\r" | "\\n"), lone "\\r", blank lines, no final
    line end: the batches hold exactly the texts that iterating the reader gives."""
    rng = random.Random(3)
    pieces = ["가", "a", " ", "\n", "\r", "\r\n", "\n\n", "한국어 문장", "0"]
    for case in range(200):
        text = "".join(rng.choices(pieces, k=rng.randint(0, 60)))
        data = gzip.compress(text.encode()) if compression == "gzip" else text.encode()
        path = tmp_path / f"{case}.txt"
        path.write_bytes(data)
        reader = RecordReader(path)
        expected = [r.text for r in reader]
        batches = list(reader.text_batches(max_records=4, max_chars=10, chunk_chars=5))
        assert [t for b in batches for t in b.texts] == expected, repr(text)
        assert [len(b.texts) for b in batches] == _sizes(expected, 4, 10)
        assert [b.first for b in batches] == [
            sum(map(len, (x.texts for x in batches[:k]))) for k in range(len(batches))
        ]
        assert all(b.utf8_bytes == len("".join(b.texts).encode()) for b in batches)


def _sizes(texts: list[str], max_records: int, max_chars: int) -> list[int]:
    """Batch sizes by scan_records' rule: a batch closes on the record that fills it."""
    sizes, count, chars = [], 0, 0
    for text in texts:
        count, chars = count + 1, chars + len(text)
        if count >= max_records or chars >= max_chars:
            sizes.append(count)
            count = chars = 0
    return sizes + ([count] if count else [])


def test_text_batches_of_other_formats_group_the_records(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    rows = [{"text": f"기록 {i}"} for i in range(10)]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    batches = list(RecordReader(path).text_batches(max_records=4))
    assert [len(b.texts) for b in batches] == [4, 4, 2]
    assert [b.first for b in batches] == [0, 4, 8]
    assert [t for b in batches for t in b.texts] == [r["text"] for r in rows]
