"""Fixture builders for fleets: proposals from (chip, count) pairs."""

from __future__ import annotations

from decimal import Decimal

from aicenter.domain.fleet import Pool, Proposal, Site

KR_SITE = Site(country="KR", region="Ulsan", capital_region=False, renewable_share=0.5, pue=1.2)


def fleet(*pools: tuple[str, int], price: float | None = None, name: str = "f") -> Proposal:
    return Proposal(
        bidder=name,
        name=name,
        site=KR_SITE,
        pools=tuple(
            Pool(chip, count, Decimal(str(price)) if price is not None else None)
            for chip, count in pools
        ),
    )
