"""Usage: the records the metering charged, their daily sums and the monthly statement of an
organisation (a view of the same records, priced).

A statement line sums one chip type's usage records in the month:

    h100e_h  = Σ charged h100e-hours of the records (ledger precision)
    market   = h100e_h × market price of the grant's call
    payable  = market × the class's payable fraction;   subsidy = market − payable

and the totals equal the postings the metering booked to ``receivable:<org>`` and the
subsidy accounts for those records.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from aicenter.domain.call import Call
from aicenter.domain.errors import InputError, NotFoundError
from aicenter.domain.grant import Grant
from aicenter.domain.usage import UsageRecord, daily_h100e_seconds
from aicenter.policy import Resource
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import guaranteed
from aicenter.services.metering import charged_h100e_h


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``2026-03`` → [2026-03-01, 2026-04-01) in UTC."""
    try:
        year, mon = (int(x) for x in month.split("-"))
        start = datetime(year, mon, 1, tzinfo=UTC)
    except ValueError:
        raise InputError(f"'{month}' is not a month like 2026-03", field="month") from None
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=UTC)
    return start, end


def list_usage(ctx: ServiceContext, caller: Caller, org_id: str | None = None,
               job_id: str | None = None, month: str | None = None) -> list[UsageRecord]:
    if not caller.sees_all:
        org_id = org_id or caller.org_id
    caller.check(ctx, "usage:read", Resource("Usage", "any", org_id) if org_id else
                 Resource("Usage", "any"))
    start, end = month_bounds(month) if month else (None, None)
    with ctx.db.transaction(write=False) as tx:
        if job_id is not None:
            job = tx.jobs.get(job_id)
            caller.check(ctx, "usage:read", Resource("Job", job_id, job.org_id if job else None))
        return tx.usage.list(org_id=org_id, job_id=job_id, start=start, end=end)


def daily_usage(ctx: ServiceContext, caller: Caller, month: str, org_id: str | None = None
                ) -> dict[tuple[date, str], Decimal]:
    """h100e-hours per (UTC day, organisation) in ``month`` (records by their start), with the
    authorisation of :func:`list_usage`. Summed in SQL; the records that cross midnight are
    split exactly over their days (:func:`aicenter.domain.usage.daily_h100e_seconds`)."""
    if not caller.sees_all:
        org_id = org_id or caller.org_id
    caller.check(ctx, "usage:read", Resource("Usage", "any", org_id) if org_id else
                 Resource("Usage", "any"))
    start, end = month_bounds(month)
    with ctx.db.transaction(write=False) as tx:
        sums, crossing = tx.usage.daily_sums(start=start, end=end, org_id=org_id)
    for key, seconds in daily_h100e_seconds(crossing).items():
        sums[key] = sums.get(key, Decimal(0)) + seconds
    return {key: seconds / 3600 for key, seconds in sums.items()}


@dataclass(frozen=True, slots=True)
class StatementLine:
    chip_id: str
    chip_hours: Decimal
    h100e_h: Decimal
    market: Decimal
    payable: Decimal
    subsidy: Decimal


@dataclass(frozen=True, slots=True)
class Statement:
    org_id: str
    org_name: str
    org_class: str
    month: str
    currency: str
    lines: list[StatementLine]

    @property
    def total_payable(self) -> Decimal:
        return sum((line.payable for line in self.lines), Decimal(0))

    @property
    def total_subsidy(self) -> Decimal:
        return sum((line.subsidy for line in self.lines), Decimal(0))

    @property
    def total_h100e_h(self) -> Decimal:
        return sum((line.h100e_h for line in self.lines), Decimal(0))


def statement(ctx: ServiceContext, caller: Caller, org_id: str, month: str) -> Statement:
    caller.check(ctx, "usage:read", Resource("Org", org_id, org_id))
    start, end = month_bounds(month)
    micro = Decimal("0.000001")
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 5)
    currency = "KRW"
    with ctx.db.transaction(write=False) as tx:
        org = tx.orgs.get(org_id)
        if org is None:
            raise NotFoundError(f"organisation {org_id} not found")
        calls: dict[str, Call] = {}
        grants: dict[str, Grant] = {}
        for rec in tx.usage.list(org_id=org_id, start=start, end=end):
            grant = grants.get(rec.grant_id) or guaranteed(tx.grants.get(rec.grant_id),
                                                           f"grant {rec.grant_id}")
            grants[rec.grant_id] = grant
            call = calls.get(grant.call_id) or guaranteed(tx.calls.get_call(grant.call_id),
                                                          f"call {grant.call_id}")
            calls[grant.call_id] = call
            used = charged_h100e_h(rec)
            payable, subsidy = call.price_rule.charge(used, org.org_class)
            market_amount = (payable + subsidy).amount.quantize(micro)
            payable_amount = payable.amount.quantize(micro)
            currency = payable.currency.value
            line = sums[rec.chip_id]
            line[0] += rec.chip_seconds / Decimal(3600)
            line[1] += used
            line[2] += market_amount
            line[3] += payable_amount
            line[4] += market_amount - payable_amount
    lines = [StatementLine(chip, *(v.quantize(micro) for v in values))
             for chip, values in sorted(sums.items())]
    return Statement(org.id, org.name, org.org_class.value, month, currency, lines)
