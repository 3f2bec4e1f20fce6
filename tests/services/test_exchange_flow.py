"""Compute-to-data end to end on the local backend: a provider uploads and offers a dataset, a
tenant licenses it, a job reads it through ``open_dataset`` and is metered and billed exactly;
without an agreement a job is refused and reads nothing; a domestic dataset gets no grant on a
foreign pool; the royalty statement from the ledger equals the one rebuilt from the audit log."""

from __future__ import annotations

import json
import random
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from aicenter.domain.job import JobStatus, parse_job_spec
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.exchange.licence import AccessDeniedError
from aicenter.exchange.meter import read_log, usage_by_job_dataset
from aicenter.exchange.royalty import DATA_BYTES, DATA_TOKENS, month_of, read_account
from aicenter.policy import PermissionDeniedError
from aicenter.server.runtime import attach_backend
from aicenter.services import dataset as dataset_svc
from aicenter.services import job as job_svc
from aicenter.services import licence as licence_svc
from aicenter.services import org as org_svc
from aicenter.services import royalty as royalty_svc
from aicenter.services.clock import SystemClock
from aicenter.services.context import Caller, ServiceContext
from tests.services.fixtures import seed_center
from tests.services.test_job_flow import run_until

_RNG = random.Random(6)
ARTICLES = [  # distinct texts: near-duplicates would be dropped by the ingest
    {"text": f"기사 {i}: " + " ".join("".join(chr(0xAC00 + _RNG.randrange(11172))
                                             for _ in range(4)) for _ in range(30)),
     "url": f"https://n.kr/{i}", "publisher": "Daily News", "date": "2025-01-02"}
    for i in range(40)
]
READER = (f"{sys.executable} -c \"from aicenter.exchange.reader import open_dataset; "
          "print('read', sum(1 for _ in open_dataset('daily-news')))\"")


def _spec(datasets: list[str], command: str = READER, purpose: str = "pre-training"):  # type: ignore[no-untyped-def]
    return parse_job_spec(json.dumps({
        "name": "reader", "command": command, "max_duration": "60s",
        "resources": [{"chip": "nvidia-h100-sxm", "count": 1}], "datasets": datasets,
        "purpose": purpose}))


@pytest.fixture
def exchange(ctx: ServiceContext, operator: Caller, tmp_path: Path):  # type: ignore[no-untyped-def]
    ctx.clock = SystemClock()
    ctx.settings.metering_interval_s = 0.5
    _org, member, _grant = seed_center(ctx, operator, budget="100",
                                       chips={"nvidia-h100-sxm": 8, "nvidia-h200": 8},
                                       pools={"nvidia-h100-sxm": 8, "nvidia-h200": 8})
    news = org_svc.create_org(ctx, operator, "Daily News", OrgClass.ENTERPRISE)
    provider = Caller(org_svc.add_person(ctx, operator, news.id, "P", "p@news.kr",
                                         Role.DATA_PROVIDER))
    source = tmp_path / "articles.jsonl"
    source.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in ARTICLES),
                      encoding="utf-8")
    dataset = dataset_svc.upload(ctx, provider, dataset_svc.UploadRequest(
        "daily-news", "articles.jsonl", licence_text="proprietary", domestic=True), source)
    today = ctx.clock.now().date()
    offer = licence_svc.create_offer(ctx, provider, dataset.id, {
        "purposes": ["pre-training"], "term_start": str(today - timedelta(days=1)),
        "term_end": str(today + timedelta(days=365)), "territory": ["KR"],
        "price": {"basis": "per-million-tokens", "amount": "1000000"}})
    attach_backend(ctx)
    return ctx, member, provider, dataset, offer


def test_upload_keeps_records_inside_and_reports_metadata(exchange) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _provider, dataset, _offer = exchange
    shown = dataset_svc.get_dataset(ctx, member, "daily-news")
    assert shown.stats["records"] == len(ARTICLES) and not Path(ctx.settings.home /
                                                               "uploads").exists()
    assert shown.croissant["name"] and shown.version == dataset.version
    assert ctx.authz.allowed(member.person, "dataset:read",
                             dataset_svc.Resource("Dataset", "daily-news"))
    with pytest.raises(ValueError, match="unknown action"):  # no download action exists
        ctx.authz.allowed(member.person, "dataset:download",
                          dataset_svc.Resource("Dataset", "daily-news", member.org_id))


def test_member_may_not_upload_or_offer(exchange, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _provider, dataset, _offer = exchange
    f = tmp_path / "x.txt"
    f.write_text("hello\n")
    with pytest.raises(PermissionDeniedError):
        dataset_svc.upload(ctx, member, dataset_svc.UploadRequest(
            "mine", "x.txt", licence_text="x"), f)
    with pytest.raises(PermissionDeniedError):
        licence_svc.create_offer(ctx, member, dataset.id, {})


def test_job_without_agreement_is_refused_and_reads_nothing(exchange) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _provider, _dataset, _offer = exchange
    with pytest.raises(AccessDeniedError, match="no-agreement"):
        job_svc.submit(ctx, member, _spec(["daily-news"]))
    # a job that names no dataset but tries the reader anyway: no grant, no byte
    sneaky, _ = job_svc.submit(ctx, member, _spec([]))
    done = run_until(ctx, sneaky.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is JobStatus.FAILED
    assert "no data grant" in job_svc.logs(ctx, member, sneaky.id).text
    assert not royalty_svc.meter_log_path(ctx, sneaky.id).exists()
    assert not royalty_svc.audit_log_path(ctx).exists() or not read_log(
        royalty_svc.audit_log_path(ctx)).meters


def test_licensed_job_is_metered_and_billed_exactly(exchange) -> None:  # type: ignore[no-untyped-def]
    ctx, member, provider, _dataset, offer = exchange
    with pytest.raises(AccessDeniedError, match="wrong-purpose"):
        agreement = licence_svc.accept(ctx, member, offer.id, "pre-training")
        job_svc.submit(ctx, member, _spec(["daily-news"], purpose="fine-tuning"))
    job, _ = job_svc.submit(ctx, member, _spec(["daily-news"]))
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    log = job_svc.logs(ctx, member, job.id).text
    assert done.status is JobStatus.SUCCEEDED, log
    assert f"read {len(ARTICLES)}" in log
    meters = read_log(royalty_svc.meter_log_path(ctx, job.id)).meters
    metered = usage_by_job_dataset(meters)[(job.id, "daily-news")]
    assert metered.records == len(ARTICLES)
    with ctx.db.transaction(write=False) as tx:
        reads = tx.datasets.reads(job_id=job.id)
        receivable = tx.ledger.flow(f"receivable:{member.org_id}", "KRW", "royalty")
        royalty = tx.ledger.balance(f"royalty:{provider.org_id}", "KRW")
        booked_bytes = tx.ledger.balance(read_account(agreement.id), DATA_BYTES)
        booked_tokens = tx.ledger.balance(read_account(agreement.id), DATA_TOKENS)
        assert tx.ledger.unbalanced_transactions() == []
        assert tx.ledger.balance_drift() == []  # running balances = postings
    assert [r.usage for r in reads] == [metered]
    assert booked_bytes == metered.bytes and booked_tokens == metered.tokens
    # price 1,000,000 KRW per million tokens → 1 KRW per token, rounded once per line
    assert receivable == metered.tokens > 0
    assert royalty == -receivable
    # settling again books nothing new
    with ctx.db.transaction() as tx:
        assert royalty_svc.record_reads(tx, ctx, tx.jobs.get(job.id), final=True) == 0
    pair = royalty_svc.statement(ctx, provider, provider.org_id, month_of(ctx.clock.now()))
    assert pair.matches and pair.ledger.total_gross_krw == receivable
    assert [r.usage for r in dataset_svc.usage(ctx, provider)] == [metered]
    with pytest.raises(PermissionDeniedError):
        royalty_svc.statement(ctx, member, provider.org_id, month_of(ctx.clock.now()))


def test_domestic_dataset_gets_no_grant_on_a_foreign_pool(exchange) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _provider, _dataset, offer = exchange
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    job, _ = job_svc.submit(ctx, member, _spec(["daily-news"]))
    with pytest.raises(AccessDeniedError, match="domestic"):
        dataset_svc.launch_env(ctx, job, "US")
    assert not royalty_svc.grant_path(ctx, job.id).exists()
    env = dataset_svc.launch_env(ctx, job, "KR")
    assert env["AICENTER_DATA_GRANT"] == str(royalty_svc.grant_path(ctx, job.id))


def test_job_placed_on_a_foreign_pool_fails_without_a_grant(exchange) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _provider, _dataset, offer = exchange
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    job, _ = job_svc.submit(ctx, member, _spec(["daily-news"]))  # admitted: a KR pool exists
    from sqlalchemy import update

    from aicenter.storage.tables import pools

    with ctx.db.transaction() as tx:  # the only H100 pool turns out to be abroad
        tx.conn.execute(update(pools).values(country="US"))
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is JobStatus.FAILED and "no data grant" in done.message
    assert "domestic" in done.message and done.attempts == 0  # never launched
    assert not royalty_svc.grant_path(ctx, job.id).exists()
    assert not royalty_svc.meter_log_path(ctx, job.id).exists()


def test_domestic_data_steers_the_job_to_a_domestic_pool(exchange) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from aicenter.services.scheduling import _view
    from aicenter.storage.tables import pools

    ctx, member, _provider, _dataset, offer = exchange
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    with ctx.db.transaction() as tx:  # the H100s are abroad, the H200s at home
        tx.conn.execute(update(pools).where(pools.c.chip_id == "nvidia-h100-sxm")
                        .values(country="US"))
    spec = parse_job_spec(json.dumps({
        "name": "reader", "command": READER, "max_duration": "60s", "datasets": ["daily-news"],
        "resources": [{"chip": "nvidia-h100-sxm", "count": 1},
                      {"chip": "nvidia-h200", "count": 1}]}))
    job, _ = job_svc.submit(ctx, member, spec)
    plain, _ = job_svc.submit(ctx, member, parse_job_spec(json.dumps({
        **spec.to_dict(), "datasets": [], "command": "true"})))
    view = _view(ctx, [job, plain])
    queue, stranded = view.queue, view.stranded
    demands = {p.job.id: [d.chip_type for d in p.job.demand] for p in queue}
    assert demands == {job.id: ["nvidia-h200"],
                       plain.id: ["nvidia-h100-sxm", "nvidia-h200"]} and stranded == []
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is JobStatus.SUCCEEDED and done.chip == "nvidia-h200"


def test_royalties_are_booked_while_the_job_runs(exchange) -> None:  # type: ignore[no-untyped-def]
    import time

    from aicenter.services.scheduling import make_policy, run_round

    ctx, member, provider, _dataset, offer = exchange
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    job, _ = job_svc.submit(ctx, member, _spec(["daily-news"], command=READER + "; sleep 4"))
    policy = make_policy(ctx)
    seen_running_booked = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run_round(ctx, policy)
        with ctx.db.transaction(write=False) as tx:
            status = tx.jobs.get(job.id).status
            booked = tx.ledger.flow(f"receivable:{member.org_id}", "KRW", "royalty")
        if status is JobStatus.RUNNING and booked > 0:
            seen_running_booked = True
        if status.finished:
            break
        time.sleep(0.2)
    assert seen_running_booked and status is JobStatus.SUCCEEDED
    metered = usage_by_job_dataset(read_log(royalty_svc.meter_log_path(ctx, job.id)).meters)
    assert booked == metered[(job.id, "daily-news")].tokens  # once, not twice
    month = month_of(ctx.clock.now())
    assert royalty_svc.statement(ctx, provider, provider.org_id, month).matches
