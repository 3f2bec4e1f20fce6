"""Royalties in the service: at every metering interval of a job that reads datasets, and when
it ends, its meter log is merged into the exchange's audit log, the per-dataset totals are
recorded, and metered use × price is booked in the ledger. Statements come from the ledger
and, as a check, are rebuilt from the audit log alone.

Booking while a job runs keeps the billing rule of :mod:`aicenter.exchange.royalty` exact
(a line is rounded once, on its total): for each charge line (agreement, job, month) the
ledger already holds booked totals ``B`` (use and KRW) under references
``royalty:<agreement>:<job>:<month>[:<n>]``; the line's current totals ``L`` are computed
from the whole meter log and ``L − B`` is booked as the next reference. Rounding is monotone
in the metered quantity, so ``L − B ≥ 0``, and after any number of bookings the booked sum is
``L`` exactly — the same money as one booking at the end. Booking the same log twice adds
nothing (``L − B = 0``)."""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from aicenter.domain.dataset import DatasetRead, Usage
from aicenter.domain.errors import InputError
from aicenter.domain.job import Job
from aicenter.domain.licence import Agreement
from aicenter.exchange.meter import MeterEvent, merge_into, read_log, usage_by_job_dataset
from aicenter.exchange.royalty import (
    DATA_BYTES,
    DATA_RECORDS,
    DATA_TOKENS,
    REVENUE_EXCHANGE,
    ChargeLine,
    RoyaltyStatement,
    charge_lines,
    month_of,
    read_account,
    royalty_transaction,
    statement_from_audit_log,
    statement_from_ledger,
)
from aicenter.policy import Resource
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext
from aicenter.storage import Tx

logger = logging.getLogger("aicenter.royalty")
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


def _booked(tx: Tx, reference: str, agreement_id: str) -> tuple[int, Usage, Decimal, Decimal]:
    """(transactions, use, gross KRW, fee KRW) booked so far for one charge line."""
    done = tx.ledger.transactions(reference, limit=1_000_000)
    done = [t for t in done if t.reference == reference or
            t.reference.startswith(reference + ":")]
    records = n_bytes = tokens = 0
    gross = fee = Decimal(0)
    for txn in done:
        for p in txn.postings:
            if p.account == read_account(agreement_id):
                if p.commodity == DATA_RECORDS:
                    records += int(p.amount)
                elif p.commodity == DATA_BYTES:
                    n_bytes += int(p.amount)
                elif p.commodity == DATA_TOKENS:
                    tokens += int(p.amount)
            elif p.account.startswith("receivable:"):
                gross += p.amount
            elif p.account == REVENUE_EXCHANGE:
                fee -= p.amount
    return len(done), Usage(records, n_bytes, tokens), gross, fee


def book_royalties(tx: Tx, meters: list[MeterEvent], agreements: list[Agreement]) -> int:
    """Book what the meter events owe beyond what is already booked (see the module
    docstring); returns the number of transactions booked."""
    by_id = {a.id: a for a in agreements}
    booked = 0
    for month in sorted({month_of(m.at) for m in meters}):
        for line in charge_lines(meters, agreements, month):
            if not line.job_id:
                continue  # flat fees are booked when the agreement is accepted
            reference = f"royalty:{line.agreement_id}:{line.job_id}:{month}"
            count, used, gross, fee = _booked(tx, reference, line.agreement_id)
            delta = ChargeLine(
                line.agreement_id, line.job_id, month,
                Usage(line.usage.records - used.records, line.usage.bytes - used.bytes,
                      line.usage.tokens - used.tokens),
                line.charged, line.gross_krw - gross, line.fee_krw - fee, line.at)
            if not (delta.usage.records or delta.gross_krw or delta.fee_krw):
                continue
            txn = royalty_transaction(delta, by_id[line.agreement_id])
            if txn is None:
                continue
            if count:
                txn = dataclasses.replace(txn, reference=f"{reference}:{count + 1}")
            booked += bool(tx.ledger.book(txn))
    return booked


def record_reads(tx: Tx, ctx: ServiceContext, job: Job, *, final: bool) -> int:
    """Record the job's metered totals per dataset from its meter log, merge the log into the
    audit log and book the royalties owed so far. Returns the number of royalty transactions
    booked now. ``final``: the job ended (nothing more will be read)."""
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
        data = tx.datasets.get(dataset_id)
        audit.changed(ctx, tx, None, "dataset.read", "dataset", dataset_id, job.org_id,
                      job=job_id, version=data.version if data is not None else None,
                      agreement=agreement_of[(job_id, dataset_id)], records=used.records,
                      bytes=used.bytes, tokens=used.tokens, pool=job.pool_id,
                      site=job.site, country=job.country, final=final, at=now)
    merge_into(audit_log_path(ctx), log)
    found = [tx.licences.agreement(a) for a in sorted(set(agreement_of.values()))]
    booked = book_royalties(tx, meters, [a for a in found if a is not None])
    if final:
        logger.info("job %s settled: %d royalty transactions booked now", job.id, booked)
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
