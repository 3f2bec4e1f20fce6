"""Purchase prices of accelerators (``data/chip_prices.csv``): the capex side of owned cost.

Columns (this module is the only place that names them):

* ``chip_id`` — catalog id;
* ``capex_usd_per_chip`` — USD per accelerator, empty when none is published;
* ``price_kind`` — ``list`` (vendor list price), ``reported`` (a price reported by the press or
  an analyst; a range is entered at its midpoint), ``estimate`` (secondary estimate),
  ``rental-only`` (the chip is not sold) or ``unpublished`` (no price found);
* ``confidence`` — high, medium or low; ``note``; ``source``; ``published`` (date of the figure,
  may be empty); ``retrieved`` (date the source was read).

A chip without a row, or with an empty price, has no owned cost: comparisons list it with
"no price" and the row's note instead of guessing. Rental prices stay in the catalog
(``price_usd_per_chip_hour``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources

from aicenter.domain.errors import InputError

PRICES_FILE = "aicenter/planner/data/chip_prices.csv"
COLUMNS = ("chip_id", "capex_usd_per_chip", "price_kind", "confidence", "note", "source",
           "published", "retrieved")
PRICE_KINDS = ("list", "reported", "estimate", "rental-only", "unpublished")


@dataclass(frozen=True, slots=True)
class ChipPrice:
    """One row: a purchase price per accelerator with where it comes from, or why there is none."""

    chip_id: str
    capex_usd_per_chip: float | None
    price_kind: str
    confidence: str
    note: str
    source: str
    published: date | None
    retrieved: date


def _row(line: int, row: dict[str, str]) -> ChipPrice:
    def fail(column: str, why: str) -> InputError:
        return InputError(f"{PRICES_FILE}:{line}: column '{column}': {why}")

    capex_text = row["capex_usd_per_chip"].strip()
    try:
        capex = float(capex_text) if capex_text else None
    except ValueError:
        raise fail("capex_usd_per_chip", f"'{capex_text}' is not a number") from None
    if capex is not None and not capex > 0:
        raise fail("capex_usd_per_chip", "must be positive")
    kind = row["price_kind"].strip()
    if kind not in PRICE_KINDS:
        raise fail("price_kind", f"'{kind}' is not one of {', '.join(PRICE_KINDS)}")
    if (capex is None) != (kind in ("rental-only", "unpublished")):
        raise fail("price_kind", f"'{kind}' does not match the price cell '{capex_text}'")
    if not row["source"].strip():
        raise fail("source", "must not be empty")
    try:
        published = date.fromisoformat(row["published"]) if row["published"].strip() else None
        retrieved = date.fromisoformat(row["retrieved"])
    except ValueError as exc:
        raise fail("published/retrieved", str(exc)) from None
    return ChipPrice(row["chip_id"].strip(), capex, kind, row["confidence"].strip(),
                     row["note"].strip(), row["source"].strip(), published, retrieved)


def parse_prices(text: str) -> dict[str, ChipPrice]:
    """Rows of a prices CSV by chip id (header must carry :data:`COLUMNS`)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"{PRICES_FILE}: missing columns {', '.join(missing)}")
    prices: dict[str, ChipPrice] = {}
    for line, row in enumerate(reader, start=2):
        price = _row(line, row)
        if price.chip_id in prices:
            raise InputError(f"{PRICES_FILE}:{line}: chip '{price.chip_id}' listed twice")
        prices[price.chip_id] = price
    return prices


@lru_cache(maxsize=1)
def packaged_prices() -> dict[str, ChipPrice]:
    """The packaged purchase-price table."""
    text = resources.files("aicenter.planner").joinpath("data/chip_prices.csv").read_text("utf-8")
    return parse_prices(text)


def purchase_price(chip_id: str) -> ChipPrice | None:
    """The packaged row of ``chip_id`` (None when the table has none)."""
    return packaged_prices().get(chip_id)
