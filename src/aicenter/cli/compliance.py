"""``aicenter compliance``: the compliance reports — who read each dataset where, residency
exceptions, PII actions at ingest, compute by chip and country — each from the database with
the verdict of its rebuild from the audit log alone.

``--format json`` prints the whole report (scope, ``matches``, the first difference, rows);
``csv`` the rows only; ``table`` the rows under one line saying whether the log agrees. The
command exits 1 when the report and the log's rebuild differ, so a cron job notices.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from aicenter.cli.client_factory import client, row
from aicenter.cli.output import OutputFormat, Wide, print_json, print_rows, say
from aicenter.client.models import ComplianceOut
from aicenter.domain.errors import AicenterError

app = typer.Typer(help="Compliance reports (dataset reads, residency, PII, compute), each "
                  "checked against its rebuild from the audit log.", no_args_is_help=True)

Fmt = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv")]
Org = Annotated[str | None, typer.Option(
    "--org", help="Organisation (provider, or user of the chips); default: yours, or every "
                  "one for operators and auditors")]
Dataset = Annotated[str | None, typer.Option("--dataset", help="Only this dataset")]
Month = Annotated[str | None, typer.Option("--month", help="Month, e.g. 2026-03")]


class MismatchError(AicenterError):
    """The report from the tables and its rebuild from the log differ."""


def _verdict(report: ComplianceOut) -> str:
    source = f"rebuilt from {report.log_entries} log entries (log head {report.log_head})"
    if report.matches:
        return f"matches the log: {source}"
    return f"DOES NOT match the log ({source}): {report.difference}"


def _emit(report: ComplianceOut, rows: list[dict[str, Any]], fmt: OutputFormat,
          columns: list[str], essential: list[str], wide: bool, title: str) -> None:
    if fmt is OutputFormat.JSON:
        print_json(row(report))
    elif fmt is OutputFormat.CSV:
        print_rows(rows, fmt, columns)
    else:
        say(f"{title}: {_verdict(report)}")
        if rows:
            print_rows(rows, fmt, columns, essential=essential, wide=wide)
    if not report.matches:
        raise MismatchError(f"the {report.report} report does not match its rebuild from the "
                            f"audit log: {report.difference}")


@app.command("datasets")
def datasets(org: Org = None, dataset: Dataset = None, month: Month = None,
             fmt: Fmt = OutputFormat.TABLE, wide: Wide = False) -> None:
    """Who read each dataset, when, from which job, where, under which agreement.

    One row per (job, dataset): the reader's organisation and the person who submitted the
    job, the pool, site and country it ran on, the agreement and its purpose, the records,
    bytes and tokens read and when the meter last recorded them."""
    with client() as c:
        report = c.compliance_datasets(org_id=org, dataset_id=dataset, month=month)
    _emit(report, [row(r) for r in report.rows], fmt,
          ["dataset_id", "org_id", "person_id", "job_id", "agreement_id", "purpose", "pool_id",
           "site", "country", "records", "bytes", "tokens", "recorded_at", "provider_org_id",
           "domestic"],
          ["dataset_id", "org_id", "job_id", "purpose", "country", "records", "recorded_at"],
          wide, "Dataset reads")


@app.command("residency")
def residency(org: Org = None, dataset: Dataset = None, month: Month = None,
              fmt: Fmt = OutputFormat.TABLE, wide: Wide = False) -> None:
    """Reads of domestic datasets outside the domestic countries, each with its reason."""
    with client() as c:
        report = c.compliance_residency(org_id=org, dataset_id=dataset, month=month)
    rows = [row(e) for e in report.exceptions]
    if fmt is OutputFormat.TABLE:
        countries = ", ".join(report.domestic_countries)
        say(f"Residency exceptions: {len(rows) or 'none'} — {report.reads_checked} reads of "
            f"domestic datasets checked against {countries}")
    _emit(report, rows, fmt,
          ["dataset_id", "job_id", "org_id", "agreement_id", "pool_id", "site", "country",
           "reason", "seq"], ["dataset_id", "job_id", "country", "reason", "seq"], wide,
          "Residency")


@app.command("pii")
def pii(org: Org = None, dataset: Dataset = None, fmt: Fmt = OutputFormat.TABLE,
        wide: Wide = False) -> None:
    """The PII actions applied at ingest to each dataset version, and what was found."""
    with client() as c:
        report = c.compliance_pii(org_id=org, dataset_id=dataset)
    rows = [row(r) | {"current": True} for r in report.rows] + \
        [row(r) | {"current": False} for r in report.history]
    if fmt is OutputFormat.CSV:  # one cell per mapping: "phone=redact;email=drop"
        for r in rows:
            for key in ("actions", "counts"):
                r[key] = "" if r[key] is None else ";".join(f"{k}={v}"
                                                           for k, v in r[key].items())
    _emit(report, rows, fmt,
          ["dataset_id", "version", "current", "actions", "records", "records_with_pii",
           "counts", "dropped_for_pii", "provider_org_id"],
          ["dataset_id", "version", "actions", "records_with_pii"], wide, "PII at ingest")


@app.command("compute")
def compute(org: Org = None, month: Month = None, fmt: Fmt = OutputFormat.TABLE,
            wide: Wide = False) -> None:
    """Per organisation and month: chip-hours and h100e-hours by chip type and country."""
    with client() as c:
        report = c.compliance_compute(org_id=org, month=month)
    _emit(report, [row(r) for r in report.rows], fmt,
          ["org_id", "month", "chip", "country", "chip_hours", "h100e_hours", "records"],
          ["org_id", "month", "chip", "country", "h100e_hours"], wide, "Compute used")
