"""The live builder's view of a job's past (:mod:`aicenter.scheduler.center`): remaining work
from the tenant's estimate less the work done, attained seconds per pool from its metered
intervals plus the unmetered part of its current run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from aicenter.domain.accelerator import WorkloadClass
from aicenter.domain.errors import InputError
from aicenter.domain.job import Job, JobStatus, parse_job_spec
from aicenter.scheduler.center import (
    MIN_REMAINING_H100E_S,
    CenterPool,
    CenterView,
    JobUsage,
    center_view,
    remaining_work,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RATIOS = {"h100": 1.0, "a100": 0.5}


def ratio(chip: str, workload: WorkloadClass) -> float:
    return RATIOS[chip]


def job(estimated: str | None = "1000s", **fields: object) -> Job:
    """A job on 2 × h100 or 2 × a100, max duration 4,000 s."""
    spec = parse_job_spec(
        "name: j\ncommand: 'true'\nresources: [{chip: h100, count: 2}, {chip: a100, count: 2}]\n"
        "max_duration: 4000s\n" + (f"estimated_duration: {estimated}\n" if estimated else ""))
    base: dict[str, object] = dict(id="job_1", org_id="org", person_id="p", grant_id="g",
                                   spec=spec, status=JobStatus.QUEUED, idempotency_key=None,
                                   hold_h100e_h=Decimal(0), submitted_at=T0)
    base.update(fields)
    return Job(**base)  # type: ignore[arg-type]


def view(jobs: list[Job], done: dict[str, JobUsage], now: datetime) -> CenterView:
    pools = [CenterPool("p_h100", "h100", 8, "KR", 8), CenterPool("p_a100", "a100", 8, "KR", 8),
             CenterPool("p_h100b", "h100", 8, "KR", 8)]
    return center_view(pools=pools, orgs=[], grants=[], usage=[], jobs=jobs, domestic_data=(),
                       domestic_country="KR", ratio=ratio, now=now, half_life_s=3600.0,
                       chase_share=0.0, done=done)


@pytest.mark.parametrize(("estimated", "done", "remaining"), [
    ("1000s", 0.0, 2000.0),  # estimate × 2 chips × r(h100)
    ("1000s", 500.0, 1500.0),
    (None, 500.0, 7500.0),  # no estimate: max_duration's
    ("1000s", 2500.0, 5500.0),  # outran the estimate: what max_duration leaves
    ("1000s", 9000.0, MIN_REMAINING_H100E_S),  # outran both: kept above 0
])
def test_remaining_work_is_the_estimate_less_the_work_done(
        estimated: str | None, done: float, remaining: float) -> None:
    total, left = remaining_work(job(estimated), ratio, done)
    assert left == pytest.approx(remaining)
    assert total >= left


def test_estimated_duration_is_a_duration_no_longer_than_max_duration() -> None:
    assert job("30m").spec.estimated_duration_s == 1800
    assert job(None).spec.estimated_duration_s is None
    assert "estimated_duration" not in job(None).spec.to_dict()
    with pytest.raises(InputError) as exc:
        job("2h")
    assert exc.value.field == "estimated_duration"
    with pytest.raises(InputError):
        job("soon")


def test_a_running_job_counts_its_metered_and_unmetered_work_and_time() -> None:
    """Metered: 300 s on 2 × a100 (300 H100e·s) and 100 s on 2 × h100 (200); now running on
    the second h100 pool since its last metering 50 s ago (100 more)."""
    now = T0 + timedelta(hours=1)
    running = job(status=JobStatus.RUNNING, chip="h100", chip_count=2, pool_id="p_h100b",
                  started_at=now - timedelta(seconds=150),
                  metered_until=now - timedelta(seconds=50))
    usage = JobUsage(500.0, {"a100": 300.0, "h100": 100.0})
    (jp,) = view([running], {running.id: usage}, now).queue
    assert jp.running_on == "p_h100b"
    assert jp.remaining_work == pytest.approx(2000.0 - 600.0)
    assert jp.attained_s == {"p_a100": 300.0, "p_h100b": 150.0}


def test_a_queued_job_counts_its_metered_time_on_its_last_pool_or_its_chips_first() -> None:
    queued = job(pool_id="p_h100b")
    usage = JobUsage(300.0, {"a100": 100.0, "h100": 100.0})
    (jp,) = view([queued], {queued.id: usage}, T0).queue
    assert jp.running_on is None
    assert jp.remaining_work == pytest.approx(1700.0)
    assert jp.attained_s == {"p_a100": 100.0, "p_h100b": 100.0}
    (fresh,) = view([job()], {}, T0).queue
    assert fresh.remaining_work == 2000.0 and dict(fresh.attained_s) == {}


def test_a_run_the_engine_has_not_started_has_done_nothing() -> None:
    pending = job(status=JobStatus.RUNNING, chip="h100", chip_count=2, pool_id="p_h100")
    (jp,) = view([pending], {}, T0 + timedelta(hours=1)).queue
    assert jp.remaining_work == 2000.0 and dict(jp.attained_s) == {}
    assert jp.running_on == "p_h100"
