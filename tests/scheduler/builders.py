"""Fixture builders for scheduler tests (Kueue-style: small, explicit, table-friendly)."""

from __future__ import annotations

from aicenter.scheduler import (
    ChipDemand,
    Job,
    JobProgress,
    Pool,
    PriorityClass,
    Snapshot,
    Tenant,
    ThroughputMatrix,
)


def pool(chip: str, count: int, node_size: int | None = None, country: str = "KR") -> Pool:
    return Pool(id=chip, chip_type=chip, count=count, node_size=node_size or count, country=country)


def job(
    jid: str,
    chips: dict[str, int] | None = None,
    tenant: str = "t",
    work: float = 1000.0,
    arrival: float = 0.0,
    cls: str = "a",
    priority: PriorityClass = PriorityClass.STANDARD,
    residency: str | None = None,
    deadline: float | None = None,
    weight: float = 1.0,
) -> Job:
    demand = tuple(ChipDemand(c, n) for c, n in (chips or {"fast": 1, "slow": 1}).items())
    return Job(
        id=jid,
        tenant=tenant,
        job_class=cls,
        demand=demand,
        total_work=work,
        arrival_s=arrival,
        priority_class=priority,
        residency=residency,
        deadline_s=deadline,
        weight=weight,
    )


def queued(j: Job, running_on: str | None = None, remaining: float | None = None) -> JobProgress:
    return JobProgress(j, j.total_work if remaining is None else remaining, {}, running_on)


def snapshot(*pools: Pool, tenants: tuple[Tenant, ...] = (), chase_share: float = 0.0) -> Snapshot:
    return Snapshot(tuple(pools), {t.id: t for t in tenants}, {}, chase_share)


def matrix(rates: dict[tuple[str, str], float]) -> ThroughputMatrix:
    """Per-chip rates ``{(class, chip): units/s}``, scaled linearly with gang size."""
    return ThroughputMatrix(estimated_per_chip=rates)
