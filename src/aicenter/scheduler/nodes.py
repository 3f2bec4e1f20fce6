"""Placing gangs on the nodes of a pool.

A gang of ``k ≤ node_size`` chips goes on one node: best fit (the node with the fewest free
chips that still holds it; the lowest index among equals), which keeps whole nodes free for
large gangs. A gang larger than a node takes ``⌊k / node_size⌋`` entirely free nodes plus a
best-fit node for the remainder. A job that stays on its pool keeps its previous nodes when they
are still free. Nodes are kept in buckets by free count, so a fit costs O(node_size), not
O(nodes).
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Mapping

from aicenter.scheduler.types import Pool


class NodeMap:
    """Free chips on each node of one pool, bucketed by free count."""

    def __init__(self, pool: Pool) -> None:
        self.size = pool.node_size
        full, rest = divmod(pool.count, pool.node_size)
        self.free = [pool.node_size] * full + ([rest] if rest else [])
        self.total_free = pool.count
        self._bucket: list[list[int]] = [[] for _ in range(self.size + 1)]
        for n, f in enumerate(self.free):
            self._bucket[f].append(n)

    def fit(self, count: int, previous: tuple[int, ...] | None = None) -> tuple[int, ...] | None:
        """Nodes for a gang of ``count`` (one entry per chip), or ``None`` if it cannot fit."""
        if count > self.total_free or count <= 0:
            return None
        if previous is not None and len(previous) == count:
            need: dict[int, int] = {}
            for n in previous:
                need[n] = need.get(n, 0) + 1
            if all(n < len(self.free) and self.free[n] >= c for n, c in need.items()):
                return self._take(need)
        if count <= self.size:
            node = self._best_fit(count, exclude=())
            return None if node is None else self._take({node: count})
        whole, rest = divmod(count, self.size)
        empty = self._bucket[self.size]
        if len(empty) < whole:
            return None
        need = {n: self.size for n in empty[:whole]}
        if rest:
            node = self._best_fit(rest, exclude=need)
            if node is None:
                return None
            need[node] = rest
        return self._take(need)

    def _best_fit(self, count: int, exclude: Mapping[int, int] | tuple[()]) -> int | None:
        for f in range(count, self.size + 1):
            for n in self._bucket[f]:
                if n not in exclude:
                    return n
        return None

    def _take(self, need: Mapping[int, int]) -> tuple[int, ...]:
        nodes: list[int] = []
        for n, c in sorted(need.items()):
            before = self.free[n]
            self._bucket[before].remove(n)
            self.free[n] = before - c
            insort(self._bucket[before - c], n)
            self.total_free -= c
            nodes.extend([n] * c)
        return tuple(nodes)
