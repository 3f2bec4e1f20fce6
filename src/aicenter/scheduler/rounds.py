"""The round mechanism: turn a policy's time fractions into concrete placements.

A :class:`FractionObjective` says what share of time each job should get on each pool
(``x[j,p]``). Every round (default 360 s) :class:`RoundScheduler` places jobs so that, over many
rounds, the time each job *receives* tracks those shares (Gavel's mechanism, OSDI 2020 §5):

* the fractions are re-solved when jobs arrived or left, at most every
  ``resolve_min_interval_s`` (objectives that are cheap may ask to be re-solved every round);
  an objective that asks for every round but does not depend on time
  (``depends_on_time = False``: its fractions are a function of the jobs in order, the pools
  and which pool each job holds) gets its last fractions back, uncomputed, while those are
  unchanged — the same numbers, so the same schedule;
* every allowed (job, pool) pair gets a priority ``x[j,p] / (t[j,p] / T[p])`` — the share over
  the job's part ``t[j,p]`` of the time ``T[p]`` the pool has been used since the last solve
  (see ``_account``), i.e. how far the time received lags the share (``10⁹·x`` if it received
  nothing; 0 where ``x = 0``, so such pairs only back-fill idle chips), ties broken by the deficit
  ``x·elapsed − received``; at a re-solve each job keeps only the time it received beyond its
  old share (``t ← max(t − x·elapsed, 0)``), as Gavel does;
* pairs are taken in priority order; a job runs on one pool, as a whole gang, on chips that
  respect node boundaries (a gang of at most one node's size stays in one node; a larger gang
  takes whole free nodes); a running job keeps its nodes when it stays on its pool;
* chase-team jobs go first, within ``chase_share`` of every pool, so they displace lower
  classes at once when their guaranteed share is free;
* then the jobs of tenants and programmes with a guaranteed share (``guaranteed_h100e``), in
  the same pair order, while what they hold stays within it: capacity they left idle was
  borrowed by others, whose jobs are now not placed (preempted) if the owner's need it;
* a placement whose round would push its tenant or programme past its grant is skipped (a
  job with a budget of its own, ``Job.budget_h100e_h``, costs a round at most that), and so
  is one that would take a cap group (a grant) past its chips of that type at once
  (``Snapshot.chip_caps``); a draining pool keeps the jobs running on it and takes no other;
* with a restart cost ``c`` (a job loses ``c`` seconds of work whenever it moves or restarts),
  a running job keeps its place ahead of every other pair while the current solution gives it
  a share on its pool and it is less than ``10·c`` seconds ahead of that share
  (``received − x·elapsed < 10·c``), and among back-filled jobs the running ones stay: jobs run
  in stints long enough that restarts cost about a tenth of the stint at most, instead of
  being shuffled every round, while the shares are still honoured over time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

import numpy as np

from aicenter.scheduler.caps import CapLedger
from aicenter.scheduler.nodes import NodeMap
from aicenter.scheduler.policy import SchedulerConfig
from aicenter.scheduler.problem import (
    FloatArray,
    Problem,
    RowCache,
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
# With a restart cost c, a running job keeps its place until it is 10·c ahead of its share, so
# restarts cost at most about a tenth of the time between them.
RESTART_STINT_FACTOR = 10.0


class FractionObjective(Protocol):
    """Computes the time fractions ``x[j,p]`` (rows sum to ≤ 1, capacity respected).

    ``resolve_every_round``: solve every round rather than when jobs arrive or leave.
    ``depends_on_time``: the fractions read something that changes while the same jobs hold
    the same pools (the clock, remaining work, usage); when false they are a function of the
    problem's jobs (in order), its pools and each job's ``running_on`` alone, and are reused
    while those are unchanged.
    """

    resolve_every_round: bool
    depends_on_time: bool

    def fractions(self, problem: Problem) -> FloatArray: ...


def _stack(ids: Sequence[str], rows: dict[str, FloatArray], width: int) -> FloatArray:
    zero = np.zeros(width)
    if not ids:
        return np.zeros((0, width))
    return np.stack([rows.get(i, zero) for i in ids])


class FractionTable(Mapping[str, Mapping[str, float]]):
    """``fractions[job][pool]`` as a read-only view over per-job rows (only positive shares).

    Built lazily: ten thousand jobs × pools of dictionaries would cost more than the solve.
    """

    def __init__(self, pool_ids: tuple[str, ...], rows: Mapping[str, FloatArray]) -> None:
        self._pool_ids = pool_ids
        self._rows = rows

    def __getitem__(self, job_id: str) -> Mapping[str, float]:
        row = self._rows[job_id]
        return {self._pool_ids[p]: float(row[p]) for p in np.flatnonzero(row > 0)}

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


class RoundScheduler:
    """A policy made of a fraction objective and the round mechanism (module docstring).

    State, per job id, as rows over the snapshot's pools (reset if the pools change): the
    fractions of the last solve, the time received since then (with Gavel's half-round start
    and carry-over), the attained seconds seen at the last call and at the last solve.
    """

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
        self._pools: tuple[Pool, ...] = ()
        self._rows: RowCache = {}
        self._pool_ids: tuple[str, ...] = ()
        self._x: dict[str, FloatArray] = {}
        self._solved_jobs: frozenset[str] | None = None
        self._solved_key: tuple[tuple[str, str | None], ...] | None = None
        self._solved_at = -np.inf
        self._baseline: dict[str, FloatArray] = {}
        self._seen: dict[str, FloatArray] = {}
        self._job_time: dict[str, FloatArray] = {}
        self._pool_time = np.zeros(0)
        self._nodes: dict[str, tuple[str, tuple[int, ...]]] = {}

    def _reset(self, pools: tuple[Pool, ...]) -> None:
        """Forget all per-job state: the pools changed, so the rows mean something else."""
        self._pools = pools
        self._rows = {}
        self._pool_ids = tuple(p.id for p in pools)
        self._x, self._baseline, self._seen, self._job_time = {}, {}, {}, {}
        self._solved_jobs = None
        self._solved_key = None
        self._solved_at = -np.inf
        self._pool_time = np.zeros(len(pools))
        self._nodes = {}

    def _attained(self, problem: Problem) -> FloatArray:
        index = {pid: p for p, pid in enumerate(self._pool_ids)}
        out = np.zeros(problem.rate.shape)
        for j, jp in enumerate(problem.jobs):
            for pool_id, seconds in jp.attained_s.items():
                p = index.get(pool_id)
                if p is not None:
                    out[j, p] = seconds
        return out

    def _account(self, problem: Problem, ids: list[str], attained: FloatArray) -> None:
        """Add the time each job ran since the last call to its and its pool's counters.

        The bookkeeping follows Gavel's: a job's counter grows by the seconds it ran, a pool's
        by those seconds on every chip of the gang (Gavel counts per worker); a job seen for the
        first time starts with half a round on every pool it may use, added once to the pool
        (so a fresh job neither divides by zero nor jumps the whole queue); at a re-solve the
        pool's counter restarts from the jobs' carried-over seconds.
        """
        width = len(self._pool_ids)
        fresh = np.array([i not in self._job_time for i in ids], dtype=bool)
        job_time = _stack(ids, self._job_time, width)
        seen = _stack(ids, self._seen, width)
        if fresh.any():
            start = (self.config.round_s / 2.0) * (problem.chips[fresh] > 0)
            job_time[fresh] = start
            self._pool_time = self._pool_time + start.sum(axis=0)
        delta = np.maximum(attained - seen, 0.0)
        job_time += delta
        self._pool_time = self._pool_time + (delta * problem.chips).sum(axis=0)
        self._job_time = dict(zip(ids, job_time, strict=True))
        self._seen = dict(zip(ids, np.maximum(attained, seen), strict=True))

    def _carry_over(self, problem: Problem, ids: list[str], clock: float) -> None:
        """At a re-solve, keep only the time a job got beyond its old share (Gavel's reset)."""
        elapsed = max(clock - self._solved_at, 0.0) if np.isfinite(self._solved_at) else 0.0
        width = len(self._pool_ids)
        kept = np.maximum(
            _stack(ids, self._job_time, width) - _stack(ids, self._x, width) * elapsed, 0.0
        )
        self._job_time = dict(zip(ids, kept, strict=True))
        self._pool_time = kept.sum(axis=0)

    def _maybe_resolve(
        self, problem: Problem, ids: list[str], attained: FloatArray, clock: float
    ) -> bool:
        live = frozenset(ids)
        due = self._solved_jobs is None or self.objective.resolve_every_round
        if not due and live != self._solved_jobs:
            due = clock - self._solved_at >= self.config.resolve_min_interval_s - 1e-9
        if not due:
            return False
        key = None if self.objective.depends_on_time else tuple(
            (jp.id, jp.running_on) for jp in problem.jobs)
        if key is not None and key == self._solved_key:
            x = _stack(ids, self._x, len(self._pool_ids))  # the same inputs: the same answer
        else:
            x = self.objective.fractions(problem) if ids else np.zeros(problem.rate.shape)
            x = np.where(x > 1e-9, x, 0.0)
        self._solved_key = key
        self._carry_over(problem, ids, clock)
        self._x = dict(zip(ids, x, strict=True))
        self._solved_jobs = live
        self._solved_at = clock
        self._baseline = dict(zip(ids, attained, strict=True))
        return True

    def schedule(
        self, snapshot: Snapshot, queue: Sequence[JobProgress], clock: float
    ) -> Allocation:
        """Place jobs for the round starting at ``clock`` (see the module docstring)."""
        if snapshot.pools != self._pools:
            self._reset(snapshot.pools)
        problem = build_problem(snapshot, queue, clock, self.throughputs, self._rows)
        ids = [jp.id for jp in problem.jobs]
        attained = self._attained(problem)
        self._account(problem, ids, attained)
        resolved = self._maybe_resolve(problem, ids, attained, clock)
        placements = self._place(problem, snapshot, ids, attained, clock)
        placed = {p.job_id: p.pool_id for p in placements}
        preempted = tuple(
            jp.id for jp in queue if jp.running_on is not None and jp.id not in placed
        )
        migrated = tuple(
            jp.id
            for jp in queue
            if jp.running_on is not None and placed.get(jp.id, jp.running_on) != jp.running_on
        )
        fractions = FractionTable(self._pool_ids, {i: self._x[i] for i in ids if i in self._x})
        return Allocation(fractions, tuple(placements), preempted, migrated, resolved)

    def _pair_order(
        self, problem: Problem, ids: list[str], attained: FloatArray, clock: float
    ) -> tuple[list[int], list[int]]:
        """(job, pool) index pairs in placement order: keep, priority, stay, deficit, share."""
        width = len(self._pool_ids)
        elapsed = max(clock - self._solved_at, 0.0) if np.isfinite(self._solved_at) else 0.0
        x = _stack(ids, self._x, width)
        job_time = _stack(ids, self._job_time, width)
        received = attained - _stack(ids, self._baseline, width)
        pool_time = np.broadcast_to(self._pool_time, x.shape)
        unserved = (job_time <= 0) | (pool_time <= 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(unserved, UNSERVED_BOOST * x, x * pool_time / job_time)
        priority = np.where(x > 0, ratio, 0.0)
        stay = np.zeros(x.shape, dtype=bool)
        if self.config.restart_cost_s > 0:
            index = {pid: p for p, pid in enumerate(self._pool_ids)}
            for j, jp in enumerate(problem.jobs):
                p = index.get(jp.running_on or "")
                if p is not None:
                    stay[j, p] = True
        deficit = x * elapsed - received
        surplus_cap = RESTART_STINT_FACTOR * self.config.restart_cost_s
        keep = (stay & (x > 0) & (-deficit < surplus_cap)).astype(np.float64)
        j_idx, p_idx = np.nonzero(problem.chips > 0)
        order = np.lexsort(
            (
                j_idx,
                -x[j_idx, p_idx],
                -deficit[j_idx, p_idx],
                -stay[j_idx, p_idx].astype(np.float64),
                -priority[j_idx, p_idx],
                -keep[j_idx, p_idx],
            )
        )
        return j_idx[order].tolist(), p_idx[order].tolist()

    def _place(
        self,
        problem: Problem,
        snapshot: Snapshot,
        ids: list[str],
        attained: FloatArray,
        clock: float,
    ) -> list[Placement]:
        nodes = [NodeMap(pool) for pool in problem.pools]
        left = quota_left_h100e_h(snapshot)
        round_h = self.config.round_s / 3600.0
        done = [False] * len(problem.jobs)
        chips = problem.chips.tolist()
        placements: list[Placement] = []
        caps = CapLedger(snapshot)

        def try_place(j: int, p: int) -> bool:
            jp, pool = problem.jobs[j], problem.pools[p]
            count = chips[j][p]
            if pool.draining and jp.running_on != pool.id:
                return False
            if not caps.fits(jp.job, pool.chip_type, count):
                return False
            keys: tuple[str, ...] = ()
            if left:
                cost = count * pool.h100e_per_chip * round_h
                if jp.job.budget_h100e_h is not None:  # it can never cost more than that
                    cost = min(cost, jp.job.budget_h100e_h)
                keys = tuple(k for k in quota_keys(jp.job, snapshot) if k in left)
                if any(left[k] < cost - 1e-12 for k in keys):
                    return False
            prev = self._nodes.get(jp.id)
            at = nodes[p].fit(count, prev[1] if prev and prev[0] == pool.id else None)
            if at is None:
                return False
            for k in keys:
                left[k] -= cost
            caps.take(jp.job, pool.chip_type, count, count * pool.h100e_per_chip)
            placements.append(Placement(jp.id, pool.id, pool.chip_type, count, at))
            done[j] = True
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
                for p in np.argsort(-problem.rate[j], kind="stable").tolist():
                    count = chips[j][p]
                    if count and count <= guaranteed[p] and try_place(j, p):
                        guaranteed[p] -= count
                        break
        order = list(zip(*self._pair_order(problem, ids, attained, clock), strict=True))
        if caps.has_guarantees:  # owners within their guaranteed share first, then everyone
            for j, p in order:
                pool = problem.pools[p]
                if not done[j] and chips[j][p] <= nodes[p].total_free and caps.guaranteed(
                        problem.jobs[j].job, chips[j][p] * pool.h100e_per_chip):
                    try_place(j, p)
        for j, p in order:
            if not done[j] and chips[j][p] <= nodes[p].total_free:
                try_place(j, p)
        self._nodes = {pl.job_id: (pl.pool_id, pl.nodes) for pl in placements}
        return placements
