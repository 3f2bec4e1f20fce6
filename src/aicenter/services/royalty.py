"""Royalties in the service: after a job that read datasets, its meter log is merged into the
exchange's audit log, the per-dataset totals are recorded, and metered use × price is booked
in the ledger (idempotent references, so settling twice books nothing new). Statements come
from the ledger and, as a check, are rebuilt from the audit log alone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from aicenter.domain.errors import InputError
from aicenter.domain.job import Job
from aicenter.exchange.meter import merge_into, read_log, usage_by_job_dataset
from aicenter.exchange.royalty import (
    RoyaltyStatement,
    month_of,
    royalty_transactions,
    statement_from_audit_log,
    statement_from_ledger,
)
from aicenter.policy import Resource
from aicenter.services.context import Caller, ServiceContext
from aicenter.storage import Tx
from aicenter.storage.repositories.dataset import DatasetRead

MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def exchange_dir(ctx: ServiceContext) -> Path:
    return ctx.settings.home / "exchange"


def audit_log_path(ctx: ServiceContext) -> Path:
    """The exchange's audit log: every agreement and every meter event, once each."""
    return exchange_dir(ctx) / "audit.log"


def meter_log_path(ctx: ServiceContext, job_id: str) -> Path:
    """Where the reader inside ``job_id`` appends its meter events."""
    return exchange_dir(ctx) / "meters" / f"{job_id}.log"


def grant_path(ctx: ServiceContext, job_id: str) -> Path:
    return exchange_dir(ctx) / "grants" / f"{job_id}.json"


def record_reads(tx: Tx, ctx: ServiceContext, job: Job, *, final: bool) -> int:
    """Record the job's metered totals per dataset from its meter log; when ``final`` (the job
    ended) also merge the log into the audit log and book its royalties. Returns the number of
    royalty transactions booked now."""
    log = meter_log_path(ctx, job.id)
    if not job.spec.datasets or not log.exists():
        return 0
    contents = read_log(log)
    meters = [m for m in contents.meters if m.job_id == job.id]
    now = ctx.clock.now()
    agreement_of = {(m.job_id, m.dataset_id): m.agreement_id for m in meters}
    for (job_id, dataset_id), used in usage_by_job_dataset(meters).items():
        tx.datasets.record_read(DatasetRead(job_id, dataset_id, job.org_id,
                                            agreement_of[(job_id, dataset_id)], used, now))
    if not final:
        return 0
    merge_into(audit_log_path(ctx), log)
    agreements = [tx.licences.agreement(a) for a in sorted(set(agreement_of.values()))]
    booked = 0
    for month in sorted({month_of(m.at) for m in meters}):
        for txn in royalty_transactions(meters, [a for a in agreements if a is not None],
                                        month):
            if txn.reference.startswith("royalty-flat:"):
                continue  # booked when the agreement was accepted
            booked += bool(tx.ledger.book(txn))
    return booked


@dataclass(frozen=True, slots=True)
class StatementPair:
    """The statement from the ledger and the same statement rebuilt from the audit log."""

    ledger: RoyaltyStatement
    audit_log: RoyaltyStatement

    @property
    def matches(self) -> bool:
        return self.ledger.to_dict() == self.audit_log.to_dict()


def statement(ctx: ServiceContext, caller: Caller, provider_org_id: str, month: str
              ) -> StatementPair:
    """A provider's monthly royalty statement, from the ledger and from the audit log."""
    caller.check(ctx, "royalty:read", Resource("RoyaltyStatement", month, provider_org_id))
    if not MONTH_RE.match(month):
        raise InputError(f"'{month}' is not a month like 2026-03", field="month")
    with ctx.db.transaction(write=False) as tx:
        txns = tx.ledger.transactions("royalty", limit=10_000_000)
    return StatementPair(statement_from_ledger(provider_org_id, month, txns),
                         statement_from_audit_log(audit_log_path(ctx), provider_org_id, month))
