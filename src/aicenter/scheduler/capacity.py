"""The engine's count caps the center's pools (pure: the live loop passes both counts in).

The database says how many chips each pool has; an engine that counts its own (Slurm's
nodes, Ray's cluster resources) may say fewer are usable now: a drained Slurm node, a Ray
node gone, chips other users of the engine hold. The scheduler must never place onto chips
the engine will not give, so each round the live view caps each pool. For chip type ``c``
with pools ``p_1..p_k`` (in the given order), database counts ``n_i``, chips that the
center's running jobs hold in each ``h_i``, and the engine's ``available_c`` (free now):

    usable_c = available_c + sum_i h_i          (what the center holds, plus what is free)
    cap_i    = h_i + min(n_i - h_i, r_i)        r_1 = usable_c - sum_i h_i,
                                                r_(i+1) = r_i - (cap_i - h_i)

so every pool keeps the chips its running jobs hold (the scheduler's snapshot stays
consistent and nothing running is evicted by a count) and the free chips the engine reports
are spread over the pools in order, each up to its database count. A chip type the engine
does not report keeps its database counts; the simulator never calls this.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from aicenter.scheduler.center import CenterPool


def cap_pools(pools: Sequence[CenterPool], available: Mapping[str, int],
              held: Mapping[str, int]) -> list[CenterPool]:
    """``pools`` with each chip count capped as the module docstring says. ``available``:
    chip type -> chips the engine has free now (types absent are not capped); ``held``: pool
    id -> chips the center's running jobs hold there."""
    left = dict(available)
    capped = []
    for pool in pools:
        if pool.chip_id not in left:
            capped.append(pool)
            continue
        mine = min(held.get(pool.id, 0), pool.chip_count)
        extra = max(0, min(pool.chip_count - mine, left[pool.chip_id]))
        left[pool.chip_id] -= extra
        capped.append(replace(pool, chip_count=mine + extra))
    return capped
