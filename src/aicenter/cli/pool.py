"""``aicenter pool``: list, show, add, update, drain, undrain and remove accelerator pools, and
``capacity``: the database's chips beside the execution engine's count."""

from __future__ import annotations

from typing import Annotated

import typer

from aicenter.cli.client_factory import client, row
from aicenter.cli.output import TableFormat, Wide, print_json, print_record, print_rows
from aicenter.client.models import CapacityOut
from aicenter.domain.errors import InputError

app = typer.Typer(help="Accelerator pools: chip type × count at a site, and their state.",
                  no_args_is_help=True)

Fmt = Annotated[TableFormat, typer.Option("--format", help="table or json")]
COLUMNS = ["id", "chip_id", "chip_count", "site", "country", "state", "chips_in_use"]


@app.command("list")
def list_pools(
    include_removed: Annotated[bool, typer.Option("--all", help="Removed pools too")] = False,
    fmt: Fmt = TableFormat.TABLE,
    wide: Wide = False,
) -> None:
    """The center's pools with their state and the chips running jobs hold."""
    with client() as c:
        print_rows([row(p) for p in c.list_pools(include_removed)], fmt, COLUMNS, wide=wide)


@app.command("show")
def show(pool_id: str, fmt: Fmt = TableFormat.TABLE) -> None:
    """One pool."""
    with client() as c:
        print_record(row(c.get_pool(pool_id)), fmt)


@app.command("add")
def add(
    chip: Annotated[str, typer.Argument(help="Catalog chip id (aicenter catalog list)")],
    count: Annotated[int, typer.Argument(help="Number of chips, 1 to 1,000,000")],
    site: Annotated[str, typer.Option(help="Site name")] = "haenam",
    country: Annotated[str, typer.Option(help="ISO 3166 alpha-2 code of the site")] = "KR",
    pool_id: Annotated[str | None, typer.Option("--id", help="An id of your choosing "
                                                "(default: a random one)")] = None,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Register a pool (operators)."""
    with client() as c:
        print_record(row(c.add_pool(chip, count, site, country, pool_id)), fmt)


@app.command("update")
def update(
    pool_id: str,
    count: Annotated[int | None, typer.Option(help="New number of chips")] = None,
    site: Annotated[str | None, typer.Option(help="New site name")] = None,
    country: Annotated[str | None, typer.Option(help="New ISO 3166 alpha-2 code")] = None,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Resize or move a pool (operators); refused below the chips running jobs hold there."""
    if count is None and site is None and country is None:
        raise InputError("nothing to change: give --count, --site or --country",
                         field="pool update")
    with client() as c:
        print_record(row(c.update_pool(pool_id, chip_count=count, site=site,
                                       country=country)), fmt)


@app.command("drain")
def drain(pool_id: str, fmt: Fmt = TableFormat.TABLE) -> None:
    """No new jobs on the pool; the jobs running there finish (operators)."""
    with client() as c:
        print_record(row(c.drain_pool(pool_id)), fmt)


@app.command("undrain")
def undrain(pool_id: str, fmt: Fmt = TableFormat.TABLE) -> None:
    """The pool takes new jobs again (operators)."""
    with client() as c:
        print_record(row(c.undrain_pool(pool_id)), fmt)


@app.command("remove")
def remove(pool_id: str, fmt: Fmt = TableFormat.TABLE) -> None:
    """Remove a pool nothing runs on (operators); its record stays, marked removed."""
    with client() as c:
        print_record(row(c.remove_pool(pool_id)), fmt)


NOT_REPORTED = "not reported"
CAPACITY_COLUMNS = ["chip_id", "database", "chips_in_use", "engine_total", "engine_available",
                    "usable"]
POOL_CAPACITY_COLUMNS = ["id", "chip_id", "state", "chip_count", "chips_in_use", "usable"]


def _engine(value: int | None) -> int | str:
    return NOT_REPORTED if value is None else value


def capacity_rows(seen: CapacityOut) -> list[dict[str, object]]:
    """One row per chip type for the table; the engine's columns say 'not reported' where the
    backend keeps no count of its own or leaves the type out."""
    return [{"chip_id": c.chip_id, "database": c.database, "chips_in_use": c.chips_in_use,
             "engine_total": _engine(c.engine_total),
             "engine_available": _engine(c.engine_available), "usable": c.usable}
            for c in seen.chips]


@app.command("capacity")
def capacity(
    pools: Annotated[bool, typer.Option("--pools", help="A second table per pool")] = False,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Per chip type: chips in the database, the engine's total and available (Slurm's nodes,
    Ray's resources, the local slots; 'not reported' otherwise) and what the scheduler uses
    this round."""
    with client() as c:
        seen = c.capacity()
    if str(fmt) == "json":
        print_json(row(seen))
        return
    title = f"backend {seen.backend}"
    if not seen.reports_capacity:
        title += ": its count does not cap the pools (the database's counts are used)"
    elif seen.engine_error:
        title += f": engine not reachable now ({seen.engine_error}); the database's counts"
    print_rows(capacity_rows(seen), fmt, CAPACITY_COLUMNS, title=title)
    if pools:
        print_rows([row(p) for c in seen.chips for p in c.pools], fmt, POOL_CAPACITY_COLUMNS,
                   title="per pool")
