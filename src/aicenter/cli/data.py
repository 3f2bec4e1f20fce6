"""``aicenter data``: the licensed-data exchange. For now: ``scan`` a file for Korean PII."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from aicenter.cli.output import TableFormat, console, print_rows
from aicenter.exchange.pii import Finding, Scanner, default_registry
from aicenter.exchange.readers import Record, RecordFormat, RecordReader
from aicenter.exchange.report import PiiReport
from aicenter.exchange.scan import scan_records

app = typer.Typer(help="The licensed-data exchange: datasets, PII, licences.", no_args_is_help=True)


@app.command("scan")
def scan(
    file: Annotated[
        Path, typer.Argument(help="text, JSONL, CSV (gzip or zstd allowed) or Parquet file")
    ],
    fmt: Annotated[TableFormat, typer.Option("--format", help="table or json")] = (
        TableFormat.TABLE
    ),
    field: Annotated[
        str, typer.Option("--field", help="the text field (JSONL) or column (CSV)")
    ] = "text",
    input_format: Annotated[
        RecordFormat | None,
        typer.Option(
            "--input-format", help="text, jsonl, csv or parquet (default: from the file name)"
        ),
    ] = None,
    names: Annotated[
        bool, typer.Option("--names/--no-names", help="also detect person names")
    ] = True,
    thorough_names: Annotated[
        bool,
        typer.Option(
            "--thorough-names",
            help="find names without context words too (kiwipiepy; about 1000× slower)",
        ),
    ] = False,
) -> None:
    """Find personal information in FILE, record by record (a line, a JSONL object, a row).

    JSON output: {"findings": [{"type", "start", "end", "record"}], "counts": {type: n},
    "bytes": n, "seconds": s}; start/end are character offsets in the record's text, record is
    the 0-based record index, bytes the UTF-8 size of the text scanned.
    """
    reader = RecordReader(file, input_format, field)
    scanner = Scanner(default_registry(names=names, thorough_names=thorough_names))
    report = PiiReport()
    progress = Progress(
        TextColumn("scanning"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not Console(stderr=True).is_terminal,
    )

    def on_record(record: Record, found: list[Finding]) -> None:
        report.add(record.text, found)
        if record.index % 256 == 0:
            progress.update(task, completed=reader.bytes_read)

    started = time.perf_counter()
    with progress:
        task = progress.add_task("scan", total=reader.total_bytes)
        result = scan_records(reader, scanner, on_record)
    seconds = round(time.perf_counter() - started, 6)
    if fmt is TableFormat.JSON:
        result.write_json(sys.stdout, seconds)
        return
    rows = [
        {"type": t, "count": n, "sample (masked)": (report.samples.get(t) or [""])[0]}
        for t, n in sorted(result.counts.items(), key=lambda kv: -kv[1])
    ]
    title = (
        f"{file.name}: {result.records:,} records, {result.bytes:,} bytes, "
        f"{report.records_with_pii:,} with PII, {seconds:.2f} s"
    )
    if rows:
        print_rows(rows, fmt, title=title)
    else:
        console().print(f"{title}: no personal information found")
