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

A charge never exceeds what is left of the job's hold, ``L = balance(hold:G:J)``. When
``used > L`` the interval is split where the hold runs out,

    t_cap = t0 + (L × 3600 / r) / n        (the chip-seconds the hold still pays for)

``[t0, t_cap)`` becomes the usage record (charged exactly ``L``; none when ``L = 0``) and
``[t_cap, t1)`` an *overrun*: ``used − L`` h100e-h booked from ``writeoff:compute`` to
``unbilled:<org>`` (:func:`aicenter.ledger.entry.overrun_transaction`), charged to no grant.
So usage records are exactly what was charged — statements, receivables and subsidies, all
computed from them, agree with the ledger — and the overrun is still on record. The job is
then marked budget-exhausted (its message, :data:`EXHAUSTED`) and the scheduling loop stops
its run; the job ends FAILED with that message (:mod:`aicenter.services.scheduling`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from aicenter.backends import RunState, RunStatus
from aicenter.domain.job import Job, JobStatus
from aicenter.domain.usage import UsageRecord, meter
from aicenter.ledger import H100E, accounts, overrun_transaction, usage_transaction
from aicenter.services import audit
from aicenter.services.context import ServiceContext, new_id
from aicenter.services.errors import guaranteed
from aicenter.storage import Tx
from aicenter.storage.types import to_micro

EXHAUSTED = "stopped: budget exhausted"
"""Start of the message of a job whose hold ran out: the loop stops its run, it ends FAILED."""


def exhausted_message(grant_id: str) -> str:
    return f"{EXHAUSTED} (grant {grant_id} has no h100e-h left for this job)"


def is_exhausted(job: Job) -> bool:
    """Whether metering found the job's hold spent (the run is to be stopped, not retried)."""
    return job.message.startswith(EXHAUSTED)


@dataclass(frozen=True, slots=True)
class Metered:
    """One metered interval: what was used and what of it the hold paid for."""

    record: UsageRecord | None
    """The charged part (None when the hold had nothing left)."""
    used_h100e_h: Decimal
    charged_h100e_h: Decimal
    exhausted: bool
    """The hold did not cover the interval: the run must stop."""

    @property
    def uncharged_h100e_h(self) -> Decimal:
        return self.used_h100e_h - self.charged_h100e_h


def meter_job(tx: Tx, ctx: ServiceContext, job: Job, until: datetime) -> Metered | None:
    """Record and charge the job's usage from ``metered_until`` to ``until`` (in ``tx``),
    never more than its hold's balance (module docstring); None if there is nothing to meter.
    Call it with the job's row locked."""
    if job.status is not JobStatus.RUNNING or job.chip is None or job.started_at is None:
        return None
    start = job.metered_until or job.started_at
    if until <= start:
        return None
    ratio = ctx.performance.ratio(job.chip, job.spec.workload)
    chip_seconds, h100e_seconds = meter(job.chip_count, ratio, start, until)
    chip_seconds, h100e_seconds = to_micro(chip_seconds), to_micro(h100e_seconds)
    used = to_micro(h100e_seconds / Decimal(3600))  # what its record would charge
    left = max(tx.ledger.balance(accounts.hold(job.grant_id, job.id), H100E), Decimal(0))
    exhausted = used > left
    end = until
    if exhausted:  # charge what is left, up to where it runs out
        h100e_seconds = left * 3600
        chip_seconds = to_micro(h100e_seconds / Decimal(str(ratio))) if ratio > 0 else \
            Decimal(0)
        micros = (chip_seconds / job.chip_count * 1_000_000).to_integral_value(ROUND_CEILING)
        end = min(start + timedelta(microseconds=int(micros)), until)
        tx.ledger.book(overrun_transaction(job.id, job.org_id, end, used - left, until))
        audit.job_change(ctx, tx, None, "job.hold_exhausted", job, at=end,
                         uncharged_h100e_h=used - left)
    record = None
    if not exhausted or left > 0:
        record = UsageRecord(new_id("use"), job.id, job.org_id, job.grant_id, job.chip,
                             job.chip_count, start, end, chip_seconds, h100e_seconds)
        tx.usage.add(record)
        charged = charged_h100e_h(record)
        audit.changed(ctx, tx, None, "usage.recorded", "usage", record.id, job.org_id,
                      job=job.id, grant=job.grant_id, chip=job.chip, chips=job.chip_count,
                      start=start, end=end, chip_seconds=chip_seconds,
                      h100e_seconds=h100e_seconds, pool=job.pool_id, site=job.site,
                      country=job.country)
        org = guaranteed(tx.orgs.get(job.org_id), f"organisation {job.org_id}")
        grant = guaranteed(tx.grants.get(job.grant_id), f"grant {job.grant_id}")
        call = guaranteed(tx.calls.get_call(grant.call_id), f"call {grant.call_id}")
        payable, subsidy = call.price_rule.charge(charged, org.org_class)
        tx.ledger.book(usage_transaction(
            record.id, job_id=job.id, grant_id=job.grant_id, org_id=job.org_id,
            call_id=call.id, used_h100e_h=charged, market=payable + subsidy, payable=payable,
            at=until))
    if exhausted:
        tx.jobs.update(job.id, metered_until=until, message=exhausted_message(job.grant_id))
    else:
        tx.jobs.update(job.id, metered_until=until)
    tx.grants.mark_used(job.grant_id, until)
    return Metered(record, used, used if not exhausted else left, exhausted)


Interval = tuple[datetime, datetime]


def engine_intervals(job: Job, status: RunStatus, now: datetime) -> list[Interval]:
    """When the engine says the job's run held its chips, up to ``now``, oldest first: the
    attempts it requeued by itself (``status.earlier``), then the current attempt from the
    engine's start to its end (a final run), to ``status.running_until`` (a live run the
    engine vouches for only so far: Slurm's whole seconds), else to ``now``. A run waiting in
    the engine's queue again adds nothing. Billing these, and never the gaps between them,
    makes aicenter's usage equal the engine's accounting (``sacct -D``): each attempt once."""
    intervals = [(s, e) for s, e in status.earlier if e > s]
    start = status.started_at or job.started_at
    if start is None or status.state is RunState.PENDING:
        return intervals
    if status.is_final:
        end = min(status.ended_at or now, now)
    else:
        end = min(status.running_until or now, now)
    if end > start:
        intervals.append((start, end))
    return intervals


def meter_intervals(tx: Tx, ctx: ServiceContext, job: Job, intervals: list[Interval]
                    ) -> list[Metered]:
    """Meter the parts of ``intervals`` after the job's ``metered_until`` (each one record,
    :func:`meter_job`), moving ``metered_until`` over the gaps between them unbilled. Stops
    at the first interval the hold could not pay for. Call it with the job's row locked."""
    done: list[Metered] = []
    for start, end in intervals:
        mark = job.metered_until or job.started_at
        if mark is None or end <= mark:
            continue
        if start > mark:  # the engine did not run it in between (requeued): nothing to bill
            tx.jobs.update(job.id, metered_until=start)
            job = replace(job, metered_until=start)
        metered = meter_job(tx, ctx, job, end)
        if metered is None:
            continue
        done.append(metered)
        if metered.exhausted:
            break
        job = replace(job, metered_until=end)
    return done


def charged_h100e_h(record: UsageRecord) -> Decimal:
    """What a usage record charges, in h100e-hours at ledger precision."""
    return to_micro(record.h100e_seconds / Decimal(3600))
