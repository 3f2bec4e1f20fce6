"""Load and validate the accelerator catalog.

Every row is checked against :mod:`aicenter.catalog.schema`; the first bad cell stops the load
with an :class:`InputError` naming the file, the line and the column.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path

from aicenter.catalog.schema import COLUMN_NAMES, COLUMNS, FIELD_OF_COLUMN
from aicenter.domain.accelerator import Accelerator
from aicenter.domain.errors import InputError, NotFoundError

REFERENCE_CHIP_ID = "nvidia-h100-sxm"


class Catalog:
    """The chips a center knows about, by id, in file order."""

    def __init__(self, accelerators: list[Accelerator]) -> None:
        self._by_id: dict[str, Accelerator] = {}
        for acc in accelerators:
            if acc.id in self._by_id:
                raise InputError(f"duplicate chip id '{acc.id}'", field="id")
            self._by_id[acc.id] = acc

    def __iter__(self) -> Iterator[Accelerator]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, chip_id: object) -> bool:
        return chip_id in self._by_id

    @property
    def ids(self) -> list[str]:
        return list(self._by_id)

    def get(self, chip_id: str) -> Accelerator:
        """The chip with this id; an unknown id raises with the nearest ids as suggestions."""
        try:
            return self._by_id[chip_id]
        except KeyError:
            raise NotFoundError(unknown_chip_message(chip_id, self.ids)) from None

    def suggest(self, chip_id: str, n: int = 3) -> list[str]:
        return nearest(chip_id, self.ids, n)

    @property
    def reference(self) -> Accelerator:
        """The H100 SXM, which defines 1.0 H100-equivalent."""
        return self.get(REFERENCE_CHIP_ID)


def nearest(name: str, candidates: list[str], n: int = 3) -> list[str]:
    """Candidates closest to ``name``: fuzzy matches first, then ids containing it."""
    close = difflib.get_close_matches(name, candidates, n=n, cutoff=0.5)
    lowered = name.lower()
    for candidate in candidates:
        if len(close) >= n:
            break
        if lowered and lowered in candidate and candidate not in close:
            close.append(candidate)
    return close


def unknown_chip_message(chip_id: str, known: list[str]) -> str:
    hints = nearest(chip_id, known)
    hint = f"; did you mean {', '.join(hints)}?" if hints else "; see 'aicenter catalog list'"
    return f"unknown chip id '{chip_id}'{hint}"


def parse_catalog(path: Path | str, text: str) -> Catalog:
    """Parse catalog CSV text; ``path`` is only used in error messages."""
    reader = csv.DictReader(text.splitlines())
    header = tuple(reader.fieldnames or ())
    missing = [c for c in COLUMN_NAMES if c not in header]
    extra = [c for c in header if c not in COLUMN_NAMES]
    if missing or extra:
        problem = "; ".join(
            p
            for p in (
                f"missing columns {', '.join(missing)}" if missing else "",
                f"unknown columns {', '.join(extra)}" if extra else "",
            )
            if p
        )
        raise InputError(problem, file=str(path), line=1)
    accelerators = []
    for row in reader:
        line = reader.line_num
        values = {}
        for index, column in enumerate(COLUMNS, start=1):
            cell = row.get(column.name)
            if cell is None:
                raise InputError("row has too few cells", file=str(path), line=line, column=index)
            try:
                values[FIELD_OF_COLUMN.get(column.name, column.name)] = column.parse(cell)
            except ValueError as exc:
                raise InputError(
                    str(exc), file=str(path), line=line, column=index, field=column.name
                ) from None
        if None in row:
            raise InputError("row has too many cells", file=str(path), line=line)
        accelerators.append(Accelerator(**values))
    try:
        return Catalog(accelerators)
    except InputError as exc:
        raise exc.located(file=str(path)) from None


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Load a catalog file, or the one shipped in the package when ``path`` is None."""
    if path is None:
        return _packaged_catalog()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read catalog: {exc.strerror}", file=str(p)) from None
    return parse_catalog(p, text)


@lru_cache(maxsize=1)
def _packaged_catalog() -> Catalog:
    resource = resources.files("aicenter.catalog").joinpath("data/accelerators.csv")
    return parse_catalog("aicenter/catalog/data/accelerators.csv", resource.read_text("utf-8"))
