"""The simulated cluster: ``v100=12,p100=12,k80=12`` becomes a snapshot of pools."""

from __future__ import annotations

from collections.abc import Iterable

from aicenter.domain.errors import InputError
from aicenter.scheduler.types import Pool, Snapshot


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
