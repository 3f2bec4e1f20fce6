"""``aicenter doctor``: what this host can enforce for the center (namespaces, the contained
box, cgroups, uid and gid ranges, the network policy, the database's authentication, HOME's
modes, the scheduler), read from the same ``AICENTER_*`` settings the server uses.

Exit code: 0 when every check is ok, 1 when some only warn, 2 when any fails; so a
deployment script can stop on ``aicenter doctor || exit``. Imports only the checks' modules,
and those lazily: doctor must run where the server would not start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aicenter.cli.output import TableFormat, console, print_json
from aicenter.services.doctor import host_report, worst
from aicenter.settings import Settings

EXIT = {"ok": 0, "warn": 1, "fail": 2}
COLOUR = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def doctor(
    fmt: Annotated[TableFormat, typer.Option("--format", help="table or json")]
    = TableFormat.TABLE,
    home: Annotated[Path | None, typer.Option(help="State directory (AICENTER_HOME)")] = None,
) -> None:
    """Check what this host can enforce; exit 0 all ok, 1 warnings, 2 a failure."""
    settings = Settings(home=home) if home is not None else Settings()
    checks = host_report(settings)
    if str(fmt) == "json":
        print_json({"status": worst(checks), "checks": [c.to_dict() for c in checks]})
    else:
        table = Table(title=f"aicenter doctor: {settings.home}", show_lines=True)
        for column in ("check", "status", "detail", "fix"):
            table.add_column(column, overflow="fold")
        for c in checks:
            table.add_row(c.name, f"[{COLOUR[c.status]}]{c.status}[/]", c.detail, c.fix)
        console().print(table)
    raise typer.Exit(EXIT[worst(checks)])
