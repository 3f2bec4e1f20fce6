"""The simulated cluster: ``v100=12,p100=12,k80=12`` becomes a snapshot of pools."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from aicenter.catalog.performance import PerformanceTable
from aicenter.domain.errors import InputError
from aicenter.domain.units import Currency, Money
from aicenter.scheduler.types import Pool, Snapshot

BYTES_PER_GB = 1e9
BYTES_PER_GIB = 2.0**30


def parse_cluster(
    spec: str,
    known_chip_types: Iterable[str] | None = None,
    node_size: int | None = None,
    country: str = "KR",
) -> Snapshot:
    """Pools from ``type=count,...``; each pool is one chip type, nodes of ``node_size``.

    ``node_size`` ``None`` makes each pool one node, which is how Gavel's simulator counts
    (it only checks that enough GPUs of a type are free).
    """
    known = set(known_chip_types) if known_chip_types is not None else None
    pools: list[Pool] = []
    seen: set[str] = set()
    for part in (s.strip() for s in spec.split(",")):
        if not part:
            continue
        name, sep, count_text = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(f"'{part}' is not TYPE=COUNT", field="cluster")
        try:
            count = int(count_text)
        except ValueError:
            raise InputError(f"'{count_text}' is not a whole number", field="cluster") from None
        if count <= 0:
            raise InputError(f"{name}: count must be positive", field="cluster")
        if known is not None and name not in known:
            raise InputError(
                f"unknown GPU type '{name}'; the throughputs know {', '.join(sorted(known))}",
                field="cluster",
            )
        if name in seen:
            raise InputError(f"'{name}' given twice", field="cluster")
        seen.add(name)
        size = min(node_size, count) if node_size else count
        pools.append(Pool(id=name, chip_type=name, count=count, node_size=size, country=country))
    if not pools:
        raise InputError("no pools given", field="cluster")
    return Snapshot(tuple(pools))


def with_catalog_facts(snapshot: Snapshot, perf: PerformanceTable) -> Snapshot:
    """Pools of catalog chips get their memory (GiB), H100e worth and list price.

    The worth of a chip-hour for quotas is the chip's best H100-equivalent ratio (an hour on an
    inference NPU is not counted like an hour on a training GPU); the price is the catalog's
    USD per chip-hour where it has one. Pools of chips outside the catalog are left as they are.
    """
    pools = []
    for pool in snapshot.pools:
        if pool.chip_type not in perf.catalog:
            pools.append(pool)
            continue
        acc = perf.catalog.get(pool.chip_type)
        price = acc.price_usd_per_chip_hour
        pools.append(
            replace(
                pool,
                memory_gib=acc.memory_gb * BYTES_PER_GB / BYTES_PER_GIB,
                h100e_per_chip=perf.best_ratio(acc.id),
                price_per_chip_hour=Money.of(price, Currency.USD) if price is not None else None,
            )
        )
    return replace(snapshot, pools=tuple(pools))
