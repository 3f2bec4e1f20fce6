"""``aicenter job``: submit a YAML job spec, list, show, follow logs, cancel."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Annotated

import typer

from aicenter.cli.client_factory import client, row, with_org_names
from aicenter.cli.output import TableFormat, Wide, print_record, print_rows
from aicenter.domain.errors import InputError
from aicenter.domain.job import parse_job_spec

app = typer.Typer(help="Jobs: submit, list, show, logs, cancel.", no_args_is_help=True)

Fmt = Annotated[TableFormat, typer.Option("--format", help="table or json")]
COLUMNS = ["id", "name", "status", "org", "pending_reason", "chip", "chip_count", "attempts",
           "hold_h100e_h", "submitted_at", "exit_code"]
ESSENTIAL = ["id", "name", "status", "chip", "chip_count"]


@app.command("submit")
def submit(
    file: Annotated[Path, typer.Argument(help="Job spec (YAML)")],
    grant_id: Annotated[str | None, typer.Option(help="Grant to charge (default: the "
                                                 "organisation's active one)")] = None,
    idempotency_key: Annotated[str | None, typer.Option(
        help="Retries with the same key never create a second job (default: random)")] = None,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Submit a job spec; it is checked here first so errors name the file and line."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=str(file)) from None
    parse_job_spec(text, str(file))  # errors with file and line before any request
    import yaml  # lazy: `job list` and the other commands start without it

    spec = yaml.safe_load(text)
    key = idempotency_key or str(uuid.uuid4())
    with client() as c:
        print_record(row(c.submit_job(spec, grant_id=grant_id, idempotency_key=key)), fmt)


@app.command("list")
def list_jobs(
    status: Annotated[str | None, typer.Option(help="queued, running, succeeded, ...")] = None,
    fmt: Fmt = TableFormat.TABLE,
    wide: Wide = False,
) -> None:
    """Jobs you may see."""
    with client() as c:
        rows = [row(j) for j in c.list_jobs(status=status)]
        if fmt is TableFormat.TABLE:
            with_org_names(c, rows)
    print_rows(rows, fmt, COLUMNS if fmt is TableFormat.TABLE else None, essential=ESSENTIAL,
               wide=wide)


@app.command("show")
def show(job_id: str, fmt: Fmt = TableFormat.TABLE) -> None:
    """One job."""
    with client() as c:
        print_record(row(c.get_job(job_id)), fmt)


@app.command("logs")
def logs(
    job_id: str,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Stream until the job ends")]
    = False,
) -> None:
    """Print the job's log (stdout and stderr)."""
    with client() as c:
        if follow:
            for text in c.follow_logs(job_id):
                sys.stdout.write(text)
                sys.stdout.flush()
        else:
            sys.stdout.write(c.job_logs(job_id).text)


@app.command("cancel")
def cancel(job_id: str, fmt: Fmt = TableFormat.TABLE) -> None:
    """Cancel a job (running jobs get SIGTERM, a grace period, then SIGKILL)."""
    with client() as c:
        print_record(row(c.cancel_job(job_id)), fmt)
