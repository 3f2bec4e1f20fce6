"""Property tests: whatever the cluster and queue, no policy breaks a hard constraint."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from aicenter.domain.units import H100eHours
from aicenter.scheduler import (
    ChipDemand,
    Job,
    JobProgress,
    Pool,
    PriorityClass,
    SchedulerConfig,
    Snapshot,
    Tenant,
    build_policy,
    policy_names,
)
from aicenter.scheduler.problem import quota_left_h100e_h
from tests.scheduler.builders import matrix

CHIPS = ("fast", "mid", "slow")
COUNTRIES = ("KR", "US")
RATES = matrix(
    {(c, chip): r for c, row in {"a": (4, 2, 1), "b": (1, 1, 1), "c": (1, 2, 3)}.items()
     for chip, r in zip(CHIPS, row, strict=True)}
)
ROUND_H = 0.1


@st.composite
def clusters(draw: st.DrawFn) -> Snapshot:
    pools = []
    for i, chip in enumerate(draw(st.lists(st.sampled_from(CHIPS), min_size=1, max_size=4))):
        node = draw(st.sampled_from((1, 2, 4, 8)))
        count = node * draw(st.integers(1, 3))
        pools.append(
            Pool(f"p{i}", chip, count, node, draw(st.sampled_from(COUNTRIES)), h100e_per_chip=1.0)
        )
    tenants = {
        t: Tenant(t, draw(st.sampled_from((1.0, 2.0))),
                  draw(st.sampled_from((None, H100eHours(0.35), H100eHours(1.0)))),
                  H100eHours(draw(st.sampled_from((0.0, 0.3)))))
        for t in ("t0", "t1", "t2")
    }
    return Snapshot(tuple(pools), tenants, {}, draw(st.sampled_from((0.0, 0.25, 0.5))))


@st.composite
def queues(draw: st.DrawFn) -> list[JobProgress]:
    out = []
    for i in range(draw(st.integers(1, 14))):
        chips = draw(st.lists(st.sampled_from(CHIPS), min_size=1, max_size=3, unique=True))
        count = draw(st.sampled_from((1, 2, 4, 8)))
        job = Job(
            id=f"j{i}", tenant=draw(st.sampled_from(("t0", "t1", "t2"))),
            job_class=draw(st.sampled_from(("a", "b", "c"))),
            demand=tuple(ChipDemand(c, count) for c in chips),
            total_work=1000.0, arrival_s=float(i),
            priority_class=draw(st.sampled_from(list(PriorityClass))),
            residency=draw(st.sampled_from((None, "KR", "US"))),
        )
        out.append(JobProgress(job, 1000.0))
    return out


@settings(max_examples=60, deadline=None)
@given(snap=clusters(), queue=queues(), name=st.sampled_from(policy_names()))
def test_no_allocation_breaks_capacity_nodes_quota_residency_or_demand(
    snap: Snapshot, queue: list[JobProgress], name: str
) -> None:
    alloc = build_policy(name, RATES, SchedulerConfig()).schedule(snap, queue, 100.0)
    pools = {p.id: p for p in snap.pools}
    jobs = {jp.id: jp.job for jp in queue}
    per_node: dict[tuple[str, int], int] = defaultdict(int)
    spent: dict[str, float] = defaultdict(float)
    assert len({p.job_id for p in alloc.placements}) == len(alloc.placements)
    for p in alloc.placements:
        pool, job = pools[p.pool_id], jobs[p.job_id]
        assert len(p.nodes) == p.count
        assert ChipDemand(pool.chip_type, p.count) in job.demand  # exact gang on a wanted chip
        assert job.residency in (None, pool.country)
        for n in p.nodes:
            per_node[(pool.id, n)] += 1
        spent[job.tenant] += p.count * pool.h100e_per_chip * ROUND_H
    for (pool_id, _), used in per_node.items():
        assert used <= pools[pool_id].node_size
    for pool in snap.pools:
        assert sum(pl.count for pl in alloc.placements if pl.pool_id == pool.id) <= pool.count
    left = quota_left_h100e_h(snap)
    for tenant, cost in spent.items():
        if tenant in left:
            assert cost <= left[tenant] + 1e-9


@settings(max_examples=60, deadline=None)
@given(snap=clusters(), queue=queues(), name=st.sampled_from(policy_names()))
def test_a_chase_job_whose_guaranteed_share_is_free_starts_in_the_next_round(
    snap: Snapshot, queue: list[JobProgress], name: str
) -> None:
    snap = Snapshot(snap.pools, {}, {}, 0.5)  # no quotas: only the lane is under test
    standard = [
        JobProgress(Job(jp.job.id, jp.job.tenant, jp.job.job_class, jp.job.demand, 1000.0,
                        jp.job.arrival_s, residency=jp.job.residency), 1000.0)
        for jp in queue
    ]
    pool = snap.pools[0]
    chase = Job("chase", "team", "b", (ChipDemand(pool.chip_type, 1),), 1000.0, 50.0,
                priority_class=PriorityClass.CHASE, residency=pool.country)
    policy = build_policy(name, RATES, SchedulerConfig())
    if int(0.5 * pool.count) < 1:
        return  # a guaranteed share smaller than one chip guarantees nothing
    first = policy.schedule(snap, standard, 0.0)  # the cluster is busy with standard work
    where = {p.job_id: p.pool_id for p in first.placements}
    running = [
        JobProgress(jp.job, jp.remaining_work, {where[jp.id]: 360.0} if jp.id in where else {},
                    where.get(jp.id))
        for jp in standard
    ]
    alloc = policy.schedule(snap, [*running, JobProgress(chase, 1000.0)], 360.0)
    assert alloc.placement_of("chase") is not None
