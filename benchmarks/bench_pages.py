"""Benchmark: how long every page of the portal takes to render, server-side, on a center with
10,000 jobs and 1,000 organisations.

Run: .venv/bin/python benchmarks/bench_pages.py [--database-url URL | --sqlite]
     [--orgs 1000] [--jobs 10000] [--repeat 10] [--home DIR] [--only SUBSTRING]

1. Fills a fresh database (a PostgreSQL schema of its own in ``--database-url``, default
   AICENTER_TEST_PG_URL; ``--sqlite`` for a file in the center's home) through the services,
   the way a center fills up: pools; three allocation calls; the organisations, each with an
   org-admin, a member, a token, an application that is reviewed and awarded; three data
   providers who upload six datasets (queued and ingested like the API's uploads), offer them,
   and fifty organisations that accept the offers; then the jobs, admitted in batches through
   the API's admission path (holds on the grants), one batch a day over about six weeks, each
   one launched, started, metered (one or two usage records charged to the ledger), and ended
   (succeeded, failed or cancelled) by the scheduling loop's own steps (the ``_adopt`` and
   ``_engine_started`` transitions with their audit entries, ``metering.meter_job``,
   ``royalty.record_reads`` for the jobs that read datasets, ``lifecycle.finish``) in one
   transaction per batch instead of a backend's polls: a real engine would take the jobs' hours
   of virtual time to run them. The latest batches leave jobs queued and running. A job
   reading datasets has its reads written to its meter log as the data gateway writes them.
   The first organisation (the tenant whose pages are timed) has a twentieth of the jobs.
2. Serves the app as ``aicenter serve`` mounts it (API and pages) in-process (Starlette's
   TestClient), signs in through the login form as the operator, that tenant's org-admin and
   a data provider, and asks every page the layout links to, for each of them, plus the list
   pages at their last page and the detail pages (a job, its log, a grant, a call, an
   application, an organisation, a person's tokens, a dataset, an upload, an agreement, the
   other compliance reports, another organisation's bill). Each page is asked once to warm
   up, then ``--repeat`` times; the time is measured inside the ASGI app (from the request's
   arrival to the end of the response body), so the test client's own work is left out.
3. Prints a table of the median and 95th percentile per page; exits 1 if a page answered
   other than 200 or any median is over the target (``--target-ms``, 200).

``--home DIR`` keeps the center (its files, the SQLite database or the PostgreSQL schema, and
``bench.json`` with the ids and tokens): a later run with the same ``--home`` skips the fill
(and applies any new migration), which is how a fix is timed again. Without it everything is
removed at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import create_engine, text
from starlette.types import ASGIApp, Receive, Scope, Send
from tests.support.database import PG_URL, fresh_database

from aicenter.domain.job import Job, JobStatus, spec_from_mapping
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.domain.token import Scope as TokenScope
from aicenter.exchange.meter import MeterEvent, append_events
from aicenter.services import audit
from aicenter.services import call as call_svc
from aicenter.services import grant as grant_svc
from aicenter.services import licence as licence_svc
from aicenter.services import org as org_svc
from aicenter.services import pool as pool_svc
from aicenter.services import upload as upload_svc
from aicenter.services.admission import Admitted, Submission, admit
from aicenter.services.clock import ManualClock
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.dataset import UploadRequest
from aicenter.services.lifecycle import finish
from aicenter.services.metering import meter_job
from aicenter.services.royalty import meter_log_path, record_reads
from aicenter.settings import Settings
from aicenter.storage import Database

TARGET_MS = 200.0
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
H100 = "nvidia-h100-sxm"
POOLS = {H100: [1024, 1024, 1024, 1024], "nvidia-h200": [512], "rebellions-atom": [512, 512],
         "furiosa-rngd": [512], "amd-mi300x": [512]}
JOB_CHIPS = [(H100, 1), (H100, 2), (H100, 8), ("nvidia-h200", 4), ("rebellions-atom", 2),
             ("furiosa-rngd", 1), ("amd-mi300x", 8)]
INFERENCE_CHIPS = {"rebellions-atom", "furiosa-rngd"}
BATCH = 250
"""Jobs admitted together (one batch a day of virtual time)."""
OPEN_BATCHES = 4
"""The latest batches, whose jobs are still queued or running at the end."""
PROVIDERS = 3
DATASETS_PER_PROVIDER = 2
LICENSEES = 50
console = Console()


# -- the center ---------------------------------------------------------------------------
@dataclass
class Center:
    """What the timed pages need: tokens to sign in with and ids to open."""

    secrets: dict[str, str]
    ids: dict[str, str]
    now: str
    schema: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


class Filler:
    """Fills ``ctx`` through the services, on its manual clock."""

    def __init__(self, ctx: ServiceContext, clock: ManualClock, operator: Caller,
                 progress: Progress) -> None:
        self.ctx, self.clock, self.op, self.progress = ctx, clock, operator, progress
        self.rng_state = 12345
        self.members: dict[str, Caller] = {}
        self.admins: dict[str, Caller] = {}
        self.grants: dict[str, str] = {}
        self.calls: list[str] = []
        self.apps: dict[str, str] = {}
        self.providers: list[Caller] = []
        self.datasets: list[str] = []
        self.uploads: list[str] = []
        self.offers: list[str] = []
        self.agreements: dict[str, list[tuple[str, str]]] = {}
        self.secrets: dict[str, str] = {}

    def rand(self, n: int) -> int:
        """A deterministic pseudo-random integer in [0, n) (an LCG: the same center every run)."""
        self.rng_state = (self.rng_state * 6364136223846793005 + 1442695040888963407) % 2**64
        return (self.rng_state >> 33) % n

    def tick(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def move_to(self, at: datetime) -> None:
        """Forward to ``at`` (never back: the audit log's times only grow)."""
        if at > self.clock.now():
            self.clock.advance((at - self.clock.now()).total_seconds())

    # -- set-up -----------------------------------------------------------------------------
    def center(self) -> None:
        for chip, sizes in POOLS.items():
            for i, size in enumerate(sizes):
                pool_svc.add_pool(self.ctx, self.op, chip, size,
                                  site=("haenam", "gwangju", "daejeon")[i % 3])
        everyone = frozenset(OrgClass) - {OrgClass.OPERATOR}
        caps = {chip: 256 for chip in POOLS}
        for name, classes in (("2026 national AI compute call", everyone),
                              ("Startup growth track", frozenset({OrgClass.STARTUP,
                                                                  OrgClass.YOUTH_STARTUP,
                                                                  OrgClass.SME})),
                              ("Academic research track",
                               frozenset({OrgClass.UNIVERSITY,
                                          OrgClass.RESEARCH_INSTITUTE}))):
            call = call_svc.open_call(self.ctx, self.op, call_svc.CallRequest(name, classes, caps))
            self.calls.append(call.id)

    def orgs(self, count: int) -> None:
        classes = [c for c in OrgClass if c is not OrgClass.OPERATOR]
        task = self.progress.add_task("organisations", total=count)
        for i in range(count):
            cls = classes[i % len(classes)]
            org = org_svc.create_org(self.ctx, self.op, f"Org {i:04d} {cls.value}", cls,
                                     chase_team=i % 50 == 0,
                                     region="capital" if i % 3 else "non-capital")
            admin = Caller(org_svc.add_person(self.ctx, self.op, org.id, f"Admin {i}",
                                              f"admin{i}@org{i}.kr", Role.ORG_ADMIN))
            member = Caller(org_svc.add_person(self.ctx, self.op, org.id, f"Member {i}",
                                               f"member{i}@org{i}.kr", Role.MEMBER))
            _, secret = org_svc.create_token(self.ctx, self.op, admin.person.id, "cli",
                                             frozenset({TokenScope.READ, TokenScope.WRITE}),
                                             365)
            if i == 0:
                self.secrets["tenant"] = secret
            self.admins[org.id], self.members[org.id] = admin, member
            call = self.calls[0] if cls in (OrgClass.ENTERPRISE, OrgClass.PUBLIC_AGENCY) \
                or i % 2 == 0 else (self.calls[1] if cls in (
                    OrgClass.STARTUP, OrgClass.YOUTH_STARTUP, OrgClass.SME) else self.calls[2])
            chips = {H100: 8, "nvidia-h200": 4, "rebellions-atom": 4, "furiosa-rngd": 2,
                     "amd-mi300x": 8}
            budget = Decimal(50_000 if i == 0 else 10_000)
            app = call_svc.apply(self.ctx, admin, call, org.id, f"Model {i}", chips, 6, budget)
            self.apps[org.id] = app.id
            call_svc.review(self.ctx, self.op, app.id, 5 + i % 5, 6, 4 + i % 6)
            view = grant_svc.award(self.ctx, self.op, app.id, budget)
            self.grants[org.id] = view.grant.id
            self.tick(37)
            self.progress.advance(task)

    def exchange(self, home: Path) -> None:
        task = self.progress.add_task("datasets, offers, agreements",
                                      total=PROVIDERS * DATASETS_PER_PROVIDER + LICENSEES)
        today = self.clock.now().date()
        for p in range(PROVIDERS):
            org = org_svc.create_org(self.ctx, self.op, f"Provider {p} News", OrgClass.ENTERPRISE)
            provider = Caller(org_svc.add_person(self.ctx, self.op, org.id, f"Provider {p}",
                                                 f"data{p}@news{p}.kr", Role.DATA_PROVIDER))
            _, secret = org_svc.create_token(self.ctx, self.op, provider.person.id, "web",
                                             frozenset({TokenScope.READ, TokenScope.WRITE}),
                                             365)
            if p == 0:
                self.secrets["provider"] = secret
            self.providers.append(provider)
            for d in range(DATASETS_PER_PROVIDER):
                upload_id = upload_svc.new_upload_id()
                folder = upload_svc.upload_folder(self.ctx, upload_id)
                folder.mkdir(parents=True)
                source = folder / "articles.jsonl"
                source.write_text("".join(
                    json.dumps({"text": f"{p}-{d} 기사 {i}: 반도체 수출이 {i % 7}% 늘었다. "
                                        f"문의 02-{1000 + i}-5678"}, ensure_ascii=False) + "\n"
                    for i in range(200)), encoding="utf-8")
                request = UploadRequest(f"news-{p}-{d}", "articles.jsonl",
                                        licence_text="proprietary",
                                        description="Articles of a Korean newspaper")
                upload_svc.accept(self.ctx, provider, upload_id, request, source)
                done = upload_svc.run_upload(self.ctx, upload_id)
                assert done is not None and done.status.value == "succeeded", done
                dataset_id = self._dataset_of(provider, request.name)
                self.uploads.append(upload_id)
                self.datasets.append(dataset_id)
                for basis, amount in (("per-gb", "50000"), ("flat", "3000000")):
                    offer = licence_svc.create_offer(self.ctx, provider, dataset_id, {
                        "purposes": ["pre-training", "fine-tuning"],
                        "term_start": str(today), "term_end": str(today + timedelta(days=365)),
                        "territory": ["KR"], "model_release": "research-release",
                        "price": {"basis": basis, "amount": amount}, "attribution": "",
                        "exclusive": False, "output_policy": "withhold"})
                    self.offers.append(offer.id)
                self.tick(60)
                self.progress.advance(task)
        licensees = list(self.admins)[:LICENSEES]
        for n, org_id in enumerate(licensees):
            offer_id = self.offers[(2 * n) % len(self.offers)]  # the per-gb offers
            agreement = licence_svc.accept(self.ctx, self.admins[org_id], offer_id,
                                           "pre-training")
            self.agreements.setdefault(org_id, []).append((agreement.id,
                                                           agreement.offer.dataset_id))
            self.tick(30)
            self.progress.advance(task)

    def _dataset_of(self, provider: Caller, name: str) -> str:
        with self.ctx.db.transaction(write=False) as tx:
            found = [d.id for d in tx.datasets.list(provider.org_id) if d.name == name]
        return found[0]

    # -- jobs -------------------------------------------------------------------------------
    def jobs(self, count: int) -> dict[str, int]:
        """``count`` jobs, a batch a day; returns how many ended in each state."""
        org_ids = list(self.members)
        tenant = org_ids[0]
        owners = [tenant] * max(count // 20, 1)
        owners += [org_ids[1 + i % (len(org_ids) - 1)] for i in range(count - len(owners))]
        order = sorted(range(count), key=lambda _: self.rand(1 << 30))
        owners = [owners[i] for i in order]
        batches = [owners[i:i + BATCH] for i in range(0, count, BATCH)]
        task = self.progress.add_task("jobs", total=count)
        states: dict[str, int] = {}
        day0 = self.clock.now().replace(hour=8, minute=0, second=0) + timedelta(days=1)
        for b, batch in enumerate(batches):
            self.move_to(day0 + timedelta(days=b))
            open_batch = b >= len(batches) - OPEN_BATCHES
            admitted = self._admit(batch)
            for status in self._run(admitted, open_batch):
                states[status] = states.get(status, 0) + 1
            self.progress.advance(task, len(batch))
        return states

    def _spec(self, org_id: str, n: int) -> tuple[dict[str, Any], bool]:
        chip, chips = JOB_CHIPS[self.rand(len(JOB_CHIPS))]
        spec: dict[str, Any] = {
            "name": f"train-{n}", "command": "python train.py --config cfg.yaml",
            "resources": [{"chip": chip, "count": chips}],
            "max_duration": f"{2 + self.rand(10)}h",
            "priority": ("normal", "normal", "normal", "best-effort")[self.rand(4)]}
        if chip in INFERENCE_CHIPS:
            spec["workload"] = "inference"
            spec["name"] = f"serve-{n}"
        reads = org_id in self.agreements and self.rand(4) == 0
        if reads:
            spec["datasets"] = [self.agreements[org_id][0][1]]
            spec["purpose"] = "pre-training"
        return spec, reads

    def _admit(self, owners: list[str]) -> list[Job]:
        subs = []
        for n, org_id in enumerate(owners):
            spec, _ = self._spec(org_id, n)
            subs.append(Submission(spec_from_mapping(spec), self.members[org_id],
                                   org_id=org_id, grant_id=self.grants[org_id]))
        jobs = []
        for outcome in admit(self.ctx, subs):
            if not isinstance(outcome, Admitted):
                raise outcome
            jobs.append(outcome.job)
        return jobs

    def _run(self, jobs: list[Job], open_batch: bool) -> Iterator[str]:
        """Launch, start, meter and end a day's jobs, as the scheduling loop would."""
        plan: list[tuple[Job, str, int]] = []
        for job in jobs:
            roll = self.rand(100)
            if open_batch:
                fate = "queued" if roll < 45 else "running" if roll < 80 else \
                    ("succeeded" if roll < 92 else "failed")
            else:
                fate = "succeeded" if roll < 74 else "failed" if roll < 88 else \
                    ("cancelled-queued" if roll < 93 else "cancelled")
            plan.append((job, fate, 600 + self.rand(int(job.spec.max_duration_s) - 600)))
        self.tick(300)
        for job, fate, _ in plan:
            if fate == "cancelled-queued":
                with self.ctx.db.transaction() as tx:
                    finish(tx, job, JobStatus.CANCELLED, self.ctx,
                           message="cancelled while queued", caller=self.members[job.org_id])
                yield "cancelled"
        launched = [(j, f, d) for j, f, d in plan if f not in ("queued", "cancelled-queued")]
        with self.ctx.db.transaction() as tx:
            pools = {p.chip_id: p for p in tx.pools.list()}
            started: list[tuple[Job, str, int]] = []
            for job, fate, duration in launched:
                chip, count = job.spec.resources[0].chip, job.spec.resources[0].count
                pool = pools[chip]
                handle = f"local:{job.id}-0-1@/var/lib/aicenter/runs/{job.id}"
                tx.jobs.update(job.id, expect_status=JobStatus.QUEUED,
                               status=JobStatus.RUNNING, handle=handle, chip=chip,
                               chip_count=count, backend="local", attempts=1, message="",
                               pending_reason=None, pool_id=pool.id, site=pool.site,
                               country=pool.country)
                audit.job_change(self.ctx, tx, None, "job.launched", job, run=handle,
                                 pool=pool.id, chip=chip, chips=count, site=pool.site,
                                 country=pool.country, attempt=1)
                at = self.clock.now() + timedelta(seconds=20)
                tx.jobs.update(job.id, started_at=at, metered_until=at)
                audit.job_change(self.ctx, tx, None, "job.started", job, at=at)
                started.append((replace(job, status=JobStatus.RUNNING, handle=handle,
                                        chip=chip, chip_count=count, pool_id=pool.id,
                                        site=pool.site, country=pool.country, attempts=1,
                                        started_at=at, metered_until=at), fate, duration))
        # each job ends at its own time: the clock moves through the ends in order (one
        # transaction for the day's ends, where the loop takes one per job: the same rows)
        with self.ctx.db.transaction() as tx:
            for job, fate, duration in sorted(started, key=lambda s: s[2]):
                assert job.started_at is not None
                end = job.started_at + timedelta(seconds=duration)
                self.move_to(end)
                if duration > 3600:  # one metering interval's record, then the rest
                    middle = job.started_at + timedelta(seconds=duration // 2)
                    meter_job(tx, self.ctx, job, middle)
                    job = replace(job, metered_until=middle)
                meter_job(tx, self.ctx, job, end)
                if job.spec.datasets:
                    self._reads(job, end)
                    record_reads(tx, self.ctx, job, final=fate != "running")
                if fate == "running":
                    yield "running"
                    continue
                status = {"succeeded": JobStatus.SUCCEEDED, "failed": JobStatus.FAILED,
                          "cancelled": JobStatus.CANCELLED}[fate]
                finish(tx, job, status, self.ctx, exit_code=0 if fate == "succeeded" else 1,
                       message="" if fate == "succeeded" else f"run {fate}")
                yield fate
        yield from ("queued" for _, f, _ in plan if f == "queued")

    def _reads(self, job: Job, at: datetime) -> None:
        """What the data gateway writes to the job's meter log while it reads."""
        agreement = next(a for a, d in self.agreements[job.org_id] if d == job.spec.datasets[0])
        writer = f"gw-{job.id}"
        events = [MeterEvent(writer, n + 1, job.id, job.spec.datasets[0], agreement,
                             at - timedelta(minutes=10 * (3 - n)), 64, 64 * 900, 64 * 300)
                  for n in range(3)]
        append_events(meter_log_path(self.ctx, job.id), events)


def fill(ctx: ServiceContext, clock: ManualClock, orgs: int, jobs: int, home: Path
         ) -> Center:
    boot = org_svc.bootstrap_operator(ctx)
    assert boot is not None
    operator = Caller(boot[0])
    op_secret = boot[1]
    with Progress(TextColumn("{task.description:<30}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console) as progress:
        f = Filler(ctx, clock, operator, progress)
        f.center()
        f.orgs(orgs)
        f.exchange(home)
        states = f.jobs(jobs)
        clock.advance(3600)
        grant_svc.reclaim_idle(ctx, operator)
    tenant = next(iter(f.members))
    with ctx.db.transaction(write=False) as tx:
        tenant_jobs = tx.jobs.list(org_id=tenant, limit=1, newest_first=True)
        other = tx.jobs.list(org_id=list(f.members)[7], limit=1)
        audit_size = tx.audit.head().seq
    ids = {"tenant_org": tenant, "tenant_person": f.admins[tenant].person.id,
           "tenant_job": tenant_jobs[0].id, "other_job": other[0].id,
           "tenant_grant": f.grants[tenant], "call": f.calls[0], "application": f.apps[tenant],
           "other_org": list(f.members)[7], "provider_org": f.providers[0].org_id,
           "dataset": f.datasets[0], "upload": f.uploads[0],
           "agreement": f.agreements[tenant][0][0] if tenant in f.agreements else "",
           "audit_size": str(audit_size)}
    return Center({"operator": op_secret, **f.secrets}, ids, clock.now().isoformat(),
                  counts=states)


# -- the database -------------------------------------------------------------------------
@contextmanager
def database(url: str | None, home: Path, keep: bool, stored: Center | None
             ) -> Iterator[tuple[Database, str | None]]:
    """The center's database: a fresh one (dropped at the end unless ``keep``), or the one
    ``stored`` names; migrated either way."""
    if url is None or not url.startswith("postgresql"):
        db = Database(url or f"sqlite:///{home / 'aicenter.db'}")
        try:
            db.migrate()
            yield db, None
        finally:
            db.dispose()
        return
    if not keep:
        with fresh_database(url, home, prefix="bench_pages") as db:
            yield db, None
        return
    schema = stored.schema if stored is not None and stored.schema else \
        f"bench_pages_{secrets.token_hex(4)}"
    with create_engine(url).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    db = Database(url, pool_size=20, connect_args={"options": f"-csearch_path={schema}"})
    try:
        db.migrate()
        yield db, schema
    finally:
        db.dispose()


# -- timing -------------------------------------------------------------------------------
class Timed:
    """An ASGI wrapper that records how long the app took over each HTTP request: from the
    call to the end of the response's last body message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last_s = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.last_s = time.perf_counter() - start


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NAV = re.compile(r'<nav aria-label="[^"]*">(.*?)</nav>', re.S)
HREF = re.compile(r'href="(/[^"#?]*)"')


def sign_in(client: Any, secret: str) -> None:
    client.cookies.clear()
    form = {"token": secret}
    found = CSRF.search(client.get("/login").text)
    if found:
        form["csrf_token"] = found.group(1)
    answer = client.post("/login", data=form)
    assert answer.status_code == 303, answer.text[:500]


def nav_links(html: str) -> list[str]:
    """The main navigation's links of a rendered page (the first <nav>)."""
    found = NAV.search(html)
    links = HREF.findall(found.group(1)) if found else []
    return list(dict.fromkeys(links))


def pages_of(role: str, nav: list[str], ids: dict[str, str]) -> list[str]:
    """The pages timed for ``role``: its layout's links, their last pages, the details."""
    last = "page=100000"  # past the end: a list shows its last page
    paged = {"/jobs", "/orgs", "/calls", "/datasets", "/offers", "/agreements", "/uploads",
             "/reclaims", "/dataset-reads", "/identities", "/grants"}
    pages = list(nav)
    pages += [f"{p}?{last}" for p in nav if p in paged]
    month = datetime.fromisoformat(ids["now"]).strftime("%Y-%m")
    earlier = (datetime.fromisoformat(ids["now"]).replace(day=1) - timedelta(days=1)
               ).strftime("%Y-%m")
    if role == "operator":
        pages += [f"/jobs/{ids['tenant_job']}", f"/jobs/{ids['tenant_job']}/log",
                  f"/jobs?status=succeeded&{last}", f"/grants/{ids['tenant_grant']}",
                  f"/calls/{ids['call']}", f"/applications/{ids['application']}",
                  f"/orgs/{ids['other_org']}", f"/people/{ids['tenant_person']}/tokens",
                  f"/datasets/{ids['dataset']}", f"/uploads/{ids['upload']}",
                  f"/agreements/{ids['agreement']}", f"/bill?org_id={ids['tenant_org']}",
                  f"/usage?month={earlier}",
                  f"/audit?after={int(ids['audit_size']) // 2}",
                  "/compliance?report=residency", "/compliance?report=pii",
                  f"/compliance?report=compute&month={month}",
                  f"/compliance?report=compute&{last}",
                  f"/royalties?org_id={ids['provider_org']}"]
    elif role == "tenant":
        pages += [f"/jobs/{ids['tenant_job']}", f"/jobs/{ids['tenant_job']}/log",
                  f"/grants/{ids['tenant_grant']}", f"/grants/{ids['tenant_grant']}?{last}",
                  f"/calls/{ids['call']}", f"/applications/{ids['application']}",
                  f"/orgs/{ids['tenant_org']}", f"/people/{ids['tenant_person']}/tokens",
                  f"/datasets/{ids['dataset']}", f"/agreements/{ids['agreement']}",
                  f"/usage?month={earlier}", "/compliance?report=compute"]
    else:
        pages += [f"/datasets/{ids['dataset']}", f"/uploads/{ids['upload']}",
                  f"/agreements/{ids['agreement']}", f"/royalties?month={earlier}",
                  "/compliance?report=pii"]
    return list(dict.fromkeys(pages))


@dataclass
class Timing:
    role: str
    page: str
    status: int
    size: int
    times_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def time_pages(ctx: ServiceContext, center: Center, repeat: int, only: str | None
               ) -> list[Timing]:
    from fastapi.testclient import TestClient

    from aicenter.api import create_app
    from aicenter.web import mount

    app = create_app(ctx)
    mount(app)  # as the server does
    timed = Timed(app)
    results: list[Timing] = []
    ids = {**center.ids, "now": center.now}
    with TestClient(timed, follow_redirects=False, headers={"Accept-Language": "ko"}) as client, \
            Progress(TextColumn("{task.description:<60}"), BarColumn(), MofNCompleteColumn(),
                     TimeElapsedColumn(), console=console) as progress:
        for role in ("operator", "tenant", "provider"):
            sign_in(client, center.secrets[role])
            nav = nav_links(client.get("/").text)
            pages = [p for p in pages_of(role, nav, ids) if not only or only in p]
            task = progress.add_task(role, total=len(pages))
            for page in pages:
                progress.update(task, description=f"{role} {page[:50]}")
                answer = client.get(page)  # warm-up (templates, caches, the plan)
                times = []
                for _ in range(repeat):
                    answer = client.get(page)
                    times.append(timed.last_s * 1000)
                results.append(Timing(role, page, answer.status_code, len(answer.content),
                                      times))
                progress.advance(task)
            progress.update(task, description=role)
    return results


def report(results: list[Timing], target_ms: float, title: str) -> bool:
    table = Table(title=title)
    for heading in ("role", "page", "status", "KiB", "median ms", "p95 ms"):
        table.add_column(heading, justify="left" if heading in ("role", "page") else "right")
    ok = True
    for r in results:
        slow = r.median > target_ms
        bad = r.status != 200
        ok = ok and not slow and not bad
        style = "bold red" if slow or bad else None
        table.add_row(r.role, r.page if len(r.page) < 60 else r.page[:57] + "...",
                      str(r.status), f"{r.size / 1024:.0f}", f"{r.median:.1f}",
                      f"{r.p95:.1f}", style=style)
    console.print(table)
    return ok


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=PG_URL,
                        help="PostgreSQL URL (default AICENTER_TEST_PG_URL)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite in the center's home")
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--target-ms", type=float, default=TARGET_MS)
    parser.add_argument("--home", type=Path, help="keep the center here (reused if filled)")
    parser.add_argument("--only", help="time only pages whose address contains this")
    parser.add_argument("--fill-only", action="store_true",
                        help="fill the center (with --home) and time nothing")
    args = parser.parse_args(argv)
    url = None if args.sqlite else args.database_url
    keep = args.home is not None
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-pages-"))
    home.mkdir(parents=True, exist_ok=True)
    saved = home / "bench.json"
    stored = Center(**json.loads(saved.read_text())) if saved.exists() else None
    try:
        with database(url, home, keep, stored) as (db, schema):
            now = datetime.fromisoformat(stored.now) if stored else START
            clock = ManualClock(now)
            ctx = ServiceContext(db=db, settings=Settings(home=home / "home",
                                                          database_url=db.url), clock=clock)
            if stored is None:
                began = time.perf_counter()
                center = fill(ctx, clock, args.orgs, args.jobs, home)
                center.schema = schema
                console.print(f"filled in {time.perf_counter() - began:.0f} s: "
                              f"{args.orgs} organisations, {args.jobs} jobs {center.counts}")
                if keep:
                    saved.write_text(json.dumps(center.__dict__, indent=1))
            else:
                center = stored
                console.print(f"reusing the center in {home} ({center.counts})")
            if db.dialect == "postgresql":
                # the planner's statistics, as autovacuum keeps them on a real server (the
                # test server here runs with autovacuum off: without them PostgreSQL chose a
                # hash join over every posting where an index look-up per job takes 30 ms)
                with db.engine.begin() as conn:
                    conn.execute(text("ANALYZE"))
            if args.fill_only:
                return 0
            load = load_average()
            results = time_pages(ctx, center, args.repeat, args.only)
            ok = report(results, args.target_ms,
                        f"Server-side page time on {db.dialect}, {args.orgs} organisations, "
                        f"{args.jobs} jobs, {args.repeat} runs each "
                        f"(load average before {load}, after {load_average()})")
    finally:
        if not keep:
            shutil.rmtree(home, ignore_errors=True)
    worst = max(results, key=lambda r: r.median)
    console.print(f"slowest median: {worst.page} ({worst.role}) {worst.median:.1f} ms; "
                  f"target {args.target_ms:.0f} ms: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
