"""Fleet and proposal files (YAML).

```yaml
bidder: Example Consortium          # who offers the fleet
name: NVIDIA + AMD                  # optional label
site: {country: KR, region: Jeollanam-do, capital_region: false,
       renewable_share: 0.4, pue: 1.25}
metrics: {turnover_inr_crore: 120}  # optional named figures for linear-band criteria
pools:
  - chip: nvidia-h100-sxm
    count: 4096
    price_krw_per_chip_hour: 3100   # or capex_krw_per_chip (+ amortisation_years, default 5)
    delivery: 2026-06-30            # optional
    power_w: 950                    # optional, per chip incl. host; default TDP x 1.35
```

Unknown fields are rejected with their path; unknown chip ids get the nearest ids.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from aicenter.catalog import Catalog
from aicenter.catalog.loader import unknown_chip_message
from aicenter.domain.fleet import Pool, Proposal, Site
from aicenter.fleet.yamlio import PathKey, locate, read_yaml, validate

_STRICT = ConfigDict(extra="forbid", frozen=True)


class SiteModel(BaseModel):
    model_config = _STRICT
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 alpha-2")
    region: str
    capital_region: bool
    renewable_share: float = Field(ge=0, le=1)
    pue: float = Field(ge=1, le=3)


class PoolModel(BaseModel):
    model_config = _STRICT
    chip: str
    count: int = Field(ge=0)
    price_krw_per_chip_hour: Decimal | None = Field(default=None, ge=0)
    capex_krw_per_chip: Decimal | None = Field(default=None, ge=0)
    amortisation_years: float = Field(default=5.0, gt=0, le=30)
    delivery: date | None = None
    name: str | None = None
    power_w: float | None = Field(default=None, gt=0, description="per chip incl. host share")


class ProposalModel(BaseModel):
    model_config = _STRICT
    bidder: str = Field(min_length=1)
    name: str | None = None
    site: SiteModel
    metrics: dict[str, float] = Field(default_factory=dict)
    pools: list[PoolModel] = Field(min_length=1)


def proposal_from_data(
    data: object, filename: str, lines: dict[PathKey, int], catalog: Catalog
) -> Proposal:
    model = validate(ProposalModel, data, filename, lines)
    for index, pool in enumerate(model.pools):
        if pool.chip not in catalog:
            raise locate(
                unknown_chip_message(pool.chip, catalog.ids),
                filename,
                lines,
                ("pools", index, "chip"),
            )
        if pool.price_krw_per_chip_hour is not None and pool.capex_krw_per_chip is not None:
            raise locate(
                "give price_krw_per_chip_hour or capex_krw_per_chip, not both",
                filename,
                lines,
                ("pools", index),
            )
    s = model.site
    return Proposal(
        bidder=model.bidder,
        name=model.name,
        site=Site(s.country, s.region, s.capital_region, s.renewable_share, s.pue),
        pools=tuple(
            Pool(
                chip_id=p.chip,
                count=p.count,
                price_krw_per_chip_hour=p.price_krw_per_chip_hour,
                capex_krw_per_chip=p.capex_krw_per_chip,
                amortisation_years=p.amortisation_years,
                delivery=p.delivery,
                name=p.name,
                power_w=p.power_w,
            )
            for p in model.pools
        ),
        metrics=dict(model.metrics),
        source=filename,
    )


def load_proposal(path: Path | str, catalog: Catalog) -> Proposal:
    """Read and validate one fleet or proposal file."""
    data, lines = read_yaml(path)
    return proposal_from_data(data, str(path), lines, catalog)
