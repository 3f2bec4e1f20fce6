"""Printing results as a Rich table, JSON or CSV, the same way in every command.

JSON and CSV carry every field exactly as the API sends it (scripts depend on that). Tables are
for people: they fit the terminal (generated ids shortened, optional columns dropped; ``--wide``
shows everything), money is rounded to its currency's unit, H100e-hours to two decimals, nested
values become indented key/values, and user text is never read as Rich markup.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


class TableFormat(StrEnum):
    """For commands that print a structure with no CSV form."""

    TABLE = "table"
    JSON = "json"


Wide = Annotated[bool, typer.Option(
    "--wide", help="Tables: every column, full ids (--format json has everything too)")]

#: Width of a table that goes to a pipe or file with no COLUMNS set: wide, so nothing wraps.
PIPE_WIDTH = 200
#: Shortened generated ids keep this many characters (``job_1adb5f38…``).
ID_KEEP = 12
#: Digits after the point of an amount in each currency (its smallest unit in daily use).
CURRENCY_DECIMALS = {"KRW": 0, "JPY": 0, "USD": 2, "EUR": 2, "INR": 2}
#: Nested values whose JSON is longer than this are summarised in tables, not printed.
DOCUMENT_CHARS = 1500
#: Fields that are documents of their own, summarised in tables under this label.
DOCUMENTS = {"croissant": "Croissant JSON-LD document"}

_GENERATED_ID = re.compile(r"^[a-z][a-z0-9]*_[0-9a-f]{12,}$")
_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


def console(width: int | None = None) -> Console:
    """A console on the current stdout (tests swap stdout, so never cache it).

    Its width is COLUMNS when set, else the terminal's, else :data:`PIPE_WIDTH`.
    """
    if width is None:
        columns = os.environ.get("COLUMNS", "")
        if columns.isdigit() and int(columns) > 0:
            width = int(columns)
        else:
            probe = Console()
            width = probe.width if probe.is_terminal else PIPE_WIDTH
    return Console(file=sys.stdout, width=width, soft_wrap=False, highlight=False)


def say(message: str) -> None:
    """Print one line of text as it is: square brackets in names stay (no markup)."""
    console().print(Text(message))


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


# -- cells ---------------------------------------------------------------------------------
def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def format_money(value: Any, currency: str) -> str:
    """An amount rounded half-up to its currency's unit, with thousands separators
    (``1234567.891234`` KRW → ``1,234,568``; USD keeps cents)."""
    amount = _decimal(value)
    if amount is None or not amount.is_finite():
        return "" if value is None else str(value)
    places = CURRENCY_DECIMALS.get(currency.upper(), 2)
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{rounded:,.{places}f}"


def format_quantity(value: Any, places: int = 2) -> str:
    """A quantity such as H100e-hours, rounded for reading (json keeps every digit)."""
    amount = _decimal(value)
    if amount is None or not amount.is_finite():
        return "" if value is None else str(value)
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{rounded:,.{places}f}"


def _currency_of(key: str, money: Mapping[str, str], row: Mapping[str, Any]) -> str | None:
    """The currency of a field: named by the command (a code, or a field of the row holding
    it), else by the name's suffix (``cost_krw``, ``krw``)."""
    if key in money:
        spec = money[key]
        if spec.isupper():
            return spec
        code = row.get(spec)
        return str(code) if code else None
    low = key.lower()
    for code in ("krw", "usd"):
        if low == code or low.endswith("_" + code):
            return code.upper()
    return None


def _is_quantity(key: str) -> bool:
    low = key.lower()
    return low == "h100e_h" or low.endswith(("_h100e_h", "_h100e")) or low == "guaranteed_h100e"


def _datetime(text: str, seconds: bool) -> str | None:
    match = _DATETIME.match(text)
    if match is None:
        return None
    day, minute, sec, _fraction, zone = match.groups()
    zone = "Z" if zone in ("Z", "+00:00") else (zone or "")
    return f"{day} {minute}{sec if seconds else ''}{zone}"


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def _cell(key: str, value: Any, row: Mapping[str, Any], money: Mapping[str, str],
          seconds: bool = False) -> str:
    """One value as people read it in a table."""
    if value is None:
        return ""
    currency = _currency_of(key, money, row)
    if currency and not isinstance(value, bool) and _decimal(value) is not None:
        return format_money(value, currency)
    if _is_quantity(key) and not isinstance(value, bool) and _decimal(value) is not None:
        return format_quantity(value)
    if isinstance(value, str):
        return _datetime(value, seconds) or value
    if isinstance(value, list | tuple) and all(
            not isinstance(v, dict | list | tuple) for v in value):
        return ", ".join(_scalar(v) for v in value)
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return _scalar(value)


def _short_ids(values: Sequence[str]) -> dict[str, str]:
    """Generated ids (``job_1adb5f38c0…``) cut to :data:`ID_KEEP` characters plus an ellipsis,
    longer where two ids of the column would otherwise read the same."""
    ids = sorted({v for v in values if _GENERATED_ID.match(v)})
    keep = ID_KEEP
    while keep < max((len(v) for v in ids), default=0) and \
            len({v[:keep] for v in ids}) < len(ids):
        keep += 1
    return {v: v[:keep] + "…" for v in ids if len(v) > keep + 1}


# -- tables --------------------------------------------------------------------------------
def print_rows(
    rows: Sequence[Mapping[str, Any]],
    fmt: OutputFormat | TableFormat | str,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    *,
    essential: Sequence[str] | None = None,
    wide: bool = False,
    money: Mapping[str, str] | None = None,
) -> None:
    """Print records as a table, a JSON array or CSV with a header.

    JSON and CSV are the rows as given. A table fits the terminal: generated ids are shortened
    (unambiguously), and columns not in ``essential`` (default: all are) are dropped from the
    right until it fits; ``wide`` keeps every column and full ids. ``money`` names the currency
    of a column: a code (``"KRW"``) or a field of the row that holds it.
    """
    cols = list(columns or (rows[0].keys() if rows else []))
    fmt = str(fmt)
    if fmt == "json":
        print_json([dict(r) for r in rows])
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in cols})
        sys.stdout.write(buffer.getvalue())
        return
    money = money or {}
    cells = [{c: _cell(c, row.get(c), row, money) for c in cols} for row in rows]
    short: dict[str, dict[str, str]] = {}
    if not wide:
        short = {c: _short_ids([r[c] for r in cells]) for c in cols}
    keep = set(cols if essential is None else essential)
    out = console()
    shown = list(cols)
    while True:
        table = _table(rows, cells, shown, short, title, money)
        needed = Measurement.get(out, out.options.update_width(10_000), table).maximum
        optional = [c for c in shown if c not in keep]
        if wide or needed <= out.width or not optional:
            break
        shown.remove(optional[-1])
    notes = []
    if any(short[c] and any(r[c] in short[c] for r in cells) for c in shown if c in short):
        notes.append("ids shortened")
    hidden = [c for c in cols if c not in shown]
    if hidden:
        notes.append(f"hidden: {', '.join(hidden)}")
    if notes:
        table.caption = Text("; ".join(notes) + " (--wide shows all)")
    if wide and needed > out.width:
        out = console(needed)
    out.print(table)


def _table(rows: Sequence[Mapping[str, Any]], cells: Sequence[Mapping[str, str]],
           cols: Sequence[str], short: Mapping[str, Mapping[str, str]],
           title: str | None, money: Mapping[str, str]) -> Table:
    table = Table(title=Text(title) if title else None, show_lines=False)
    for col in cols:
        sample = next((r.get(col) for r in rows if r.get(col) is not None), None)
        numeric = not isinstance(sample, bool) and (
            isinstance(sample, int | float) or (_decimal(sample) is not None and (
                col in money or _currency_of(col, {}, {}) is not None or _is_quantity(col))))
        ids = bool(short.get(col)) or any(_GENERATED_ID.match(r[col]) for r in cells)
        times = any(_DATETIME.match(str(r.get(col, ""))) for r in rows)
        table.add_column(Text(col), justify="right" if numeric else "left",
                         no_wrap=ids or times or numeric, overflow="fold")
    for row in cells:
        table.add_row(*(Text(short.get(c, {}).get(row[c], row[c])) for c in cols))
    return table


# -- one record ----------------------------------------------------------------------------
def _document(key: str, value: Any) -> str | None:
    """A one-line summary of a long nested value, or None to print it."""
    if not isinstance(value, dict | list | tuple) or not value:
        return None
    text = json.dumps(value, ensure_ascii=False, default=str)
    if key not in DOCUMENTS and len(text) <= DOCUMENT_CHARS:
        return None
    label = DOCUMENTS.get(key, "JSON document")
    return f"{label}, {len(text.encode()) / 1024:.1f} KB (--format json shows it)"


def record_lines(record: Mapping[str, Any], money: Mapping[str, str] | None = None,
                 depth: int = 0) -> list[tuple[str, str]]:
    """A record as (key, value) lines: nested mappings indented under their key, lists of
    plain values joined, other lists one short JSON line per item, long documents summarised."""
    money = money or {}
    pad = "  " * depth
    lines: list[tuple[str, str]] = []
    for key, value in record.items():
        key = str(key)
        summary = _document(key, value)
        if summary is not None:
            lines.append((pad + key, summary))
        elif isinstance(value, dict) and value:
            lines.append((pad + key, ""))
            lines.extend(record_lines(value, money, depth + 1))
        elif isinstance(value, list | tuple) and any(
                isinstance(v, dict | list | tuple) for v in value):
            lines.append((pad + key, ""))
            for i, item in enumerate(value, 1):
                if isinstance(item, dict) and len(json.dumps(item, default=str)) > 80:
                    lines.append((f"{pad}  {i}.", ""))
                    lines.extend(record_lines(item, money, depth + 2))
                else:
                    lines.append((f"{pad}  {i}.", _cell(key, item, record, money, True)))
        else:
            lines.append((pad + key, _cell(key, value, record, money, seconds=True)))
    return lines


def print_record(record: Mapping[str, Any], fmt: OutputFormat | TableFormat | str,
                 *, money: Mapping[str, str] | None = None) -> None:
    """Print one record: a key/value table, a JSON object or a one-row CSV."""
    fmt = str(fmt)
    if fmt == "json":
        print_json(dict(record))
    elif fmt == "csv":
        print_rows([record], fmt)
    else:
        table = Table(show_header=False)
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        for key, value in record_lines(record, money):
            table.add_row(Text(key), Text(value))
        console().print(table)
