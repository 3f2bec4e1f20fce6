"""Jobs run on the pool the scheduler placed them on, with its site and country in their
record; a draining pool takes nothing new while its running jobs finish. Real jobs on the
local backend, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from aicenter.backends import LaunchRequest, RunHandle
from aicenter.domain.job import JobStatus, parse_job_spec
from aicenter.scheduler import ChipDemand
from aicenter.server.runtime import attach_backend
from aicenter.services import job as job_svc
from aicenter.services import licence as licence_svc
from aicenter.services import pool as pool_svc
from aicenter.services.clock import SystemClock
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import ConflictError
from aicenter.services.scheduling import (
    _view,
    adopted_pool,
    make_policy,
    pool_targets,
    recover,
    run_id_of,
    run_round,
)
from tests.services.fixtures import seed_center
from tests.services.test_exchange_flow import READER, exchange  # noqa: F401
from tests.services.test_job_flow import run_until

H100 = "nvidia-h100-sxm"


def _spec(sleep: float = 0.2, name: str = "j"):  # type: ignore[no-untyped-def]
    return parse_job_spec(f"name: {name}\ncommand: 'sleep {sleep}'\nresources: [{{chip: {H100}, "
                          "count: 2}]\nmax_duration: 60s\n")


@pytest.fixture
def center(ctx: ServiceContext, operator: Caller):  # type: ignore[no-untyped-def]
    """Two H100 pools at two sites (``a`` sorts first: the pool the old launch took)."""
    ctx.clock = SystemClock()
    ctx.settings.metering_interval_s = 0.5
    pool_svc.add_pool(ctx, operator, H100, 2, "haenam", "KR", pool_id="a-haenam")
    pool_svc.add_pool(ctx, operator, H100, 2, "gwangju", "KR", pool_id="b-gwangju")
    _org, member, _grant = seed_center(ctx, operator, pools={"rebellions-atom": 4})
    attach_backend(ctx)
    return ctx, member


def test_a_drained_pool_gets_no_job_and_the_record_names_the_other(center, operator) -> None:  # type: ignore[no-untyped-def]
    ctx, member = center
    pool_svc.drain_pool(ctx, operator, "a-haenam")
    job, _ = job_svc.submit(ctx, member, _spec(1.0))
    running = run_until(ctx, job.id, {JobStatus.RUNNING})
    assert (running.pool_id, running.site, running.country) == ("b-gwangju", "gwangju", "KR")
    assert pool_svc.get_pool(ctx, operator, "b-gwangju").busy == 2
    with pytest.raises(ConflictError, match=job.id):
        pool_svc.remove_pool(ctx, operator, "b-gwangju")
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is JobStatus.SUCCEEDED
    assert (done.pool_id, done.site, done.country) == ("b-gwangju", "gwangju", "KR")
    pool_svc.remove_pool(ctx, operator, "b-gwangju")  # nothing runs there any more


def test_running_jobs_finish_on_a_draining_pool_and_nothing_new_lands(center, operator  # type: ignore[no-untyped-def]
                                                                      ) -> None:
    ctx, member = center
    pool_svc.drain_pool(ctx, operator, "b-gwangju")
    first, _ = job_svc.submit(ctx, member, _spec(1.5, "first"))
    assert run_until(ctx, first.id, {JobStatus.RUNNING}).pool_id == "a-haenam"
    pool_svc.undrain_pool(ctx, operator, "b-gwangju")
    pool_svc.drain_pool(ctx, operator, "a-haenam")  # first runs on, nothing new lands
    pool_svc.drain_pool(ctx, operator, "b-gwangju")
    second, _ = job_svc.submit(ctx, member, _spec(0.2, "second"))
    done = run_until(ctx, first.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is JobStatus.SUCCEEDED and done.attempts == 1  # never preempted
    report = run_round(ctx, make_policy(ctx))  # a free pool, but draining: nothing moves
    with ctx.db.transaction(write=False) as tx:
        assert tx.jobs.get(second.id).status is JobStatus.QUEUED
    assert report.launched == []
    pool_svc.undrain_pool(ctx, operator, "a-haenam")
    placed = run_until(ctx, second.id, {JobStatus.RUNNING, JobStatus.SUCCEEDED})
    assert placed.pool_id == "a-haenam"


def test_a_job_gets_the_country_of_its_pool(ctx: ServiceContext, operator: Caller) -> None:
    ctx.clock = SystemClock()
    pool_svc.add_pool(ctx, operator, H100, 4, "virginia", "US", pool_id="us-east")
    _org, member, _grant = seed_center(ctx, operator, pools={"rebellions-atom": 4})
    attach_backend(ctx)
    job, _ = job_svc.submit(ctx, member, _spec(0.1))
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is JobStatus.SUCCEEDED
    assert (done.pool_id, done.site, done.country) == ("us-east", "virginia", "US")


def test_domestic_data_runs_on_the_domestic_pool_of_its_chip(exchange, operator) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Residency per pool: the chip's first pool is abroad, its job runs at home."""
    ctx, member, _provider, _dataset, offer = exchange
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    pool_svc.add_pool(ctx, operator, H100, 8, "virginia", "US", pool_id="a-abroad")
    spec = parse_job_spec(json.dumps({
        "name": "reader", "command": READER, "max_duration": "60s",
        "datasets": ["daily-news"], "resources": [{"chip": H100, "count": 1}]}))
    job, _ = job_svc.submit(ctx, member, spec)
    view = _view(ctx, [job])
    queue, stranded = view.queue, view.stranded
    assert stranded == [] and queue[0].job.residency == "KR"
    assert queue[0].job.demand == (ChipDemand(H100, 1),)
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is JobStatus.SUCCEEDED, done.message
    assert done.country == "KR" and done.pool_id != "a-abroad"


def _shell(command: str, name: str):  # type: ignore[no-untyped-def]
    return parse_job_spec(json.dumps({"name": name, "command": command, "max_duration": "60s",
                                      "resources": [{"chip": H100, "count": 2}]}))


def test_each_run_holds_its_own_pools_devices(center) -> None:  # type: ignore[no-untyped-def]
    """Two pools of one chip type: each job's run is told its pool (the launch request's
    ``pool``) and takes that pool's device indices (a-haenam 0-1, b-gwangju 2-3 in the
    backend's slots), and the engine's status names the pool the job's record names."""
    ctx, member = center
    jobs = [job_svc.submit(ctx, member, _shell("echo ids=$AICENTER_DEVICE_IDS; sleep 2",
                                               f"j{i}"))[0] for i in range(2)]
    running = [run_until(ctx, job.id, {JobStatus.RUNNING}) for job in jobs]
    assert {job.pool_id for job in running} == {"a-haenam", "b-gwangju"}
    for job in running:
        assert ctx.backend.status(RunHandle.parse(job.handle)).pool_id == job.pool_id
    devices = {"a-haenam": "0,1", "b-gwangju": "2,3"}
    for job in jobs:
        done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
        assert done.status is JobStatus.SUCCEEDED, done.message
        assert f"ids={devices[done.pool_id]}" in job_svc.logs(ctx, member, job.id).text


def test_a_restart_adopts_a_run_on_the_pool_it_was_launched_on(center, operator) -> None:  # type: ignore[no-untyped-def]
    """The server launched a job's run on the second of two H100 pools and died before
    recording it; the job's row still names the pool of an earlier attempt. The restarted
    server (a new services context on the same database) adopts the run on the pool the
    engine recorded with it, not the chip type's first pool nor the row's old one."""
    ctx, member = center
    job, _ = job_svc.submit(ctx, member, _spec(1.0))
    with ctx.db.transaction() as tx:  # an earlier attempt ran on the other pool
        tx.jobs.update(job.id, pool_id="a-haenam", site="haenam", country="KR")
        target = pool_targets(tx.pools.list())["b-gwangju"]
    assert (target.chip_count, target.first_device) == (2, 2)
    ctx.backend.launch(LaunchRequest(run_id_of(job, 0), ("/bin/sh", "-c", job.spec.command),
                                     H100, 2, pool=target))
    restarted = ServiceContext(db=ctx.db, settings=ctx.settings, clock=SystemClock())
    attach_backend(restarted)
    assert recover(restarted) == [job.id]
    adopted = job_svc.get_job(restarted, member, job.id)
    assert adopted.status is JobStatus.RUNNING
    assert (adopted.pool_id, adopted.site, adopted.country) == ("b-gwangju", "gwangju", "KR")
    assert pool_svc.get_pool(restarted, operator, "b-gwangju").busy == 2
    assert pool_svc.get_pool(restarted, operator, "a-haenam").busy == 0
    done = run_until(restarted, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is JobStatus.SUCCEEDED and done.attempts == 1
    assert done.pool_id == "b-gwangju"


def test_adopted_pool_prefers_the_engine_then_the_row_then_the_first() -> None:
    from aicenter.domain.pool import Pool, PoolState

    pools = [Pool("a", H100, 2, "haenam"), Pool("b", H100, 2, "gwangju"),
             Pool("c", "rebellions-atom", 4, "haenam"),
             Pool("d", H100, 2, "seoul", state=PoolState.DRAINING)]
    def adopted(pools: list[Pool], chip: str, engine: str | None,
                row: str | None) -> str | None:
        found = adopted_pool(pools, chip, engine, row)
        return None if found is None else found.id

    assert adopted(pools, H100, "b", "a") == "b"
    assert adopted(pools, H100, None, "d") == "d"
    assert adopted(pools, H100, "c", None) == "a"  # the engine's pool has other chips
    assert adopted(pools, H100, "gone", "gone-too") == "a"
    assert adopted(pools[1:], H100, None, None) == "b"  # active before draining
    assert adopted(pools, "nvidia-h200", None, None) is None
