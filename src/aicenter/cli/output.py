"""Printing results as a Rich table, JSON or CSV, the same way in every command."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


class TableFormat(StrEnum):
    """For commands that print a structure with no CSV form."""

    TABLE = "table"
    JSON = "json"


def console() -> Console:
    """A console on the current stdout (tests swap stdout, so never cache it)."""
    probe = Console()
    width = probe.width if probe.is_terminal else 200
    return Console(file=sys.stdout, width=width, soft_wrap=False)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def print_rows(
    rows: Sequence[Mapping[str, Any]],
    fmt: OutputFormat | TableFormat | str,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> None:
    """Print records as a table, a JSON array or CSV with a header."""
    cols = list(columns or (rows[0].keys() if rows else []))
    fmt = str(fmt)
    if fmt == "json":
        print_json([dict(r) for r in rows])
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in cols})
        sys.stdout.write(buffer.getvalue())
    else:
        table = Table(title=title, show_lines=False)
        for col in cols:
            numeric = bool(rows) and isinstance(rows[0].get(col), int | float)
            table.add_column(col, justify="right" if numeric else "left", overflow="fold")
        for row in rows:
            table.add_row(*(_cell(row.get(c)) for c in cols))
        console().print(table)


def print_record(record: Mapping[str, Any], fmt: OutputFormat | TableFormat | str) -> None:
    """Print one record: a two-column table, a JSON object or a one-row CSV."""
    fmt = str(fmt)
    if fmt == "json":
        print_json(dict(record))
    elif fmt == "csv":
        print_rows([record], fmt)
    else:
        table = Table(show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold")
        for key, value in record.items():
            table.add_row(key, _cell(value))
        console().print(table)
