"""``aicenter call``: allocation calls, applications, reviews and ranking (through the API)."""

from __future__ import annotations

from typing import Annotated

import typer

from aicenter.cli.client_factory import client, row, with_org_names
from aicenter.cli.output import TableFormat, Wide, print_record, print_rows
from aicenter.domain.errors import InputError

app = typer.Typer(help="Allocation calls, applications and reviews.", no_args_is_help=True)

Fmt = Annotated[TableFormat, typer.Option("--format", help="table or json")]


def _chips(values: list[str], field: str) -> dict[str, int]:
    """``nvidia-h200=256`` options → {chip: count}."""
    result = {}
    for value in values:
        chip, sep, count = value.partition("=")
        if not sep or not count.strip().isdigit():
            raise InputError(f"'{value}' is not CHIP=COUNT", field=field)
        result[chip.strip()] = int(count)
    return result


@app.command("list")
def list_calls(fmt: Fmt = TableFormat.TABLE, wide: Wide = False) -> None:
    """Calls of the center."""
    with client() as c:
        print_rows([row(x) for x in c.list_calls()], fmt,
                   ["id", "name", "status", "market_price_per_h100e_h", "max_months",
                    "max_chips_per_project"],
                   essential=["id", "name", "status"], wide=wide,
                   money={"market_price_per_h100e_h": "currency"})


@app.command("show")
def show(call_id: str, fmt: Fmt = TableFormat.TABLE) -> None:
    """One call with its price rule."""
    with client() as c:
        print_record(row(c.get_call(call_id)), fmt,
                     money={"market_price_per_h100e_h": "currency"})


@app.command("open")
def open_call(
    name: str,
    cap: Annotated[list[str], typer.Option(help="Per-project cap CHIP=COUNT (repeat)")],
    eligible: Annotated[list[str] | None, typer.Option(help="Eligible class (repeat); "
                                                       "default all tenant classes")] = None,
    max_months: Annotated[int, typer.Option(help="Longest grant")] = 12,
    budget_h100e_hours: Annotated[float | None, typer.Option(
        "--budget-h100e-hours", help="Total H100-equivalent hours the call may award")] = None,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Open a call (operators)."""
    classes = eligible or ["university", "research-institute", "startup", "youth-startup",
                           "sme", "enterprise", "public-agency"]
    options: dict[str, object] = {"max_months": max_months}
    if budget_h100e_hours is not None:
        options["budget_h100e_h"] = str(budget_h100e_hours)
    with client() as c:
        print_record(row(c.open_call(name, classes, _chips(cap, "cap"), **options)), fmt)


@app.command("close")
def close(call_id: str, fmt: Fmt = TableFormat.TABLE) -> None:
    """Close a call."""
    with client() as c:
        print_record(row(c.close_call(call_id)), fmt)


@app.command("apply")
def apply(
    call_id: str,
    title: str,
    chips: Annotated[list[str], typer.Option("--chips", help="CHIP=COUNT (repeat)")],
    months: Annotated[int, typer.Option(help="Months asked for")],
    h100e_hours: Annotated[float, typer.Option(help="H100-equivalent hours asked for")],
    org_id: Annotated[str | None, typer.Option(help="Organisation (default yours)")] = None,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Apply to a call."""
    with client() as c:
        print_record(row(c.apply(call_id, title, _chips(chips, "chips"), months, h100e_hours,
                                 org_id=org_id)), fmt)


@app.command("applications")
def applications(call_id: str, fmt: Fmt = TableFormat.TABLE, wide: Wide = False) -> None:
    """Applications to a call you may see."""
    with client() as c:
        rows = [row(a) for a in c.list_applications(call_id)]
        if fmt is TableFormat.TABLE:
            with_org_names(c, rows)
    print_rows(rows, fmt, ["id", "org", "title", "status", "requested_h100e_h", "chips",
                           "months", "decision_reason", "org_id"],
               essential=["id", "org", "title", "status", "requested_h100e_h"], wide=wide)


@app.command("review")
def review(
    application_id: str,
    impact: Annotated[float, typer.Option(help="0..10")],
    readiness: Annotated[float, typer.Option(help="0..10")],
    ecosystem: Annotated[float, typer.Option(help="0..10")],
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Score an application."""
    with client() as c:
        print_record(row(c.review(application_id, impact, readiness, ecosystem)), fmt)


@app.command("reject")
def reject(
    application_id: str,
    reason: Annotated[str, typer.Option(help="Why, as the organisation will read it")],
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Turn an application down (operators); it cannot be awarded afterwards."""
    with client() as c:
        print_record(row(c.reject_application(application_id, reason)), fmt)


@app.command("ranking")
def ranking(call_id: str, fmt: Fmt = TableFormat.TABLE, wide: Wide = False) -> None:
    """Applications by score (regional bonus and concentration penalty included)."""
    with client() as c:
        rows = [{"application": r.application.id, "org_id": r.application.org_id,
                 "title": r.application.title, "score": r.score, "reviews": r.reviews,
                 "org_share_of_call": r.org_share_of_call} for r in c.ranking(call_id)]
        if fmt is TableFormat.TABLE:
            with_org_names(c, rows)
    print_rows(rows, fmt, ["application", "org", "title", "score", "reviews",
                           "org_share_of_call", "org_id"],
               essential=["application", "org", "title", "score"], wide=wide)
