"""The round mechanism: turn a policy's time fractions into concrete placements.

A :class:`FractionObjective` says what share of time each job should get on each pool
(``x[j,p]``). Every round (default 360 s) :class:`RoundScheduler` places jobs so that, over many
rounds, the time each job *receives* tracks those shares (Gavel's mechanism, OSDI 2020 §5):

* the fractions are re-solved when jobs arrived or left, at most every
  ``resolve_min_interval_s`` (objectives that are cheap may ask to be re-solved every round);
* every allowed (job, pool) pair gets a priority ``x[j,p] / (received[j,p] / elapsed)`` — how far
  the time received since the last solve lags the share — (``10⁹·x`` if it received nothing;
  0 where ``x = 0``, so such pairs only back-fill idle chips), ties broken by the deficit
  ``x·elapsed − received``;
* pairs are taken in priority order; a job runs on one pool, as a whole gang, on chips that
  respect node boundaries (a gang of at most one node's size stays in one node; a larger gang
  takes whole free nodes); a running job keeps its nodes when it stays on its pool;
* chase-team jobs go first, within ``chase_share`` of every pool, so they displace lower
  classes at once when their guaranteed share is free;
* a placement whose round would push its tenant or programme past its grant is skipped;
* with a restart cost (a job loses ``restart_cost_s`` of work whenever it moves or restarts),
  a running job keeps its place ahead of every other pair as long as the current solution
  gives it a positive share on its pool, and among back-filled jobs the running ones stay: jobs
  then move only when a re-solve takes their share away, which cuts preemptions and migrations
  to about one per re-solve instead of one per round.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from aicenter.scheduler.policy import SchedulerConfig
from aicenter.scheduler.problem import (
    FloatArray,
    Problem,
    build_problem,
    quota_keys,
    quota_left_h100e_h,
)
from aicenter.scheduler.throughput import ThroughputMatrix
from aicenter.scheduler.types import (
    Allocation,
    JobProgress,
    Placement,
    Pool,
    PriorityClass,
    Snapshot,
)

UNSERVED_BOOST = 1e9


class FractionObjective(Protocol):
    """Computes the time fractions ``x[j,p]`` (rows sum to ≤ 1, capacity respected)."""

    resolve_every_round: bool

    def fractions(self, problem: Problem) -> FloatArray: ...


@dataclass
class _NodeMap:
    """Free chips on each node of a pool."""

    pool: Pool
    free: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        full, rest = divmod(self.pool.count, self.pool.node_size)
        self.free = [self.pool.node_size] * full + ([rest] if rest else [])

    @property
    def total_free(self) -> int:
        return sum(self.free)

    def fit(self, count: int, previous: tuple[int, ...] | None) -> tuple[int, ...] | None:
        """Nodes for a gang of ``count`` (one entry per chip), or ``None`` if it cannot fit."""
        if count > self.total_free:
            return None
        if previous is not None and len(previous) == count:
            need: dict[int, int] = {}
            for n in previous:
                need[n] = need.get(n, 0) + 1
            if all(n < len(self.free) and self.free[n] >= c for n, c in need.items()):
                return self._take(need)
        size = self.pool.node_size
        if count <= size:
            fitting = [(f, n) for n, f in enumerate(self.free) if f >= count]
            if not fitting:
                return None
            _, node = min(fitting)
            return self._take({node: count})
        whole, rest = divmod(count, size)
        empty = [n for n, f in enumerate(self.free) if f == size]
        if len(empty) < whole:
            return None
        need = {n: size for n in empty[:whole]}
        if rest:
            partial = [(f, n) for n, f in enumerate(self.free) if f >= rest and n not in need]
            if not partial:
                return None
            need[min(partial)[1]] = rest
        return self._take(need)

    def _take(self, need: Mapping[int, int]) -> tuple[int, ...]:
        nodes: list[int] = []
        for n, c in sorted(need.items()):
            self.free[n] -= c
            nodes.extend([n] * c)
        return tuple(nodes)


class RoundScheduler:
    """A policy made of a fraction objective and the round mechanism (module docstring)."""

    def __init__(
        self,
        name: str,
        objective: FractionObjective,
        throughputs: ThroughputMatrix,
        config: SchedulerConfig,
    ) -> None:
        self.name = name
        self.objective = objective
        self.throughputs = throughputs
        self.config = config
        self._fractions: dict[str, dict[str, float]] = {}
        self._solved_jobs: frozenset[str] | None = None
        self._solved_at = -np.inf
        self._baseline: dict[str, dict[str, float]] = {}
        self._seen: dict[str, dict[str, float]] = {}
        self._job_time: dict[str, dict[str, float]] = {}
        self._pool_time: dict[str, float] = {}
        self._nodes: dict[str, tuple[str, tuple[int, ...]]] = {}

    def _account(self, problem: Problem) -> None:
        """Add the time each job ran since the last call to its and its pool's counters.

        A job seen for the first time starts with half a round on every pool it may use (so a
        fresh job neither divides by zero nor jumps the whole queue), as Gavel does.
        """
        live = {jp.id for jp in problem.jobs}
        for jid in [j for j in self._job_time if j not in live]:
            del self._job_time[jid]
            self._seen.pop(jid, None)
        half = self.config.round_s / 2.0
        for j, jp in enumerate(problem.jobs):
            times = self._job_time.get(jp.id)
            if times is None:
                times = self._job_time[jp.id] = {}
                for p in np.flatnonzero(problem.chips[j]):
                    pool_id = problem.pools[p].id
                    times[pool_id] = half
                    self._pool_time[pool_id] = self._pool_time.get(pool_id, 0.0) + half
            seen = self._seen.setdefault(jp.id, {})
            for pool_id, total in jp.attained_s.items():
                delta = total - seen.get(pool_id, 0.0)
                if delta > 0:
                    times[pool_id] = times.get(pool_id, 0.0) + delta
                    self._pool_time[pool_id] = self._pool_time.get(pool_id, 0.0) + delta
                    seen[pool_id] = total

    def _carry_over(self, clock: float) -> None:
        """At a re-solve, keep only the time a job got beyond its old share (Gavel's reset)."""
        elapsed = max(clock - self._solved_at, 0.0) if np.isfinite(self._solved_at) else 0.0
        self._pool_time = {}
        for jid, times in self._job_time.items():
            shares = self._fractions.get(jid, {})
            for pool_id, t in times.items():
                kept = max(t - shares.get(pool_id, 0.0) * elapsed, 0.0)
                times[pool_id] = kept
                self._pool_time[pool_id] = self._pool_time.get(pool_id, 0.0) + kept

    def _maybe_resolve(self, problem: Problem, clock: float) -> bool:
        ids = frozenset(jp.id for jp in problem.jobs)
        due = self._solved_jobs is None or self.objective.resolve_every_round
        if not due and ids != self._solved_jobs:
            due = clock - self._solved_at >= self.config.resolve_min_interval_s - 1e-9
        if not due:
            return False
        x = self.objective.fractions(problem) if problem.jobs else np.zeros((0, 0))
        self._carry_over(clock)
        self._fractions = {}
        for j, jp in enumerate(problem.jobs):
            row = {problem.pools[p].id: float(x[j, p]) for p in np.flatnonzero(x[j] > 1e-9)}
            self._fractions[jp.id] = row
        self._solved_jobs = ids
        self._solved_at = clock
        self._baseline = {jp.id: dict(jp.attained_s) for jp in problem.jobs}
        return True

    def schedule(
        self, snapshot: Snapshot, queue: Sequence[JobProgress], clock: float
    ) -> Allocation:
        """Place jobs for the round starting at ``clock`` (see the module docstring)."""
        problem = build_problem(snapshot, queue, clock, self.throughputs)
        self._account(problem)
        resolved = self._maybe_resolve(problem, clock)
        placements = self._place(problem, snapshot, clock)
        placed = {p.job_id: p.pool_id for p in placements}
        preempted = tuple(
            jp.id for jp in queue if jp.running_on is not None and jp.id not in placed
        )
        migrated = tuple(
            jp.id
            for jp in queue
            if jp.running_on is not None and placed.get(jp.id, jp.running_on) != jp.running_on
        )
        live = {jp.id for jp in problem.jobs}
        fractions = {j: f for j, f in self._fractions.items() if j in live}
        return Allocation(fractions, tuple(placements), preempted, migrated, resolved)

    def _pair_order(self, problem: Problem, clock: float) -> list[tuple[int, int]]:
        """(job, pool) index pairs in placement order: priority, deficit, share."""
        elapsed = max(clock - self._solved_at, 0.0)
        sticky = self.config.restart_cost_s > 0
        keys: list[tuple[float, float, float, float, float, int, int]] = []
        for j, jp in enumerate(problem.jobs):
            shares = self._fractions.get(jp.id, {})
            base = self._baseline.get(jp.id, {})
            for p in np.flatnonzero(problem.chips[j]):
                pool_id = problem.pools[p].id
                x = shares.get(pool_id, 0.0)
                received = jp.attained_s.get(pool_id, 0.0) - base.get(pool_id, 0.0)
                job_time = self._job_time[jp.id].get(pool_id, 0.0)
                pool_time = self._pool_time.get(pool_id, 0.0)
                if x <= 0:
                    priority = 0.0
                elif job_time <= 0 or pool_time <= 0:
                    priority = UNSERVED_BOOST * x
                else:
                    priority = x / (job_time / pool_time)
                stay = 1.0 if sticky and jp.running_on == pool_id else 0.0
                keep = stay if x > 0 else 0.0
                deficit = x * elapsed - received
                keys.append((keep, priority, stay, deficit, x, j, int(p)))
        keys.sort(key=lambda k: (k[0], k[1], k[2], k[3], k[4], -k[5]), reverse=True)
        return [(k[5], k[6]) for k in keys]

    def _place(self, problem: Problem, snapshot: Snapshot, clock: float) -> list[Placement]:
        nodes = [_NodeMap(pool) for pool in problem.pools]
        left = quota_left_h100e_h(snapshot)
        round_h = self.config.round_s / 3600.0
        done: set[int] = set()
        placements: list[Placement] = []

        def try_place(j: int, p: int) -> bool:
            jp, pool = problem.jobs[j], problem.pools[p]
            count = int(problem.chips[j, p])
            cost = count * pool.h100e_per_chip * round_h
            keys = quota_keys(jp.job, snapshot)
            if any(k in left and left[k] < cost - 1e-12 for k in keys):
                return False
            prev = self._nodes.get(jp.id)
            at = nodes[p].fit(count, prev[1] if prev and prev[0] == pool.id else None)
            if at is None:
                return False
            for k in keys:
                if k in left:
                    left[k] -= cost
            placements.append(Placement(jp.id, pool.id, pool.chip_type, count, at))
            done.add(j)
            return True

        if snapshot.chase_share > 0:
            guaranteed = [int(snapshot.chase_share * pool.count) for pool in problem.pools]
            chase = [
                j
                for j, jp in enumerate(problem.jobs)
                if jp.job.priority_class >= PriorityClass.CHASE
            ]
            chase.sort(key=lambda j: problem.jobs[j].job.arrival_s)
            for j in chase:
                for p in np.argsort(-problem.rate[j], kind="stable"):
                    count = int(problem.chips[j, p])
                    if count and count <= guaranteed[p] and try_place(j, int(p)):
                        guaranteed[p] -= count
                        break
        for j, p in self._pair_order(problem, clock):
            if j not in done:
                try_place(j, p)
        self._nodes = {pl.job_id: (pl.pool_id, pl.nodes) for pl in placements}
        return placements
