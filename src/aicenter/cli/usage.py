"""``aicenter usage``: usage records and monthly statements."""

from __future__ import annotations

from typing import Annotated

import typer

from aicenter.cli.client_factory import client, row, with_org_names
from aicenter.cli.output import OutputFormat, TableFormat, Wide, print_json, print_rows

app = typer.Typer(help="Usage records and monthly statements.", no_args_is_help=True)


@app.command("list")
def list_usage(
    org_id: Annotated[str | None, typer.Option(help="Organisation")] = None,
    job_id: Annotated[str | None, typer.Option(help="Job")] = None,
    month: Annotated[str | None, typer.Option(help="Month, e.g. 2026-03")] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", help="table or json")]
    = TableFormat.TABLE,
    wide: Wide = False,
) -> None:
    """Usage records (one per job per metering interval)."""
    with client() as c:
        rows = [row(u) for u in c.list_usage(org_id=org_id, job_id=job_id, month=month)]
        if fmt is TableFormat.TABLE:
            with_org_names(c, rows)
    print_rows(rows, fmt, ["job_id", "org", "chip_id", "chip_count", "interval_start",
                           "interval_end", "chip_seconds", "h100e_h"],
               essential=["job_id", "chip_id", "chip_count", "interval_start", "h100e_h"],
               wide=wide)


@app.command("statement")
def statement(
    org_id: str,
    month: Annotated[str, typer.Argument(help="Month, e.g. 2026-03")],
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table, json or csv")]
    = OutputFormat.TABLE,
) -> None:
    """The monthly statement of an organisation: usage, market value, payable, subsidy."""
    with client() as c:
        st = c.statement(org_id, month)
    if str(fmt) == "json":
        print_json(row(st))
        return
    lines = [row(x) for x in st.lines]
    total = {"chip_id": "TOTAL", "h100e_h": st.total_h100e_h, "payable": st.total_payable,
             "subsidy": st.total_subsidy}
    columns = ["chip_id", "chip_hours", "h100e_h", "market", "payable", "subsidy"]
    title = f"{st.org_name} ({st.org_class}) — {st.month}, {st.currency}"
    money = {"market": st.currency, "payable": st.currency, "subsidy": st.currency}
    print_rows([*lines, total], fmt, columns, title=title, money=money)
