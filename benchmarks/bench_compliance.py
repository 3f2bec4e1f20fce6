"""Benchmark: the compliance reports over 10^4 dataset reads and 10^4 usage records, each
computed from the tables and rebuilt from the audit log (issue 15 item 3).

Run: .venv/bin/python benchmarks/bench_compliance.py [--reads 10000] [--database-url URL]

SQLite (a temporary file) by default; PostgreSQL when ``--database-url`` names one. The data
is written as the services write it (a dataset_reads row and a ``dataset.read`` entry per job,
a usage row and a ``usage.recorded`` entry per interval, a ``job.submitted`` entry per job),
then each report is timed (median of 3, both sides and the comparison) and must match.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from aicenter.domain.dataset import Dataset, DatasetRead, Usage
from aicenter.domain.job import parse_job_spec
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.domain.usage import UsageRecord
from aicenter.ledger.audit.compliance import pii_summary
from aicenter.services import audit, compliance
from aicenter.services import job as job_svc
from aicenter.services import licence as licence_svc
from aicenter.services import org as org_svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.org import bootstrap_operator
from aicenter.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.services.fixtures import seed_center
from tests.support.database import fresh_database


def fill(ctx: ServiceContext, op: Caller, n: int) -> None:
    """``n`` jobs of one tenant, each reading the provider's domestic dataset once and metered
    for one interval, in the tables and in the log."""
    _org, member, _grant = seed_center(ctx, op)
    news = org_svc.create_org(ctx, op, "News", OrgClass.ENTERPRISE)
    provider = Caller(org_svc.add_person(ctx, op, news.id, "P", "p@n.kr", Role.DATA_PROVIDER))
    now = ctx.clock.now()
    pii = {"records": 10, "records_with_pii": 1, "counts": {"phone": 1},
           "actions": {"phone": "redact"}}
    with ctx.db.transaction() as tx:
        row = Dataset("news", "news", news.id, "v1", "0" * 64, "/nowhere", True, "x", "", now,
                      {}, {"records": 10}, pii)
        tx.datasets.add(row)
        audit.changed(ctx, tx, None, "dataset.created", "dataset", "news", news.id,
                      version="v1", domestic=True, pii=pii_summary(pii, row.stats))
    today = now.date()
    offer = licence_svc.create_offer(ctx, provider, "news", {
        "purposes": ["pre-training"], "term_start": str(today - timedelta(days=1)),
        "term_end": str(today + timedelta(days=365)), "price": {"basis": "flat",
                                                               "amount": "0"}})
    agreement = licence_svc.accept(ctx, member, offer.id, "pre-training")
    spec = parse_job_spec(json.dumps({"name": "r", "command": "true", "max_duration": "60s",
                                      "resources": [{"chip": "nvidia-h100-sxm", "count": 1}]}))
    template, _ = job_svc.submit(ctx, member, spec)
    for start in range(0, n, 1000):
        with ctx.db.transaction() as tx:
            jobs = [dataclasses.replace(template, id=f"job_{i:020x}", pool_id="pool_kr",
                                        site="daejeon", country="KR")
                    for i in range(start, min(n, start + 1000))]
            tx.jobs.add_many(jobs)
            records = []
            for i, job in enumerate(jobs):
                used = Usage(100 + i, 1000 + i, 500 + i)
                tx.datasets.record_read(DatasetRead(job.id, "news", job.org_id, agreement.id,
                                                    used, now))
                use = UsageRecord(f"use_{job.id}", job.id, job.org_id, template.grant_id,
                                  "nvidia-h100-sxm", 1, now, now + timedelta(seconds=60),
                                  Decimal(60), Decimal(60))
                tx.usage.add(use)
                records += [
                    audit.change(ctx, member, "job.submitted", "job", job.id, job.org_id),
                    audit.change(ctx, None, "dataset.read", "dataset", "news", job.org_id,
                                 job=job.id, version="v1", agreement=agreement.id,
                                 records=used.records, bytes=used.bytes, tokens=used.tokens,
                                 pool="pool_kr", site="daejeon", country="KR", final=True,
                                 at=now),
                    audit.change(ctx, None, "usage.recorded", "usage", use.id, job.org_id,
                                 job=job.id, chip="nvidia-h100-sxm", chips=1, start=now,
                                 end=use.interval_end, chip_seconds=Decimal("60.000000"),
                                 h100e_seconds=Decimal("60.000000"), pool="pool_kr",
                                 site="daejeon", country="KR")]
            audit.changed_all(tx, records)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    runs = []
    result = None
    for _ in range(3):
        t0 = time.perf_counter()
        result = fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, fresh_database(args.database_url,
                                                              Path(tmp)) as db:
        ctx = ServiceContext(db=db, settings=Settings(home=Path(tmp) / "home",
                                                      database_url=db.url))
        boot = bootstrap_operator(ctx)
        assert boot is not None
        op = Caller(boot[0])
        t0 = time.perf_counter()
        fill(ctx, op, args.reads)
        print(f"{db.engine.dialect.name}: {args.reads} reads, usage records and jobs written "
              f"in {time.perf_counter() - t0:.1f} s")
        failed = False
        for name, fn in (("datasets", lambda: compliance.dataset_reads(ctx, op)),
                         ("residency", lambda: compliance.residency_exceptions(ctx, op)),
                         ("pii", lambda: compliance.pii_actions(ctx, op)),
                         ("compute", lambda: compliance.compute_used(ctx, op))):
            seconds, report = timed(fn)
            failed |= not report.matches
            print(f"  {name:9s} {seconds * 1000:8.0f} ms  matches={report.matches}  "
                  f"log entries read={report.log_entries}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
