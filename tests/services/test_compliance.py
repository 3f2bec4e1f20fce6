"""Compliance reports rebuilt from the audit log alone and compared with the tables' (issue 15
item 3): a provider's licensed dataset read by a tenant's job on the local backend yields the
same reads, residency, PII and compute reports from both sides (SQLite and PostgreSQL); a
table edited behind the log (a usage row, a read's totals, a job's country) makes ``matches``
false and names the first difference; scoping follows Cedar."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import update

from aicenter.domain.job import JobStatus
from aicenter.ledger.audit import Actor, ActorKind, AuditEntry, AuditRecord
from aicenter.ledger.audit.compliance import (
    Scope,
    compute_rows,
    from_log,
    pii_summary,
    residency,
)
from aicenter.ledger.audit.entry import GENESIS
from aicenter.policy import PermissionDeniedError
from aicenter.services import compliance as svc
from aicenter.services import job as job_svc
from aicenter.services import licence as licence_svc
from aicenter.storage import tables
from tests.services.test_exchange_flow import ARTICLES, _spec, exchange  # noqa: F401
from tests.services.test_job_flow import run_until


@pytest.fixture
def read_world(exchange):  # type: ignore[no-untyped-def]  # noqa: F811
    """A licensed job that read 'daily-news' to the end and was metered and billed."""
    ctx, member, provider, dataset, offer = exchange
    agreement = licence_svc.accept(ctx, member, offer.id, "pre-training")
    job, _ = job_svc.submit(ctx, member, _spec(["daily-news"]))
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is JobStatus.SUCCEEDED, job_svc.logs(ctx, member, job.id).text
    return ctx, member, provider, dataset, agreement, done


def test_each_report_rebuilt_from_the_log_matches_the_tables(read_world, operator) -> None:  # type: ignore[no-untyped-def]
    ctx, member, provider, dataset, agreement, job = read_world
    reads = svc.dataset_reads(ctx, operator)
    assert reads.matches, reads.difference
    [row] = reads.tables
    assert (row.dataset_id, row.provider_org_id, row.org_id, row.person_id, row.job_id,
            row.agreement_id, row.purpose) == (
        "daily-news", provider.org_id, member.org_id, member.person.id, job.id, agreement.id,
        "pre-training")
    assert (row.pool_id, row.site, row.country) == (job.pool_id, job.site, job.country)
    assert row.country == "KR" and row.domestic and row.records == len(ARTICLES)
    assert reads.log_entries > 0 and reads.log_head >= reads.log_entries

    res = svc.residency_exceptions(ctx, operator)
    assert res.matches, res.difference
    assert res.tables.exceptions == () and res.tables.reads_checked == 1
    assert res.log.domestic_countries == ("KR",)

    pii = svc.pii_actions(ctx, operator)
    assert pii.matches, pii.difference
    [p] = pii.tables
    assert (p.dataset_id, p.version) == ("daily-news", dataset.version)
    assert p.actions is not None and dict(p.actions)  # the type → action map applied
    assert p.records == len(ARTICLES) and pii.history == []

    month = f"{job.started_at:%Y-%m}"
    compute = svc.compute_used(ctx, operator, org_id=member.org_id, month=month)
    assert compute.matches, compute.difference
    [c] = compute.tables
    assert (c.org_id, c.month, c.chip, c.country) == (member.org_id, month, "nvidia-h100-sxm",
                                                      "KR")
    assert c.h100e_hours > 0 and c.chip_hours > 0 and c.records >= 1
    assert svc.compute_used(ctx, operator, org_id=member.org_id, month="1999-01").tables == []


def test_scoped_by_cedar(read_world, operator) -> None:  # type: ignore[no-untyped-def]
    ctx, member, provider, _dataset, _agreement, _job = read_world
    own = svc.dataset_reads(ctx, provider)  # the provider: reads of its own datasets
    assert own.scope.org_id == provider.org_id and len(own.tables) == 1 and own.matches
    assert svc.dataset_reads(ctx, operator, org_id=member.org_id).tables == []
    assert svc.compute_used(ctx, provider).tables == []  # its own compute: none
    with pytest.raises(PermissionDeniedError):  # a tenant's member reads no report
        svc.dataset_reads(ctx, member)
    with pytest.raises(PermissionDeniedError):  # nor another organisation's provider
        svc.compute_used(ctx, provider, org_id=member.org_id)


def test_a_table_edited_behind_the_log_breaks_the_match(read_world, operator) -> None:  # type: ignore[no-untyped-def]
    ctx, _member, _provider, _dataset, _agreement, job = read_world
    with ctx.db.transaction() as tx:  # a usage row edited: 1000 chip-seconds more
        first = tx.usage.list(job_id=job.id)[0]
        tx.conn.execute(update(tables.usage_records)
                        .where(tables.usage_records.c.id == first.id)
                        .values(chip_seconds=first.chip_seconds + Decimal(1000)))
    compute = svc.compute_used(ctx, operator)
    assert not compute.matches
    assert compute.difference is not None and "chip_hours" in compute.difference
    assert svc.dataset_reads(ctx, operator).matches  # the other reports are untouched

    with ctx.db.transaction() as tx:  # a read's totals lowered
        tx.conn.execute(update(tables.dataset_reads).values(records=1))
    reads = svc.dataset_reads(ctx, operator)
    assert not reads.matches and "records is 1 in the tables" in (reads.difference or "")

    with ctx.db.transaction() as tx:  # the job moved abroad in the tables only
        tx.conn.execute(update(tables.jobs).where(tables.jobs.c.id == job.id)
                        .values(country="US"))
    res = svc.residency_exceptions(ctx, operator)
    assert not res.matches and res.log.exceptions == ()
    [exc] = res.tables.exceptions
    assert exc.country == "US" and "outside KR" in exc.reason


# -- the pure rebuild ----------------------------------------------------------------------
def _entries(*records: AuditRecord) -> list[AuditEntry]:
    return [AuditEntry(i, r, GENESIS) for i, r in enumerate(records, 1)]


def test_log_rebuild_names_the_entry_of_each_residency_exception() -> None:
    from datetime import UTC, datetime

    t = datetime(2026, 3, 2, tzinfo=UTC)
    sys_ = Actor(ActorKind.SYSTEM, "center")
    person = Actor(ActorKind.PERSON, "per_1")
    pii = pii_summary({"records": 3, "records_with_pii": 1, "counts": {"phone": 1},
                       "actions": {"phone": "redact"}}, {"count_dropped_for_pii": 0})
    entries = _entries(
        AuditRecord(t, sys_, "dataset.created", "dataset", "d", "prov",
                    {"version": "v1", "domestic": True, "pii": pii}),
        AuditRecord(t, person, "agreement.accepted", "agreement", "agr", "ten",
                    {"purpose": "pre-training"}),
        AuditRecord(t, person, "job.submitted", "job", "job", "ten", {}),
        AuditRecord(t, sys_, "dataset.read", "dataset", "d", "ten",
                    {"job": "job", "agreement": "agr", "records": 2, "bytes": 10,
                     "tokens": 5, "pool": "pool_us", "site": "sf", "country": "US"}),
        AuditRecord(t, sys_, "dataset.read", "dataset", "d", "ten",
                    {"job": "job", "agreement": "agr", "records": 3, "bytes": 15,
                     "tokens": 7, "pool": "pool_kr", "site": "daejeon", "country": "KR"}),
        AuditRecord(t, sys_, "dataset.version_added", "dataset", "d", "prov",
                    {"version": "v2", "domestic": True, "pii": pii}),
        AuditRecord(t, sys_, "usage.recorded", "usage", "use", "ten",
                    {"chip": "nvidia-h100-sxm", "country": "KR", "start": "2026-03-01T00:00:00."
                     "000000Z", "chip_seconds": "7200.000000", "h100e_seconds": "3600"}),
    )
    facts = from_log(entries)
    [last] = facts.reads  # one row per (job, dataset): the last totals and placement
    assert (last.records, last.country, last.person_id, last.purpose, last.provider_org_id) \
        == (3, "KR", "per_1", "pre-training", "prov")
    report = residency(facts.read_entries, Scope(), frozenset({"KR"}), facts.read_seqs)
    [exc] = report.exceptions  # the earlier placement abroad, though the last one is home
    assert (exc.seq, exc.country, exc.pool_id) == (4, "US", "pool_us")
    assert [r.version for r in facts.pii_current] == ["v2"]
    assert [r.version for r in facts.pii_history] == ["v1"]
    assert facts.pii_current[0].actions == (("phone", "redact"),)
    [c] = compute_rows(facts.usage, Scope())
    assert (c.month, c.chip_hours, c.h100e_hours) == ("2026-03", Decimal(2), Decimal(1))
