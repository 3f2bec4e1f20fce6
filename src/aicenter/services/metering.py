"""Metering: usage records per job per interval, each charged to the ledger at once.

For a job on ``n`` chips of type ``c`` metered over ``[t0, t1)``:

    chip_seconds  = n × (t1 − t0)
    h100e_seconds = chip_seconds × r(c, workload)
    used_h100e_h  = round(h100e_seconds / 3600, 6)
    market        = used_h100e_h × market price of the grant's call
    payable       = market × payable fraction of the organisation's class

The usage record, its ledger transaction (reference ``usage:<record id>``) and the job's
``metered_until`` are written in one transaction, and records are unique per (job,
interval start): a crash at any point neither loses an interval nor counts one twice.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from aicenter.domain.job import Job, JobStatus
from aicenter.domain.usage import UsageRecord, meter
from aicenter.ledger import usage_transaction
from aicenter.services.context import ServiceContext, new_id
from aicenter.storage import Tx
from aicenter.storage.types import to_micro


def meter_job(tx: Tx, ctx: ServiceContext, job: Job, until: datetime) -> UsageRecord | None:
    """Record and charge the job's usage from ``metered_until`` to ``until`` (in ``tx``)."""
    if job.status is not JobStatus.RUNNING or job.chip is None or job.started_at is None:
        return None
    start = job.metered_until or job.started_at
    if until <= start:
        return None
    ratio = ctx.performance.ratio(job.chip, job.spec.workload)
    chip_seconds, h100e_seconds = meter(job.chip_count, ratio, start, until)
    record = UsageRecord(new_id("use"), job.id, job.org_id, job.grant_id, job.chip,
                         job.chip_count, start, until, to_micro(chip_seconds),
                         to_micro(h100e_seconds))
    tx.usage.add(record)
    used = charged_h100e_h(record)
    org = tx.orgs.get(job.org_id)
    grant = tx.grants.get(job.grant_id)
    call = tx.programs.get_call(grant.call_id)
    payable, subsidy = call.price_rule.charge(used, org.org_class)
    tx.ledger.book(usage_transaction(
        record.id, job_id=job.id, grant_id=job.grant_id, org_id=job.org_id, call_id=call.id,
        used_h100e_h=used, market=payable + subsidy, payable=payable, at=until))
    tx.jobs.update(job.id, metered_until=until)
    tx.grants.mark_used(job.grant_id, until)
    return record


def charged_h100e_h(record: UsageRecord) -> Decimal:
    """What a usage record charges, in h100e-hours at ledger precision."""
    return to_micro(record.h100e_seconds / Decimal(3600))
