"""Usage per organisation per UTC day, summed in SQL (SQLite and PostgreSQL): equal to the
exact split of every record over the days it overlaps, with the usage authorisation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from aicenter.domain.job import parse_job_spec
from aicenter.domain.usage import UsageRecord, daily_h100e_seconds
from aicenter.policy import PermissionDeniedError
from aicenter.services import job as job_svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.usage import daily_usage
from tests.services.fixtures import seed_center

T0 = datetime(2026, 3, 1, tzinfo=UTC)
SPEC = "name: x\ncommand: 'true'\nresources: [{chip: nvidia-h100-sxm, count: 1}]\nmax_duration: 1m"


def test_split_over_days_in_proportion_to_the_overlap() -> None:
    start = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    records = [UsageRecord("u1", "j", "a", "g", "c", 1, start, start + timedelta(hours=4),
                           Decimal(14400), Decimal(14400)),
               UsageRecord("u2", "j", "b", "g", "c", 1, start + timedelta(hours=2),
                           start + timedelta(hours=3), Decimal(3600), Decimal(7200)),
               UsageRecord("u3", "j", "b", "g", "c", 1, start, start, Decimal(0), Decimal(0))]
    assert daily_h100e_seconds(records) == {
        (date(2026, 3, 1), "a"): Decimal(3600), (date(2026, 3, 2), "a"): Decimal(10800),
        (date(2026, 3, 2), "b"): Decimal(7200)}


def test_sql_daily_sums_equal_the_exact_split(ctx: ServiceContext, operator: Caller) -> None:
    org_a, member_a, grant_a = seed_center(ctx, operator)
    org_b, member_b, grant_b = seed_center(ctx, operator)
    jobs = {org_a.id: (job_svc.submit(ctx, member_a, parse_job_spec(SPEC, "j.yaml"))[0],
                       grant_a.grant.id),
            org_b.id: (job_svc.submit(ctx, member_b, parse_job_spec(SPEC, "j.yaml"))[0],
                       grant_b.grant.id)}
    spans = [  # (org, start offset, length): inside a day, across midnight, ending at it,
        (org_a.id, timedelta(hours=1), timedelta(minutes=1)),  # spanning two midnights,
        (org_a.id, timedelta(hours=1, minutes=1), timedelta(minutes=1)),  # the next month
        (org_a.id, timedelta(hours=23, minutes=30), timedelta(hours=1)),
        (org_b.id, timedelta(days=1, hours=23), timedelta(hours=1)),
        (org_b.id, timedelta(days=2, hours=22), timedelta(hours=27)),
        (org_b.id, timedelta(days=2, hours=5), timedelta(seconds=90)),
        (org_a.id, timedelta(days=31, hours=1), timedelta(hours=1)),
    ]
    records = []
    with ctx.db.transaction() as tx:
        for i, (org, offset, length) in enumerate(spans):
            job, grant = jobs[org]
            chips = Decimal(int(length.total_seconds()) * 2)
            record = UsageRecord(f"use_{i}", job.id, org, grant, "nvidia-h100-sxm", 2,
                                 T0 + offset, T0 + offset + length, chips,
                                 chips * Decimal("1.5"))
            tx.usage.add(record)
            records.append(record)
    march = [r for r in records if r.interval_start < datetime(2026, 4, 1, tzinfo=UTC)]
    expected = {k: v / 3600 for k, v in daily_h100e_seconds(march).items()}
    assert daily_usage(ctx, operator, "2026-03") == expected
    assert (date(2026, 3, 3), org_b.id) in expected and (date(2026, 3, 4), org_b.id) in expected
    own = daily_usage(ctx, member_a, "2026-03")  # a member gets their organisation's days only
    assert own == {k: v for k, v in expected.items() if k[1] == org_a.id}
    assert daily_usage(ctx, member_a, "2026-04") == {
        (date(2026, 4, 1), org_a.id): Decimal(3600 * 2) * Decimal("1.5") / 3600}
    with pytest.raises(PermissionDeniedError):
        daily_usage(ctx, member_a, "2026-03", org_id=org_b.id)
