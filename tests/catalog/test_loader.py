"""The catalog loads every reference chip and rejects bad rows with file, line and column."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from aicenter.catalog import Catalog, load_catalog
from aicenter.catalog.loader import parse_catalog
from aicenter.catalog.schema import COLUMN_NAMES
from aicenter.domain.errors import InputError, NotFoundError
from tests.conftest import SHARED

PACKAGED = Path(__file__).resolve().parents[2] / "src/aicenter/catalog/data/accelerators.csv"


def test_catalog_has_every_reference_chip(catalog: Catalog) -> None:
    with (SHARED / "reference/accelerators.csv").open() as f:
        reference = list(csv.DictReader(f))
    assert len(catalog) == len(reference) == 29
    models = {acc.model.split(" (")[0].lower() for acc in catalog}
    for row in reference:
        assert row["model"].split(" (")[0].lower() in models, row["model"]


def test_stable_ids_and_domestic_chips(catalog: Catalog) -> None:
    for chip in ("nvidia-h100-sxm", "amd-mi300x", "furiosa-rngd", "rebellions-rebel-quad"):
        assert chip in catalog
    korean = {acc.id for acc in catalog if acc.vendor_country == "KR"}
    assert korean == {"rebellions-atom", "rebellions-rebel-quad", "furiosa-warboy", "furiosa-rngd"}
    assert all(acc.source and acc.retrieved for acc in catalog)


def test_unknown_chip_suggests_nearest(catalog: Catalog) -> None:
    with pytest.raises(NotFoundError, match="did you mean nvidia-h800"):
        catalog.get("nvidia-h80")


def _rows() -> list[list[str]]:
    with PACKAGED.open() as f:
        return list(csv.reader(f))


def _text(rows: list[list[str]]) -> str:
    return "\n".join(",".join(f'"{c}"' for c in row) for row in rows)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("memory_gb", "-3", "greater than 0"),
        ("peak_bf16_tflops", "fast", "not a number"),
        ("training_capable", "maybe", "not one of"),
        ("vendor_country", "Korea", "alpha-2"),
        ("retrieved", "yesterday", "not a date"),
        ("achievable_matmul_fraction", "1.5", "at most 1"),
    ],
)
def test_bad_cell_reports_file_line_and_column(column: str, value: str, message: str) -> None:
    rows = _rows()
    col = COLUMN_NAMES.index(column)
    rows[5][col] = value
    with pytest.raises(InputError) as info:
        parse_catalog("bad.csv", _text(rows))
    text = str(info.value)
    assert text.startswith(f"bad.csv:6:{col + 1}: field '{column}'"), text
    assert message in text


def test_duplicate_id_and_missing_column_rejected() -> None:
    rows = _rows()
    rows[3][0] = rows[2][0]
    with pytest.raises(InputError, match="duplicate chip id"):
        parse_catalog("dup.csv", _text(rows))
    rows = [[c for i, c in enumerate(r) if i != 3] for r in _rows()]
    with pytest.raises(InputError, match="missing columns model"):
        parse_catalog("cols.csv", _text(rows))


def test_load_from_path_round_trips(tmp_path: Path, catalog: Catalog) -> None:
    copy = tmp_path / "acc.csv"
    copy.write_text(PACKAGED.read_text())
    assert load_catalog(copy).ids == catalog.ids
    with pytest.raises(InputError, match="cannot read"):
        load_catalog(tmp_path / "missing.csv")
