"""The input file formats of ingest and scan, read as streams of records: plain text (a record
a line), JSONL (a text field), CSV (a text column), each optionally gzip- or zstd-compressed
(recognised by magic bytes, not by name), and Parquet (a string column, read a batch of rows
at a time). The records themselves are :mod:`aicenter.exchange.records` (pure values).

Memory stays bounded by the longest record (or one Parquet batch): files are read line by line
through a decoding stream. Bad input raises :class:`InputError` naming the file, the line (for
Parquet: the row, 1-based) and the field.

Hostile files are bounded too (a 254 KiB gzip of one 250 MB line once took a server to 12 GB):
a record or line longer than ``max_record_chars`` (:data:`MAX_RECORD_CHARS`) is refused on the
line where it passes the limit, before the rest of it is decompressed, and a compressed file
that expands more than :data:`MAX_EXPANSION` times (after its first :data:`FREE_EXPANSION_BYTES`)
is refused as a compression bomb.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from enum import StrEnum
from itertools import accumulate, islice
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, BinaryIO

import zstandard

from aicenter.domain.errors import InputError
from aicenter.exchange.records import Record, TextBatch

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_COMPRESSED_SUFFIXES = (".gz", ".gzip", ".zst", ".zstd")
MAX_RECORD_CHARS = 16 << 20
"""Longest record (line, CSV field, Parquet value) a reader accepts, in characters."""
MAX_EXPANSION = 200
"""Most a compressed file may expand, decompressed bytes per compressed byte read (text
compresses 3-10 times; long runs of one byte, a thousand)."""
FREE_EXPANSION_BYTES = 64 << 20
"""Decompressed bytes allowed whatever the ratio (small, repetitive files are fine)."""


class _ExpansionGuard(io.RawIOBase):
    """A decompressing stream that counts what it yields and refuses to expand more than
    ``max_ratio`` times the compressed bytes read from ``raw`` (after ``free_bytes``)."""

    def __init__(self, inner: Any, raw: BinaryIO, path: Path, max_ratio: float,
                 free_bytes: int) -> None:
        super().__init__()
        self._inner, self._raw, self._path = inner, raw, path
        self._max_ratio, self._free = max_ratio, free_bytes
        self.out = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n: int = self._inner.readinto(buffer)
        self.out += n
        if self.out > self._free and self.out > self._max_ratio * max(1, self._raw.tell()):
            raise InputError(
                f"decompresses to more than {self._max_ratio:g} times its compressed size "
                f"({self.out} bytes from {self._raw.tell()}): refused as a compression bomb",
                file=str(self._path))
        return n

    def close(self) -> None:
        self._inner.close()
        super().close()


class RecordFormat(StrEnum):
    """How a file is split into records."""

    TEXT = "text"
    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


_NO_FIELDS: Mapping[str, Any] = MappingProxyType({})


# Line ends as io.TextIOWrapper(newline="") sees them: "\r\n", "\r" or "\n".
_LINE_END = re.compile("\r\n|\r|\n")
_CHUNK_CHARS = 1 << 20


def _batched(chunks: Iterable[list[str]], max_records: int, max_chars: int) -> Iterator[list[str]]:
    """Lines regrouped into batches that close, as :func:`aicenter.exchange.scan.scan_records`
    closes them, on the line that brings them to ``max_records`` lines or ``max_chars``
    characters; where each chunk's lines are cut is found by bisection on their running
    character counts, not line by line."""
    pending: list[str] = []
    pending_chars = 0
    for lines in chunks:
        running = list(accumulate(map(len, lines)))
        i = done = 0  # lines[:i] taken; `done` characters in them
        while i < len(lines):
            reach = bisect_left(running, max_chars - pending_chars + done, i) + 1
            j = min(reach, i + max_records - len(pending), len(lines))
            pending += lines[i:j]
            pending_chars += running[j - 1] - done
            done, i = running[j - 1], j
            if len(pending) >= max_records or pending_chars >= max_chars:
                yield pending
                pending, pending_chars = [], 0
    if pending:
        yield pending


def _text_batches(
    chunks: Iterable[list[str]], max_records: int, max_chars: int
) -> Iterator[TextBatch]:
    """Chunks of consecutive records' texts, from record 0, as :class:`TextBatch` es."""
    first = 0
    for texts in _batched(chunks, max_records, max_chars):
        yield TextBatch(first, texts, sum(map(len, map(str.encode, texts))))
        first += len(texts)


def format_of(path: Path) -> RecordFormat:
    """The record format a file name implies (``x.jsonl.zst`` → JSONL); text otherwise."""
    name = path.name.lower()
    for suffix in _COMPRESSED_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return RecordFormat.JSONL
    if name.endswith((".csv", ".tsv")):
        return RecordFormat.CSV
    if name.endswith((".parquet", ".pq")):
        return RecordFormat.PARQUET
    return RecordFormat.TEXT


class RecordReader:
    """Iterates the records of one file; ``bytes_read`` tracks progress in the raw file."""

    def __init__(
        self,
        path: Path,
        fmt: RecordFormat | None = None,
        field: str = "text",
        keep_fields: bool = False,
        max_record_chars: int = MAX_RECORD_CHARS,
        max_expansion: float = MAX_EXPANSION,
    ) -> None:
        self.path = path
        self.format = fmt or format_of(path)
        self.field = field
        self.keep_fields = keep_fields
        self.max_record_chars = max_record_chars
        self.max_expansion = max_expansion
        try:
            self.total_bytes = path.stat().st_size
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror}", file=str(path)) from exc
        self._raw: BinaryIO | None = None
        self._parquet_fraction: float | None = None

    @property
    def bytes_read(self) -> int:
        """Bytes of the (possibly compressed) file consumed so far."""
        if self._parquet_fraction is not None:
            return int(self.total_bytes * self._parquet_fraction)
        raw = self._raw
        if raw is None or raw.closed:
            return self.total_bytes if raw is not None else 0
        return raw.tell()

    def _open_text(self) -> IO[str]:
        raw = self.path.open("rb")
        self._raw = raw
        magic = raw.read(4)
        raw.seek(0)
        binary: Any  # GzipFile, a zstd reader or the raw file: all readable binary streams
        if magic.startswith(_GZIP_MAGIC):
            binary = gzip.GzipFile(fileobj=raw, mode="rb")
        elif magic.startswith(_ZSTD_MAGIC):
            binary = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        else:
            binary = raw
        if binary is not raw:
            guard = _ExpansionGuard(binary, raw, self.path, self.max_expansion,
                                    FREE_EXPANSION_BYTES)
            binary = io.BufferedReader(guard, buffer_size=1 << 16)
        return io.TextIOWrapper(
            binary,
            encoding="utf-8",
            errors="strict",
            newline="",
        )

    def __iter__(self) -> Iterator[Record]:
        if self.format is RecordFormat.PARQUET:
            yield from self._parquet()
            return
        with self._text_stream() as stream:
            if self.format is RecordFormat.CSV:
                yield from self._csv(stream)
            elif self.format is RecordFormat.JSONL:
                yield from self._jsonl(stream)
            else:
                yield from self._text(stream)

    @contextmanager
    def _text_stream(self) -> Iterator[IO[str]]:
        """The file's decoded text; a decoding or decompression error met while it is read
        becomes an :class:`InputError` naming the file."""
        stream = self._open_text()
        try:
            yield stream
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text ({exc.reason})", file=str(self.path)) from exc
        except (OSError, EOFError, zstandard.ZstdError) as exc:
            raise InputError(f"cannot decompress or read: {exc}", file=str(self.path)) from exc
        finally:
            stream.close()

    def text_batches(
        self, max_records: int = 1024, max_chars: int = 1 << 20, chunk_chars: int = _CHUNK_CHARS
    ) -> Iterator[TextBatch]:
        """The records' texts in batches of up to ``max_records`` records or about
        ``max_chars`` characters: the same texts as iterating the reader, without a
        :class:`Record` each. Plain text is read a megabyte at a time and split into lines in
        C, so the cost per record is a few list operations, not a Python object."""
        if self.format is not RecordFormat.TEXT:
            texts = (record.text for record in self)
            chunks = iter(lambda: list(islice(texts, max_records)), [])
            yield from _text_batches(chunks, max_records, max_chars)
            return
        with self._text_stream() as stream:
            lines = self._line_chunks(stream, chunk_chars)
            yield from _text_batches(lines, max_records, max_chars)

    def _line_chunks(self, stream: IO[str], chunk_chars: int) -> Iterator[list[str]]:
        """The lines of ``stream`` without their ends, about 1 MB of text at a time. A chunk
        is cut after its last line end; what follows is carried into the next chunk, and so is
        a final "\\r", which may be the first half of a "\\r\\n". A line longer than the
        record limit is refused before more of it is read."""
        limit = self.max_record_chars
        carry = ""
        done = 0  # lines yielded so far
        while chunk := stream.read(chunk_chars):
            text = carry + chunk
            end = len(text) - 1 if text.endswith("\r") else len(text)
            cut = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end))
            if cut < 0:
                if len(text) > limit + 1:
                    raise self._too_long(done + 1)
                carry = text
                continue
            body, carry = text[: cut + 1], text[cut + 1 :]
            lines = _LINE_END.split(body) if "\r" in body else body.split("\n")
            lines.pop()  # the empty piece after the last line end
            # Only the first line can hold carried text; the others fit in one chunk.
            if len(lines[0]) > limit or (chunk_chars > limit and max(map(len, lines)) > limit):
                raise self._too_long(done + 1 + next(
                    i for i, line in enumerate(lines) if len(line) > limit))
            if len(carry) > limit + 1:
                raise self._too_long(done + len(lines) + 1)
            done += len(lines)
            yield lines
        if carry:  # the last line has no line end, or a lone "\r"
            last = carry[:-1] if carry.endswith("\r") else carry
            if len(last) > limit:
                raise self._too_long(done + 1)
            yield [last]

    def _too_long(self, line: int) -> InputError:
        return InputError(f"a line or record longer than {self.max_record_chars} characters",
                          file=str(self.path), line=line)

    def _lines(self, stream: IO[str]) -> Iterator[str]:
        """The lines of ``stream`` with their ends, none read beyond the record limit (a line
        without an end is not accumulated in memory past it)."""
        limit = self.max_record_chars
        number = 0
        while line := stream.readline(limit + 2):  # room for the limit and a "\r\n"
            number += 1
            if len(line) > limit and len(line.rstrip("\r\n")) > limit:
                raise self._too_long(number)
            yield line

    def _text(self, stream: IO[str]) -> Iterator[Record]:
        for number, line in enumerate(self._lines(stream), start=1):
            yield Record(number - 1, number, line.rstrip("\r\n"), _NO_FIELDS)

    def _jsonl(self, stream: IO[str]) -> Iterator[Record]:
        index = 0
        for number, line in enumerate(self._lines(stream), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"not JSON: {exc.msg}", file=str(self.path), line=number) from exc
            if not isinstance(value, dict) or self.field not in value:
                raise InputError(
                    "missing in this JSON line", file=str(self.path), line=number, field=self.field
                )
            text = value[self.field]
            if not isinstance(text, str):
                raise InputError(
                    f"must be a string, not {type(text).__name__}",
                    file=str(self.path),
                    line=number,
                    field=self.field,
                )
            yield Record(index, number, text, value if self.keep_fields else _NO_FIELDS)
            index += 1

    def _csv(self, stream: IO[str]) -> Iterator[Record]:
        # The csv module's limit is global to the process (other readers, the catalog):
        # only ever raised, to the largest record any reader allows; this reader's own bound
        # is enforced on its lines and its records' text.
        csv.field_size_limit(max(csv.field_size_limit(), min(sys.maxsize, MAX_RECORD_CHARS)))
        delimiter = "\t" if ".tsv" in self.path.name.lower() else ","
        reader = csv.DictReader(self._lines(stream), delimiter=delimiter)
        try:
            yield from self._csv_rows(reader)
        except csv.Error as exc:
            raise InputError(f"not CSV: {exc}", file=str(self.path),
                             line=reader.line_num) from exc

    def _csv_rows(self, reader: csv.DictReader[str]) -> Iterator[Record]:
        if reader.fieldnames is None or self.field not in reader.fieldnames:
            raise InputError(
                f"no such column (columns: {', '.join(reader.fieldnames or [])})",
                file=str(self.path),
                line=1,
                field=self.field,
            )
        for index, row in enumerate(reader):
            text = row.get(self.field)
            if text is None:
                raise InputError(
                    "row has too few columns",
                    file=str(self.path),
                    line=reader.line_num,
                    field=self.field,
                )
            yield Record(index, reader.line_num, text, row if self.keep_fields else _NO_FIELDS)

    def _parquet(self, batch_rows: int = 4096) -> Iterator[Record]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(self.path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"not a Parquet file: {exc}", file=str(self.path)) from exc
        schema = parquet.schema_arrow
        if self.field not in schema.names:
            raise InputError(
                f"no such column (columns: {', '.join(schema.names)})",
                file=str(self.path),
                field=self.field,
            )
        column_type = schema.field(self.field).type
        if not (pa.types.is_string(column_type) or pa.types.is_large_string(column_type)):
            raise InputError(
                f"must be a string column, not {column_type}", file=str(self.path), field=self.field
            )
        total_rows = max(1, int(parquet.metadata.num_rows))
        index = 0
        self._parquet_fraction = 0.0
        columns = None if self.keep_fields else [self.field]
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
            rows = batch.to_pylist() if self.keep_fields else None
            for position, value in enumerate(batch.column(self.field).to_pylist()):
                text = "" if value is None else str(value)
                if len(text) > self.max_record_chars:
                    raise self._too_long(index + 1)
                yield Record(index, index + 1, text, rows[position] if rows else _NO_FIELDS)
                index += 1
            self._parquet_fraction = index / total_rows
