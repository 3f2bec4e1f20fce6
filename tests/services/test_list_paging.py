"""Lists that grow with the center are read a page at a time from the database: organisations,
grants and reclaim notices page with ``limit``/``offset`` and count with the same filters;
a listing is one authorisation decision, not one per row; the grants' ledger figures read for
many grants at once equal the per-grant sums of postings (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from aicenter.domain.job import JobStatus, parse_job_spec
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.ledger import H100E, accounts
from aicenter.services import grant as grant_svc
from aicenter.services import job as job_svc
from aicenter.services import org as org_svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.lifecycle import finish
from aicenter.services.metering import meter_job
from tests.services.fixtures import seed_center

SPEC = parse_job_spec("name: p\ncommand: 'true'\nresources: [{chip: nvidia-h100-sxm, "
                      "count: 2}]\nmax_duration: 2h\n")


def _run(ctx: ServiceContext, job_id: str, minutes: int, end: JobStatus | None) -> None:
    """As the scheduling loop would: launched, metered for ``minutes``, ended (or not)."""
    now = ctx.clock.now()
    with ctx.db.transaction() as tx:
        tx.jobs.update(job_id, status=JobStatus.RUNNING, chip="nvidia-h100-sxm", chip_count=2,
                       started_at=now, metered_until=now)
        job = tx.jobs.get(job_id)
        assert job is not None
        meter_job(tx, ctx, job, now + timedelta(minutes=minutes))
        if end is not None:
            finish(tx, tx.jobs.get(job_id), end, ctx)  # type: ignore[arg-type]


def test_grant_figures_of_a_page_equal_the_sums_of_their_postings(
        ctx: ServiceContext, operator: Caller) -> None:
    members = [seed_center(ctx, operator, budget="50")[1] for _ in range(3)]
    for i, member in enumerate(members):
        for n in range(i + 2):
            job = job_svc.submit(ctx, member, SPEC)[0]
            ctx.clock.advance(60)  # type: ignore[attr-defined]
            if n:  # the first stays queued, holding its worst case
                _run(ctx, job.id, 10 * n + i, JobStatus.SUCCEEDED if n % 2 else None)
    views = grant_svc.list_grants(ctx, operator)
    assert len(views) == grant_svc.count_grants(ctx, operator) == 3
    with ctx.db.transaction(write=False) as tx:
        for v in views:
            holds = accounts.holds_of(v.grant.id)
            assert v.held_h100e_h == tx.ledger.prefix_balance(holds, H100E) > 0
            assert v.used_h100e_h == -tx.ledger.flow(holds, H100E, "usage") > 0
            assert v.available_h100e_h == tx.ledger.balance(accounts.grant(v.grant.id), H100E)
            assert v.available_h100e_h + v.held_h100e_h + v.used_h100e_h == Decimal(50)
    first = grant_svc.list_grants(ctx, operator, limit=2)
    rest = grant_svc.list_grants(ctx, operator, limit=2, offset=2)
    assert [v.grant.id for v in first + rest] == [v.grant.id for v in views]
    assert first == views[:2] and rest == views[2:]
    assert grant_svc.get_grant(ctx, operator, views[1].grant.id) == views[1]
    mine = grant_svc.list_grants(ctx, members[1])
    assert [v.grant.org_id for v in mine] == [members[1].org_id]
    assert grant_svc.count_grants(ctx, members[1]) == 1


def test_organisations_page_by_name_and_by_ids_within_the_callers_scope(
        ctx: ServiceContext, operator: Caller) -> None:
    for name in ("Delta", "Alpha", "Charlie", "Bravo"):
        org_svc.create_org(ctx, operator, name, OrgClass.STARTUP)
    everyone = org_svc.list_orgs(ctx, operator)
    assert org_svc.count_orgs(ctx, operator) == len(everyone) == 5  # with the operator's
    by_name = org_svc.list_orgs(ctx, operator, by_name=True)
    assert [o.name for o in by_name] == ["Alpha", "Bravo", "Charlie", "Delta",
                                         org_svc.OPERATOR_ORG]
    page = org_svc.list_orgs(ctx, operator, by_name=True, limit=2, offset=2)
    assert page == by_name[2:4]
    wanted = {everyone[1].id, everyone[3].id, "org_unknown", "bad\0id"}
    assert {o.id for o in org_svc.list_orgs(ctx, operator, ids=wanted)} == \
        {everyone[1].id, everyone[3].id}
    alice = Caller(org_svc.add_person(ctx, operator, everyone[1].id, "Alice", "a@x.kr",
                                      Role.ORG_ADMIN))
    assert [o.id for o in org_svc.list_orgs(ctx, alice)] == [everyone[1].id]
    assert org_svc.list_orgs(ctx, alice, ids={everyone[3].id}) == []
    assert org_svc.count_orgs(ctx, alice) == 1


def test_a_listing_is_one_authorisation_decision(ctx: ServiceContext, operator: Caller,
                                                 clock) -> None:  # type: ignore[no-untyped-def]
    for _ in range(4):
        seed_center(ctx, operator)
    ctx.db.flush_audit()
    assert len(ctx.db.deferred_audit) == 0
    assert len(org_svc.list_orgs(ctx, operator)) == 5
    assert len(ctx.db.deferred_audit) == 1  # one decision for five organisations
    assert len(grant_svc.list_grants(ctx, operator)) == 4
    assert len(ctx.db.deferred_audit) == 2
    clock.advance(31 * 86400)
    assert len(grant_svc.reclaim_idle(ctx, operator).noticed) == 4
    ctx.db.flush_audit()
    notices = grant_svc.reclaim_notices(ctx, operator)
    assert len(notices) == grant_svc.count_reclaim_notices(ctx, operator) == 4
    assert len(ctx.db.deferred_audit) == 2  # the listing's decision and the count's
    assert [n.view.grant.id for n in notices] == sorted(
        (n.view.grant.id for n in notices), reverse=True)  # one sweep: same notice time
    paged = (grant_svc.reclaim_notices(ctx, operator, limit=3)
             + grant_svc.reclaim_notices(ctx, operator, limit=3, offset=3))
    assert paged == notices
    assert all(n.reclaim_at == n.noticed_at + timedelta(days=ctx.settings.reclaim_notice_days)
               for n in notices)
