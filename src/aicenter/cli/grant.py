"""``aicenter grant``: award, list and show grants; run the idle-reclaim sweep."""

from __future__ import annotations

from typing import Annotated

import typer

from aicenter.cli.client_factory import client, row, with_org_names
from aicenter.cli.output import TableFormat, Wide, print_record, print_rows

app = typer.Typer(help="Grants of h100e-hour budgets.", no_args_is_help=True)

Fmt = Annotated[TableFormat, typer.Option("--format", help="table or json")]
COLUMNS = ["id", "org", "status", "budget_h100e_h", "available_h100e_h", "held_h100e_h",
           "used_h100e_h", "ends_at", "org_id"]
ESSENTIAL = ["id", "org", "status", "budget_h100e_h", "available_h100e_h"]


@app.command("list")
def list_grants(
    org_id: Annotated[str | None, typer.Option(help="Only this organisation")] = None,
    fmt: Fmt = TableFormat.TABLE,
    wide: Wide = False,
) -> None:
    """Grants you may see, with balances from the ledger."""
    with client() as c:
        rows = [row(g) for g in c.list_grants(org_id)]
        if fmt is TableFormat.TABLE:
            with_org_names(c, rows)
    print_rows(rows, fmt, COLUMNS if fmt is TableFormat.TABLE else None, essential=ESSENTIAL,
               wide=wide)


@app.command("show")
def show(grant_id: str, fmt: Fmt = TableFormat.TABLE) -> None:
    """One grant."""
    with client() as c:
        print_record(row(c.get_grant(grant_id)), fmt)


@app.command("award")
def award(
    application_id: str,
    h100e_hours: Annotated[float, typer.Option(help="Budget in H100-equivalent hours")],
    months: Annotated[int | None, typer.Option(help="Period (default as applied)")] = None,
    without_review: Annotated[str | None, typer.Option(
        "--without-review", metavar="REASON",
        help="Award an application nobody reviewed, for this reason (kept on the grant)")
    ] = None,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Grant an application a budget (operators): at most what it asked for, within the
    call's remaining budget and the pools' capacity; reviewed unless --without-review."""
    with client() as c:
        print_record(row(c.award_grant(application_id, h100e_hours, months=months,
                                       without_review=without_review)), fmt)


@app.command("reclaim")
def reclaim(fmt: Fmt = TableFormat.TABLE) -> None:
    """Notice idle grants and reclaim those still idle after the notice period."""
    with client() as c:
        print_record(row(c.reclaim_idle()), fmt)
