"""What the Slurm cluster can run, read from ``scontrol show node -o`` (pure: no I/O).

A node's chips are its typed GRES (``Gres=gpu:h100:4(S:0-1),npu:atom:4``) less those in use
(``AllocTRES=...,gres/gpu:h100=2``; ``GresUsed=gpu:h100:2(IDX:0-1)`` where Slurm prints
it). A node Slurm will not start jobs on (down, drained or draining, failing, not responding
``*``, powered down, in maintenance, future, rebooting) counts as unavailable: its chips are
reported but none is free, so a scheduler that reads :func:`free_by_gres` never places onto
it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aicenter.backends.slurm.states import parse_scontrol_line

UNAVAILABLE_FLAGS = frozenset({
    "DOWN", "DRAIN", "DRAINED", "DRAINING", "FAIL", "FAILING", "NOT_RESPONDING", "NO_RESPOND",
    "POWERED_DOWN", "POWER_DOWN", "POWERING_DOWN", "POWERING_UP", "MAINT", "FUTURE",
    "REBOOT_REQUESTED", "REBOOT_ISSUED", "INVAL", "UNKNOWN", "PLANNED",
})
"""Node state words (``IDLE+DRAIN`` is read as ``IDLE`` and ``DRAIN``) that keep jobs off."""

_GRES_ITEM = re.compile(r"^([^:(]+)(?::([^:(]+))?:(\d+)")


def parse_gres(text: str) -> dict[str, int]:
    """``gpu:h100:4(S:0-1),npu:atom:4`` -> ``{"gpu:h100": 4, "npu:atom": 4}`` (untyped
    ``gpu:2`` -> ``{"gpu": 2}``; ``(null)`` -> ``{}``). Items are split at commas outside
    parentheses (``IDX:0,2-3`` holds commas)."""
    counts: dict[str, int] = {}
    depth = 0
    item = ""
    for char in text.strip() + ",":
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            found = _GRES_ITEM.match(item.strip())
            if found:
                name, kind, count = found.groups()
                key = f"{name}:{kind}" if kind else name
                counts[key] = counts.get(key, 0) + int(count)
            item = ""
        else:
            item += char
    return counts


def parse_alloc_tres(text: str) -> dict[str, int]:
    """Typed GRES in use from ``AllocTRES=cpu=2,gres/gpu=2,gres/gpu:h100=2`` ->
    ``{"gpu:h100": 2}`` (the untyped total is left out when typed counts exist)."""
    typed: dict[str, int] = {}
    untyped: dict[str, int] = {}
    for item in text.split(","):
        key, _, value = item.strip().partition("=")
        if not key.startswith("gres/") or not value.isdigit():
            continue
        name = key.removeprefix("gres/")
        (typed if ":" in name else untyped)[name] = int(value)
    for name, count in untyped.items():
        if not any(k.startswith(f"{name}:") for k in typed):
            typed[name] = count
    return typed


@dataclass(frozen=True, slots=True)
class NodeCapacity:
    """One node: its state words, reason and typed GRES, total and in use."""

    name: str
    state: str
    reason: str = ""
    gres_total: Mapping[str, int] = field(default_factory=dict)
    gres_used: Mapping[str, int] = field(default_factory=dict)
    partitions: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        """True when Slurm will start jobs on this node."""
        words = {w.rstrip("*~#!%$@^-") for w in self.state.upper().split("+")}
        return not (words & UNAVAILABLE_FLAGS) and not self.state.endswith("*")

    def free(self, gres: str) -> int:
        """Chips of ``gres`` a new job could get here now (0 on an unavailable node)."""
        if not self.available:
            return 0
        return max(0, self.gres_total.get(gres, 0) - self.gres_used.get(gres, 0))


def nodes_from_scontrol(text: str) -> list[NodeCapacity]:
    """Every node in ``scontrol show node -o`` output."""
    nodes = []
    for line in text.splitlines():
        if "NodeName=" not in line:
            continue
        f = parse_scontrol_line(line)
        parts = tuple(p for p in f.get("Partitions", "").split(",") if p)
        used = (parse_gres(f["GresUsed"]) if "GresUsed" in f
                else parse_alloc_tres(f.get("AllocTRES", "")))
        nodes.append(NodeCapacity(f.get("NodeName", ""), f.get("State", ""),
                                  f.get("Reason", ""), parse_gres(f.get("Gres", "")), used,
                                  parts))
    return nodes


def in_partition(nodes: Iterable[NodeCapacity], partition: str | None) -> list[NodeCapacity]:
    """The nodes of ``partition`` (all nodes for ``None``)."""
    return [n for n in nodes if partition is None or partition in n.partitions]


def total_by_gres(nodes: Iterable[NodeCapacity], *, live_only: bool = False
                  ) -> dict[str, int]:
    """Chips per GRES over all nodes, available or not (``live_only``: over the nodes Slurm
    starts jobs on, the engine's total of :class:`~aicenter.backends.base.ChipCapacity`)."""
    totals: dict[str, int] = {}
    for node in nodes:
        if live_only and not node.available:
            continue
        for gres, count in node.gres_total.items():
            totals[gres] = totals.get(gres, 0) + count
    return totals


def free_by_gres(nodes: Iterable[NodeCapacity]) -> dict[str, int]:
    """Chips per GRES a new job could get now (unavailable nodes give none)."""
    free: dict[str, int] = {}
    for node in nodes:
        for gres in node.gres_total:
            free[gres] = free.get(gres, 0) + node.free(gres)
    return free


def max_per_node(nodes: Iterable[NodeCapacity], gres: str) -> int:
    """The most chips of ``gres`` any one node has: a gang's chips per node."""
    return max((n.gres_total.get(gres, 0) for n in nodes), default=0)
