"""What the pages show is in the API too (DESIGN rule 2): the overview's occupancy, the jobs
page's total and the usage page's daily sums, through the typed client against a live server,
equal to what the service functions the pages call return, and scoped like them. On SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from aicenter.api import create_app
from aicenter.client import ApiError, Client
from aicenter.domain.job import JobStatus, parse_job_spec
from aicenter.domain.token import Scope
from aicenter.domain.usage import UsageRecord
from aicenter.services import job as job_svc
from aicenter.services import org as org_svc
from aicenter.services import pool as pool_svc
from aicenter.services import usage as usage_svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.org import bootstrap_operator
from tests.services.fixtures import seed_center
from tests.support.live_server import LiveServer

SPEC = "name: x\ncommand: 'true'\nresources: [{chip: nvidia-h100-sxm, count: 2}]\nmax_duration: 1m"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Center:
    """A live API over a center with two organisations: A has a running and a queued job and
    usage on two days (one record across midnight), B a queued job and usage on one day."""

    def __init__(self, ctx: ServiceContext, url: str, operator: Caller, tokens: dict[str, str],
                 members: dict[str, Caller], orgs: dict[str, str]) -> None:
        self.ctx, self.url, self.operator = ctx, url, operator
        self.tokens, self.members, self.orgs = tokens, members, orgs

    def client(self, who: str) -> Client:
        return Client(self.url, self.tokens[who])


@pytest.fixture
def center(ctx: ServiceContext) -> Iterator[Center]:
    boot = bootstrap_operator(ctx)
    assert boot is not None
    operator = Caller(boot[0])
    org_a, member_a, grant_a = seed_center(ctx, operator)
    org_b, member_b, grant_b = seed_center(ctx, operator, pools={})
    running, _ = job_svc.submit(ctx, member_a, parse_job_spec(SPEC, "j.yaml"))
    job_svc.submit(ctx, member_a, parse_job_spec(SPEC, "j.yaml"))
    queued_b, _ = job_svc.submit(ctx, member_b, parse_job_spec(SPEC, "j.yaml"))
    h100 = next(p.pool for p in pool_svc.list_pools(ctx, operator)
                if p.pool.chip_id == "nvidia-h100-sxm")
    with ctx.db.transaction() as tx:  # as a scheduling round would have placed it
        tx.jobs.update(running.id, status=JobStatus.RUNNING, chip="nvidia-h100-sxm", chip_count=2,
                       pool_id=h100.id, started_at=T0)
        for i, (job_id, org, grant, start, hours) in enumerate([
                (running.id, org_a.id, grant_a.grant.id, T0 + timedelta(hours=1), 1),
                (running.id, org_a.id, grant_a.grant.id, T0 + timedelta(hours=23), 2),
                (queued_b.id, org_b.id, grant_b.grant.id, T0 + timedelta(hours=5), 1)]):
            chip_s = Decimal(3600 * hours * 2)
            tx.usage.add(UsageRecord(f"use_{i}", job_id, org, grant, "nvidia-h100-sxm", 2,
                                     start, start + timedelta(hours=hours), chip_s, chip_s))
    tokens = {"operator": boot[1]}
    for name, member in (("a", member_a), ("b", member_b)):
        tokens[name] = org_svc.create_token(ctx, operator, member.person.id, "t",
                                            frozenset({Scope.READ}), None)[1]
    with LiveServer(create_app(ctx)) as live:
        yield Center(ctx, live.url, operator, tokens, {"a": member_a, "b": member_b},
                     {"a": org_a.id, "b": org_b.id})


def test_occupancy_is_the_overviews(center: Center) -> None:
    seen = pool_svc.occupancy(center.ctx, center.operator)
    assert (seen.queued, seen.running) == (2, 1)
    for who in ("operator", "b"):  # counts over every organisation, for everyone signed in
        with center.client(who) as c:
            got = c.occupancy()
        assert (got.queued, got.running) == (seen.queued, seen.running)
        assert [(p.id, p.chips_in_use) for p in got.pools] == \
            [(p.pool.id, p.busy) for p in seen.pools]
        assert center.orgs["a"] not in got.model_dump_json()  # names no organisation's job
    assert sum(p.chips_in_use for p in got.pools) == 2  # the running job's two chips


def test_job_count_is_the_jobs_pages_total(center: Center) -> None:
    with center.client("operator") as c:
        assert c.count_jobs() == 3 == job_svc.count_jobs(center.ctx, center.operator)
        assert c.count_jobs(status="queued") == 2
        assert c.count_jobs(org_id=center.orgs["a"], status="running") == 1
        with pytest.raises(ApiError) as err:
            c.count_jobs(status="sleeping")
        assert err.value.status == 422
    with center.client("b") as c:  # a member counts their organisation's jobs only
        assert c.count_jobs() == 1 == len(c.list_jobs())
        with pytest.raises(ApiError) as err:
            c.count_jobs(org_id=center.orgs["a"])
        assert err.value.status == 403


def test_daily_usage_is_the_usage_pages_chart(center: Center) -> None:
    expected = usage_svc.daily_usage(center.ctx, center.operator, "2026-03")
    with center.client("operator") as c:
        got = c.daily_usage("2026-03")
        assert {(d.day, d.org_id): Decimal(d.h100e_h) for d in got} == expected
        assert [(d.day, d.org_id) for d in got] == sorted(expected)  # by day, then org
        assert c.daily_usage("2026-04") == []
        with pytest.raises(ApiError) as err:
            c.daily_usage("2026-13")
        assert err.value.status == 422
    a = center.orgs["a"]
    # two chips: 1 h on the 1st, and 23:00-01:00 split over the 1st and the 2nd
    assert (expected[(date(2026, 3, 1), a)], expected[(date(2026, 3, 2), a)]) == (4, 2)
    with center.client("b") as c:  # a member sees their organisation's days only
        own = c.daily_usage("2026-03")
        assert {d.org_id for d in own} == {center.orgs["b"]}
        with pytest.raises(ApiError) as err:
            c.daily_usage("2026-03", org_id=a)
        assert err.value.status == 403
