"""Transactions of the credit ledger and the accounts they move between.

Two commodities are booked: ``H100E`` (H100-equivalent hours of compute) and a currency
(``KRW``). A transaction is a set of postings whose amounts sum to zero *per commodity*; a
balance is the sum of an account's postings, never a stored number.

Flows (amounts positive into the named account):

* award:   ``call:C:pool`` −b → ``grant:G`` +b                              (H100E)
* hold:    ``grant:G`` −h → ``hold:G:J`` +h     a job is admitted with the worst-case cost
                                                 of one attempt (reference ``hold:J``)
* top-up:  ``grant:G`` −t → ``hold:G:J`` +t     the job is requeued (retry, preemption, lost
                                                 run) for attempt k: t = h − balance(hold:G:J),
                                                 so the hold covers one whole attempt again
                                                 (reference ``hold:J:k``, once per attempt)
* usage:   ``hold:G:J`` −u → ``usage:O`` +u     metered compute, paid from the job's hold (H100E)
* release: ``hold:G:J`` −r → ``grant:G`` +r     the job ended; what is left of its hold
                                                 (r = balance of ``hold:G:J`` ≥ 0) goes back
* overrun: ``writeoff:compute`` −x → ``unbilled:O`` +x   compute a job used beyond its hold
                                                 (metering charges at most the hold's balance):
                                                 recorded, charged to no grant, paid by no one
           ``revenue:compute`` −m; ``receivable:O`` +p; ``subsidy:C`` +(m − p)     (money)
  where m = u × market price, p = m × payable fraction of the organisation's class
* reclaim: ``grant:G`` −r → ``call:C:pool`` +r  idle budget goes back to the call

So the spendable balance of a grant is ``balance(grant:G)`` = awarded − open holds − used −
reclaimed; what is held is the sum of ``hold:G:*``; what was used is the usage flow out of them.
No posting takes ``grant:G`` or ``hold:G:J`` below zero: holds and top-ups are taken under the
grant's row lock only if the balance covers them, usage never exceeds the hold's balance, and
a release is the hold's (non-negative) balance.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from aicenter.domain.units import Money

H100E = "H100E"
MICRO = Decimal("0.000001")
"""Ledger precision: one millionth of a unit (the storage keeps integers of millionths)."""


class accounts:
    """Account names used by the flows in the module docstring."""

    @staticmethod
    def call_pool(call_id: str) -> str:
        return f"call:{call_id}:pool"

    @staticmethod
    def grant(grant_id: str) -> str:
        return f"grant:{grant_id}"

    @staticmethod
    def hold(grant_id: str, job_id: str) -> str:
        return f"hold:{grant_id}:{job_id}"

    @staticmethod
    def holds_of(grant_id: str) -> str:
        """Prefix of every hold account of a grant."""
        return f"hold:{grant_id}:"

    @staticmethod
    def usage(org_id: str) -> str:
        return f"usage:{org_id}"

    @staticmethod
    def receivable(org_id: str) -> str:
        return f"receivable:{org_id}"

    @staticmethod
    def subsidy(call_id: str) -> str:
        return f"subsidy:{call_id}"

    @staticmethod
    def unbilled(org_id: str) -> str:
        """Compute an organisation's jobs used beyond their holds (never charged)."""
        return f"unbilled:{org_id}"

    REVENUE = "revenue:compute"
    WRITE_OFF = "writeoff:compute"


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    commodity: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Transaction:
    """A balanced set of postings. ``reference`` is unique: booking it twice is a no-op."""

    reference: str
    kind: str
    memo: str
    created_at: datetime
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for p in self.postings:
            totals[p.commodity] += p.amount
        unbalanced = {c: v for c, v in totals.items() if v != 0}
        if unbalanced:
            raise ValueError(f"transaction {self.reference} does not balance: {unbalanced}")
        if not self.postings:
            raise ValueError(f"transaction {self.reference} has no postings")


def _move(src: str, dst: str, commodity: str, amount: Decimal) -> tuple[Posting, Posting]:
    return Posting(src, commodity, -amount), Posting(dst, commodity, amount)


def award_transaction(grant_id: str, call_id: str, budget_h100e_h: Decimal, at: datetime
                      ) -> Transaction:
    return Transaction(f"award:{grant_id}", "award", f"budget of grant {grant_id}", at,
                       _move(accounts.call_pool(call_id), accounts.grant(grant_id), H100E,
                             budget_h100e_h))


def hold_transaction(job_id: str, grant_id: str, hold_h100e_h: Decimal, at: datetime
                     ) -> Transaction:
    return Transaction(f"hold:{job_id}", "hold", f"admission of job {job_id}", at,
                       _move(accounts.grant(grant_id), accounts.hold(grant_id, job_id), H100E,
                             hold_h100e_h))


def top_up_transaction(job_id: str, grant_id: str, attempt: int, top_up_h100e_h: Decimal,
                       at: datetime) -> Transaction:
    """Top a requeued job's hold up to one attempt's worst case again, before ``attempt``
    (the reference is unique per attempt: a settle replayed after a crash books it once)."""
    if top_up_h100e_h <= 0:
        raise ValueError(f"top-up of job {job_id} must be positive, not {top_up_h100e_h}")
    return Transaction(f"hold:{job_id}:{attempt}", "top-up",
                       f"hold of job {job_id} topped up for attempt {attempt}", at,
                       _move(accounts.grant(grant_id), accounts.hold(grant_id, job_id), H100E,
                             top_up_h100e_h))


def release_transaction(job_id: str, grant_id: str, remaining_h100e_h: Decimal, at: datetime
                        ) -> Transaction:
    """Give back what is left of a job's hold. Refused if negative: metering never takes a
    hold below zero, so a negative balance is a bug that must not reach the grant."""
    if remaining_h100e_h < 0:
        raise ValueError(f"hold of job {job_id} is {remaining_h100e_h} h100e-h: a hold must "
                         "never go below zero (release refused)")
    return Transaction(f"release:{job_id}", "release", f"job {job_id} ended", at,
                       _move(accounts.hold(grant_id, job_id), accounts.grant(grant_id), H100E,
                             remaining_h100e_h))


def reclaim_transaction(grant_id: str, call_id: str, amount_h100e_h: Decimal, at: datetime
                        ) -> Transaction:
    return Transaction(f"reclaim:{grant_id}", "reclaim", f"idle grant {grant_id} reclaimed",
                       at, _move(accounts.grant(grant_id), accounts.call_pool(call_id), H100E,
                                 amount_h100e_h))


def overrun_transaction(job_id: str, org_id: str, since: datetime, amount_h100e_h: Decimal,
                        at: datetime) -> Transaction:
    """Record compute a job used beyond its hold from ``since`` (uncharged: its grant has no
    budget left for it). One per job and metered interval start, like usage records."""
    return Transaction(f"overrun:{job_id}:{since.isoformat()}", "overrun",
                       f"job {job_id} used {amount_h100e_h} h100e-h beyond its hold", at,
                       _move(accounts.WRITE_OFF, accounts.unbilled(org_id), H100E,
                             amount_h100e_h))


def usage_transaction(
    usage_id: str,
    *,
    job_id: str,
    grant_id: str,
    org_id: str,
    call_id: str,
    used_h100e_h: Decimal,
    market: Money,
    payable: Money,
    at: datetime,
) -> Transaction:
    """Charge metered usage to the job's hold on its grant and book its price, split into
    what the organisation pays and the subsidy."""
    currency = market.currency.value
    market_amount = market.amount.quantize(MICRO, ROUND_HALF_EVEN)
    payable_amount = payable.amount.quantize(MICRO, ROUND_HALF_EVEN)
    postings = [
        *_move(accounts.hold(grant_id, job_id), accounts.usage(org_id), H100E, used_h100e_h),
        Posting(accounts.REVENUE, currency, -market_amount),
        Posting(accounts.receivable(org_id), currency, payable_amount),
        Posting(accounts.subsidy(call_id), currency, market_amount - payable_amount),
    ]
    return Transaction(f"usage:{usage_id}", "usage", f"usage record {usage_id}", at,
                       tuple(p for p in postings if p.amount != 0 or p.commodity == H100E))
