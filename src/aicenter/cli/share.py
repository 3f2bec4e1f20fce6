"""``aicenter share``: guaranteed shares of organisations and calls — what their jobs may hold
at once, in H100e, ahead of everyone else's (idle share is lent out and taken back by
preemption when its holder's jobs come back)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from aicenter.cli.client_factory import client, row
from aicenter.cli.output import TableFormat, Wide, print_record, print_rows

app = typer.Typer(help="Guaranteed shares (H100e held at once) of organisations and calls.",
                  no_args_is_help=True)

Fmt = Annotated[TableFormat, typer.Option("--format", help="table or json")]
COLUMNS = ["holder_kind", "holder_id", "guaranteed_h100e", "set_at", "set_by"]


class Holder(StrEnum):
    ORG = "org"
    CALL = "call"


@app.command("list")
def list_shares(fmt: Fmt = TableFormat.TABLE, wide: Wide = False) -> None:
    """Every guaranteed share."""
    with client() as c:
        print_rows([row(s) for s in c.list_shares()], fmt, COLUMNS, wide=wide,
                   essential=["holder_kind", "holder_id", "guaranteed_h100e"])


@app.command("set")
def set_share(
    kind: Annotated[Holder, typer.Argument(help="org or call")],
    holder_id: Annotated[str, typer.Argument(help="The organisation's or call's id")],
    h100e: Annotated[str, typer.Argument(help="H100e its jobs may hold at once, e.g. 16")],
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Set a guaranteed share (operators)."""
    with client() as c:
        print_record(row(c.set_share(kind.value, holder_id, h100e)), fmt)


@app.command("clear")
def clear_share(
    kind: Annotated[Holder, typer.Argument(help="org or call")],
    holder_id: Annotated[str, typer.Argument(help="The organisation's or call's id")],
) -> None:
    """Remove a guaranteed share (operators); 'remove' does the same."""
    with client() as c:
        c.clear_share(kind.value, holder_id)
    typer.echo(f"{kind.value} {holder_id}: no guaranteed share any more")


app.command("remove", help="Remove a guaranteed share (operators); the same as 'clear', as "
            "'pool remove' is for pools.")(clear_share)
