"""``aicenter dataset``: the licensed-data exchange: ``scan`` a file for Korean PII, ``ingest``
it into the center's dataset store, ``croissant export|validate`` dataset metadata.
(:mod:`aicenter.cli.dataset_exchange` adds the commands that go through the server.)"""

from __future__ import annotations

import datetime
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from aicenter.cli.output import TableFormat, print_json, print_record, print_rows, say
from aicenter.domain.errors import InputError
from aicenter.exchange.file_formats import RecordFormat, RecordReader
from aicenter.exchange.records import TextBatch

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
    # lazy (the three imports): the scanner loads when a scan runs; the remote `dataset`
    # commands share this app and start without it.
    from aicenter.exchange.pii import Finding, Scanner, default_registry
    from aicenter.exchange.report import PiiReport
    from aicenter.exchange.scan import scan_batches

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

    def on_batch(batch: TextBatch, found: list[list[Finding]]) -> None:
        report.add_batch(batch.texts, found)
        progress.update(task, completed=reader.bytes_read)

    started = time.perf_counter()
    with progress:
        task = progress.add_task("scan", total=reader.total_bytes)
        result = scan_batches(reader.text_batches(), scanner, on_batch)
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
        say(f"{title}: no personal information found")


@app.command("ingest")
def ingest_command(
    file: Annotated[
        Path, typer.Argument(help="text, JSONL, CSV (gzip or zstd allowed) or Parquet file")
    ],
    dataset: Annotated[str, typer.Option("--dataset", help="dataset name in the store")],
    provider: Annotated[str, typer.Option("--provider", help="the data provider's name")],
    field: Annotated[
        str, typer.Option("--field", help="the text field (JSONL) or column (CSV, Parquet)")
    ] = "text",
    input_format: Annotated[
        RecordFormat | None,
        typer.Option(
            "--input-format", help="text, jsonl, csv or parquet (default: from the file name)"
        ),
    ] = None,
    pii_action: Annotated[
        list[str] | None,
        typer.Option(
            "--pii-action",
            help="TYPE=drop|redact|pseudonymise|keep, repeatable (defaults: RRN and foreigner "
            "numbers drop the record, phones/e-mails/IPs/names are pseudonymised, the rest "
            "redacted; business and corporate numbers kept)",
        ),
    ] = None,
    tdm_covered: Annotated[
        list[str] | None,
        typer.Option(
            "--tdm-covered",
            help="publisher or TDMRep policy URL a licence covers, repeatable: its "
            "TDM-reserved records are ingested instead of excluded",
        ),
    ] = None,
    licence: Annotated[
        str, typer.Option("--licence", help="licence of the dataset (for its metadata)")
    ] = "",
    licence_old_spelling: Annotated[
        str, typer.Option("--license", hidden=True, help="the first spelling of --licence")
    ] = "",
    description: Annotated[str, typer.Option("--description", help="one line")] = "",
    names: Annotated[
        bool, typer.Option("--names/--no-names", help="also detect person names")
    ] = True,
    use_ray: Annotated[
        bool, typer.Option("--ray", help="prepare batches as Ray tasks (large corpora)")
    ] = False,
    batch_records: Annotated[
        int, typer.Option("--batch-records", min=1, help="records per batch and part")
    ] = 2000,
    restart: Annotated[
        bool, typer.Option("--restart", help="discard an unfinished ingest of this dataset")
    ] = False,
    fmt: Annotated[TableFormat, typer.Option("--format", help="table or json")] = (
        TableFormat.TABLE
    ),
) -> None:
    """Ingest FILE into the center's dataset store as a new version of DATASET.

    Streams the file in batches: TDM-reserved records not covered by a licence are excluded,
    PII is handled per type, near-duplicates of any stored record (any provider) are flagged
    and not stored, kept records are written as content-addressed Parquet parts. Killed or
    interrupted, the same command resumes from the last committed batch.
    """
    # lazy (the three imports): the ingest pipeline (Parquet, the scanner) loads when it runs
    from aicenter.exchange.ingest import IngestOptions, ingest, parse_actions
    from aicenter.exchange.ingest import Progress as IngestProgress
    from aicenter.exchange.store import default_store

    options = IngestOptions(
        path=file,
        dataset=dataset,
        provider=provider,
        field=field,
        input_format=input_format,
        actions=parse_actions(pii_action or []),
        tdm_covered=frozenset(tdm_covered or []),
        licence=licence or licence_old_spelling,
        description=description,
        names=names,
        batch_records=batch_records,
        use_ray=use_ray,
    )
    if not file.exists():
        raise InputError("no such file", file=str(file))
    err = Console(stderr=True)
    progress = Progress(
        TextColumn("ingesting"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[records]:,} records, {task.fields[parts]} parts"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )

    def on_progress(p: IngestProgress) -> None:
        progress.update(task, completed=p.bytes_read, records=p.records, parts=p.parts)

    with progress:
        task = progress.add_task("ingest", total=file.stat().st_size, records=0, parts=0)
        result = ingest(options, default_store(), on_progress, restart=restart)
    if fmt is TableFormat.JSON:
        print_json(result.as_json())
        return
    m = result.manifest
    summary = {
        "dataset": m.dataset,
        "version": m.version,
        "provider": m.provider,
        "parts": len(m.parts),
        **m.counts,
        **{f"stored {k}": v for k, v in m.stats.items()},
        "PII found": ", ".join(f"{t} {n}" for t, n in m.pii_report.get("counts", {}).items())
        or "none",
        "resumed from record": result.resumed_from,
        "manifest": str(result.manifest_path),
    }
    print_record(summary, fmt)


croissant_app = typer.Typer(help="Croissant (MLCommons) dataset metadata.", no_args_is_help=True)
app.add_typer(croissant_app, name="croissant")


@croissant_app.command("export")
def croissant_export(
    dataset: Annotated[str, typer.Argument(help="dataset name in the store")],
    version: Annotated[
        str | None, typer.Option("--version", help="version id (default: the latest)")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="where to write (default: STORE/croissant/DATASET.json)"),
    ] = None,
    publisher: Annotated[
        str | None,
        typer.Option("--publisher", help="the provider organisation's name, for creator and "
                     "publisher (default: the provider id the store knows)"),
    ] = None,
) -> None:
    """Write the Croissant JSON-LD of a stored dataset version (metadata only: content URLs
    point at the parts inside the center's store, relative to the written file)."""
    # lazy (both imports): Croissant and the store load when an export runs
    from aicenter.exchange.croissant import export_croissant, write_document
    from aicenter.exchange.store import default_store

    store = default_store()
    manifest = store.manifest(dataset, version)
    target = out or store.root / "croissant" / f"{dataset}.json"
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    write_document(export_croissant(store, manifest, target, published=today,
                                    publisher=publisher), target)
    typer.echo(str(target))


@croissant_app.command("validate")
def croissant_validate(
    file: Annotated[Path, typer.Argument(help="Croissant JSON-LD file")],
    base: Annotated[
        Path | None,
        typer.Option("--base", help="folder content URLs are relative to (default: FILE's)"),
    ] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", help="table or json")] = (
        TableFormat.TABLE
    ),
) -> None:
    """Check FILE with mlcroissant and with our stricter profile (name, licence, and a correct
    sha256 for every file). Exit code 0 when valid, 2 when not."""
    from aicenter.exchange.croissant import validate  # lazy: mlcroissant, when validating

    problems = validate(file, base)
    if fmt is TableFormat.JSON:
        print_json(
            {
                "file": str(file),
                "valid": not problems,
                "problems": [{"checker": p.checker, "message": p.message} for p in problems],
            }
        )
    elif problems:
        print_rows(
            [{"checker": p.checker, "problem": p.message} for p in problems],
            fmt,
            title=f"{file}: {len(problems)} problem(s)",
        )
    else:
        say(f"{file}: valid Croissant, strict profile satisfied")
    if problems:
        sys.stderr.write(f"error: {file}: {problems[0].checker}: {problems[0].message}\n")
        raise typer.Exit(2)
