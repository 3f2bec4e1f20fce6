"""The center's pools file (``aicenter serve --pools FILE``, setting ``pools_file``).

```yaml
pools:
  - id: h100-haenam        # optional: a stable id; without it a pool is matched by chip + site
    chip: nvidia-h100-sxm  # catalog id
    count: 64              # 1 to 1,000,000
    site: haenam           # default: haenam
    country: KR            # ISO 3166 alpha-2, default KR
```

The same ``pools: [{chip, count}]`` list as fleet and proposal files, with a site and country
per pool instead of one site for the whole proposal. Unknown fields, unknown chip ids and bad
values are rejected with the file, line and field path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aicenter.catalog import Catalog
from aicenter.catalog.loader import unknown_chip_message
from aicenter.domain.errors import InputError
from aicenter.domain.pool import check_chip_count, check_country, check_pool_id, check_site
from aicenter.fleet.yamlio import PathKey, locate, read_yaml, validate

_STRICT = ConfigDict(extra="forbid", frozen=True)


class PoolEntryModel(BaseModel):
    model_config = _STRICT
    id: str | None = None
    chip: str
    count: int = Field(strict=True)
    site: str = "haenam"
    country: str = "KR"


class PoolFileModel(BaseModel):
    model_config = _STRICT
    pools: list[PoolEntryModel] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class PoolFileEntry:
    """One pool of the file and the line it starts on."""

    chip_id: str
    chip_count: int
    site: str
    country: str
    pool_id: str | None
    line: int | None


def _check_entry(entry: PoolEntryModel, where: PathKey, filename: str,
                 lines: dict[PathKey, int]) -> None:
    """The domain's checks of each field, located at that field's line."""
    checks: list[tuple[str, Callable[[Any], object], object]] = [
        ("count", check_chip_count, entry.count), ("site", check_site, entry.site),
        ("country", check_country, entry.country)]
    if entry.id is not None:
        checks.append(("id", check_pool_id, entry.id))
    for name, check, value in checks:
        try:
            check(value)
        except InputError as exc:
            raise locate(exc.message, filename, lines, (*where, name)) from None


def pools_from_data(data: object, filename: str, lines: dict[PathKey, int],
                    catalog: Catalog) -> list[PoolFileEntry]:
    model = validate(PoolFileModel, data, filename, lines)
    out = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(model.pools):
        where: PathKey = ("pools", index)
        if entry.chip not in catalog:
            raise locate(unknown_chip_message(entry.chip, catalog.ids), filename, lines,
                         (*where, "chip"))
        _check_entry(entry, where, filename, lines)
        key = entry.id or f"{entry.chip}@{entry.site}"
        if key in seen:
            raise locate(f"pool {key} is also pools[{seen[key]}]", filename, lines, where)
        seen[key] = index
        out.append(PoolFileEntry(entry.chip, entry.count, entry.site, entry.country, entry.id,
                                 lines.get(where)))
    return out


def load_pool_file(path: Path | str, catalog: Catalog) -> list[PoolFileEntry]:
    """Read and validate a pools file; raises InputError naming file, line and field."""
    data, lines = read_yaml(path)
    return pools_from_data(data, str(path), lines, catalog)
