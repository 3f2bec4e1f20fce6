"""Column names and parsers of ``data/accelerators.csv`` (schema version 1).

This module is the only place that names the catalog's columns. Each column has a parser that
turns the cell text into a typed value or raises ``ValueError`` with a readable reason; the
loader adds file, line and column.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from aicenter.domain.accelerator import TrainingSupport

SCHEMA_VERSION = 1

_ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _text(cell: str) -> str:
    if not cell.strip():
        raise ValueError("must not be empty")
    return cell.strip()


def _optional_text(cell: str) -> str:
    return cell.strip()


def _chip_id(cell: str) -> str:
    value = _text(cell)
    if not _ID_PATTERN.match(value):
        raise ValueError(f"'{value}' is not a lower-case kebab-case id")
    return value


def _positive(cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise ValueError(f"'{cell}' is not a number") from None
    if not value > 0:
        raise ValueError(f"{value} must be greater than 0")
    return value


def _optional_positive(cell: str) -> float | None:
    return None if not cell.strip() else _positive(cell)


def _fraction(cell: str) -> float | None:
    if not cell.strip():
        return None
    value = _positive(cell)
    if value > 1.0:
        raise ValueError(f"{value} is a fraction and must be at most 1")
    return value


def _count(cell: str) -> int:
    try:
        value = int(cell)
    except ValueError:
        raise ValueError(f"'{cell}' is not a whole number") from None
    if value < 1:
        raise ValueError(f"{value} must be at least 1")
    return value


def _year(cell: str) -> int:
    value = _count(cell)
    if not 1990 <= value <= 2100:
        raise ValueError(f"{value} is not a plausible year")
    return value


def _country(cell: str) -> str:
    value = _text(cell)
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError(f"'{value}' is not an ISO 3166 alpha-2 country code")
    return value


def _training(cell: str) -> TrainingSupport:
    try:
        return TrainingSupport(cell.strip())
    except ValueError:
        allowed = ", ".join(t.value for t in TrainingSupport)
        raise ValueError(f"'{cell}' is not one of {allowed}") from None


def _date(cell: str) -> date:
    try:
        return date.fromisoformat(cell.strip())
    except ValueError:
        raise ValueError(f"'{cell}' is not a date (YYYY-MM-DD)") from None


def _confidence(cell: str) -> str:
    value = _text(cell)
    if value not in {"high", "medium", "low"}:
        raise ValueError(f"'{value}' is not one of high, medium, low")
    return value


@dataclass(frozen=True, slots=True)
class Column:
    """One catalog column: its name, its parser and what it means (with its unit)."""

    name: str
    parse: Callable[[str], Any]
    description: str


COLUMNS: tuple[Column, ...] = (
    Column("id", _chip_id, "stable kebab-case id, e.g. nvidia-h100-sxm"),
    Column("vendor", _text, "vendor as it names itself"),
    Column("vendor_family", _chip_id, "vendor key used for diversity scoring"),
    Column("model", _text, "model name"),
    Column("year", _year, "year of release"),
    Column("vendor_country", _country, "country of the vendor (ISO alpha-2)"),
    Column("peak_bf16_tflops", _optional_positive, "dense BF16 (or FP16 where noted) TFLOPS"),
    Column("peak_fp8_tflops", _optional_positive, "dense FP8 TFLOPS, empty if no FP8"),
    Column("peak_int8_tops", _optional_positive, "dense INT8 TOPS where the chip has no FP8"),
    Column("memory_gb", _positive, "device memory in GB"),
    Column("memory_bw_tbps", _optional_positive, "memory bandwidth in TB/s"),
    Column("tdp_w", _optional_positive, "board power in W, empty if not published"),
    Column("scale_up_link", _text, "scale-up interconnect"),
    Column("scale_up_bw_gbps", _optional_positive, "scale-up bandwidth per chip in GB/s"),
    Column("scale_up_domain", _count, "chips in one scale-up domain (node or pod)"),
    Column("training_capable", _training, "yes, limited, experimental or no"),
    Column("software_stack", _text, "software stack"),
    Column("achievable_matmul_fraction", _fraction, "measured achievable matmul / peak"),
    Column("price_usd_per_chip_hour", _optional_positive, "typical cloud price, USD/chip-h"),
    Column("confidence", _confidence, "high, medium or low"),
    Column("notes", _optional_text, "notes"),
    Column("source", _text, "where the figures come from"),
    Column("retrieved", _date, "date the row was taken from its source"),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)

# Column -> field of aicenter.domain.accelerator.Accelerator where the names differ.
FIELD_OF_COLUMN = {"training_capable": "training"}
