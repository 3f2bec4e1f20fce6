"""Metrics of a simulation, in the JSON contract of ``aicenter simulate``.

* JCT (job completion time) = completion − arrival; average, median, p95 (linear interpolation)
  and maximum over finished jobs, in hours.
* queueing delay = first start − arrival (the start of the first round the job ran in; it
  includes the wait for the next round boundary); p50, p95 and p99 (linear interpolation)
  over jobs that started, in hours.
* deadlines, for jobs that carry one (``Job.deadline_s``, absolute): a *miss* is a job that
  finished after its deadline or never finished; tardiness ``T_j = max(0, C_j − d_j)`` and
  ``mean_tardiness_hours`` is its mean over the jobs with a deadline that finished (on-time
  ones count 0; unfinished ones are counted in ``deadline_unfinished`` instead, since their
  completion is unknown). ``None`` when no job carries a deadline.
* makespan = last completion − first arrival.
* utilisation of a chip type = busy chip-seconds / (chips × makespan).
* Jain's fairness index over tenants, ``J = (Σ x_t)² / (n · Σ x_t²)`` ∈ [1/n, 1], of
  ``x_t = mean_j ρ_j / weight_t`` with ``ρ_j = (W_j / R_j) / JCT_j``: the job's speed relative
  to running on an equal, proportional slice of every pool (``R_j`` as in the max-min LP).
  1.0 means every tenant got the same normalised speed per unit of weight. Unfinished jobs
  count with ρ = 0.
* each tenant's share of the H100e-seconds used against its entitlement (weight / Σ weights of
  tenants with jobs).
* money = chip-hours × the pool's price, when pools are priced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from aicenter.domain.units import Money
from aicenter.scheduler.problem import chips_on_pool, resident
from aicenter.scheduler.throughput import ThroughputMatrix
from aicenter.simulator.engine import JobRecord, SimulationResult


def jain_index(values: list[float]) -> float:
    """Jain's fairness index of non-negative values (1.0 for an empty or all-zero list)."""
    arr = np.asarray(values, dtype=np.float64)
    square_sum = float((arr**2).sum())
    if arr.size == 0 or square_sum == 0:
        return 1.0
    return float(arr.sum() ** 2 / (arr.size * square_sum))


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def deadline_metrics(jobs: list[JobRecord]) -> dict[str, Any]:
    """Misses, their rate, mean tardiness and unfinished count of jobs with a deadline
    (module docstring); zeros and ``None`` when no job carries one."""
    hours = 3600.0
    due = [r for r in jobs if r.job.deadline_s is not None]
    finished = [r for r in due if r.completion_s is not None]
    tardiness = [max(0.0, (r.completion_s or 0.0) - (r.job.deadline_s or 0.0)) for r in finished]
    misses = sum(1 for t in tardiness if t > 0) + (len(due) - len(finished))
    return {
        "deadline_jobs": len(due),
        "deadline_misses": misses if due else None,
        "deadline_miss_rate": misses / len(due) if due else None,
        "mean_tardiness_hours": float(np.mean(tardiness)) / hours if tardiness else None,
        "deadline_unfinished": len(due) - len(finished),
    }


def queue_delay_metrics(jobs: list[JobRecord]) -> dict[str, float | None]:
    """p50/p95/p99 of first start − arrival in hours, over jobs that started."""
    delays = [d / 3600.0 for r in jobs if (d := r.queue_delay_s) is not None]
    return {
        "queue_delay_p50_hours": _percentile(delays, 50),
        "queue_delay_p95_hours": _percentile(delays, 95),
        "queue_delay_p99_hours": _percentile(delays, 99),
    }


def identical_schedules(results: list[SimulationResult]) -> list[list[str]]:
    """Policies grouped by identical schedules (equal ``schedule_digest``: the same jobs on
    the same pools with the same chips in every round), in the order first seen."""
    groups: dict[str, list[str]] = {}
    for result in results:
        groups.setdefault(result.schedule_digest or result.policy, []).append(result.policy)
    return list(groups.values())


def _proportional_rate(record: JobRecord, result: SimulationResult, tm: ThroughputMatrix) -> float:
    pools = result.snapshot.pools
    total = sum(p.count for p in pools)
    rate = 0.0
    for pool in pools:
        k = chips_on_pool(record.job, pool) if resident(record.job, pool) else 0
        if k:
            rate += tm.rate(record.job.job_class, pool.chip_type, k) * pool.count
    return rate / total if total else 0.0


def summarize(result: SimulationResult, throughputs: ThroughputMatrix) -> dict[str, Any]:
    """The metrics of one run (module docstring), JSON-ready."""
    hours = 3600.0
    done = [r for r in result.jobs if r.jct_s is not None]
    jcts = np.array([r.jct_s for r in done], dtype=np.float64) / hours
    first_arrival = min((r.job.arrival_s for r in result.jobs), default=0.0)
    last_completion = max((r.completion_s or 0.0 for r in done), default=first_arrival)
    makespan_s = max(last_completion - first_arrival, 0.0)
    busy: dict[str, float] = {}
    for rnd in result.rounds:
        for chip, n in rnd.busy_chips.items():
            busy[chip] = busy.get(chip, 0.0) + n * rnd.length_s
    chips_of: dict[str, int] = {}
    for pool in result.snapshot.pools:
        chips_of[pool.chip_type] = chips_of.get(pool.chip_type, 0) + pool.count
    utilization = {
        chip: (busy.get(chip, 0.0) / (n * makespan_s) if makespan_s > 0 else 0.0)
        for chip, n in chips_of.items()
    }
    tenants = result.snapshot.tenants
    speed: dict[str, list[float]] = {}
    used: dict[str, float] = {}
    for r in result.jobs:
        proportional = _proportional_rate(r, result, throughputs)
        rho = 0.0
        if r.jct_s and proportional > 0:
            rho = (r.job.total_work / proportional) / r.jct_s
        speed.setdefault(r.job.tenant, []).append(rho)
        used[r.job.tenant] = used.get(r.job.tenant, 0.0) + r.h100e_s
    weight = {t: (tenants[t].weight if t in tenants else 1.0) for t in speed}
    fairness_values = [float(np.mean(v)) / weight[t] for t, v in speed.items()]
    total_used = sum(used.values())
    total_weight = sum(weight.values())
    shares = [
        {
            "tenant": t,
            "weight": weight[t],
            "h100e_hours": used[t] / hours,
            "share": used[t] / total_used if total_used else 0.0,
            "entitlement": weight[t] / total_weight,
        }
        for t in speed
    ]
    money = _money(result)
    solve = [r.solve_s for r in result.rounds]
    return {
        "policy": result.policy,
        "trace": result.trace,
        "jobs": len(result.jobs),
        "finished": len(done),
        "avg_jct_hours": float(jcts.mean()) if jcts.size else None,
        "median_jct_hours": float(np.median(jcts)) if jcts.size else None,
        "p95_jct_hours": float(np.percentile(jcts, 95)) if jcts.size else None,
        "max_jct_hours": float(jcts.max()) if jcts.size else None,
        **queue_delay_metrics(result.jobs),
        **deadline_metrics(result.jobs),
        "makespan_hours": makespan_s / hours,
        "utilization": utilization,
        "jain_fairness": jain_index(fairness_values),
        "policy_seconds_total": float(sum(solve)),
        "policy_seconds_max_round": float(max(solve, default=0.0)),
        "rounds": len(result.rounds),
        "resolves": sum(1 for r in result.rounds if r.resolved),
        "preemptions": sum(r.preemptions for r in result.jobs),
        "migrations": sum(r.migrations for r in result.jobs),
        "round_seconds": result.config.round_s,
        "restart_seconds": result.config.restart_cost_s,
        "money": money,
        "tenant_shares": shares,
        "schedule_digest": result.schedule_digest,
    }


def _money(result: SimulationResult) -> Mapping[str, str] | None:
    priced = [p for p in result.snapshot.pools if p.price_per_chip_hour is not None]
    if not priced:
        return None
    total: Money | None = None
    for pool in priced:
        assert pool.price_per_chip_hour is not None
        chip_h = sum(r.chip_seconds.get(pool.id, 0.0) for r in result.jobs) / 3600.0
        cost = pool.price_per_chip_hour * chip_h
        total = cost if total is None else total + cost
    assert total is not None
    return {"amount": str(total.rounded().amount), "currency": total.currency.value}
