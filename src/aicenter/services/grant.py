"""Grants: award (with its ledger transaction), balances from the ledger, idle reclaim."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from aicenter.domain.errors import InputError, NotFoundError
from aicenter.domain.grant import Grant, GrantStatus, reclaim_step
from aicenter.domain.program import ApplicationStatus
from aicenter.ledger import H100E, accounts, award_transaction, reclaim_transaction
from aicenter.policy import Resource
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.services.errors import ConflictError
from aicenter.storage import Tx

DAYS_PER_MONTH = 30


@dataclass(frozen=True, slots=True)
class GrantView:
    """A grant with its ledger figures: available = budget − held − used − reclaimed."""

    grant: Grant
    available_h100e_h: Decimal
    held_h100e_h: Decimal
    used_h100e_h: Decimal


def view(tx: Tx, grant: Grant) -> GrantView:
    """The grant with its balance and flows, all sums of ledger postings."""
    available = tx.ledger.balance(accounts.grant(grant.id), H100E)
    holds = accounts.holds_of(grant.id)
    return GrantView(grant, available, tx.ledger.prefix_balance(holds, H100E),
                     -tx.ledger.flow(holds, H100E, "usage"))


def award(ctx: ServiceContext, caller: Caller, application_id: str, budget_h100e_h: Decimal,
          months: int | None = None, chip_ids: frozenset[str] | None = None) -> GrantView:
    """Grant an application a budget for a period; books the award in the ledger."""
    caller.check(ctx, "grant:award", Resource("Grant", "new"))
    if budget_h100e_h <= 0:
        raise InputError("must be positive", field="budget_h100e_h")
    now = ctx.clock.now()
    with ctx.db.transaction() as tx:
        app = tx.programs.get_application(application_id, lock=True)
        if app is None:
            raise NotFoundError(f"application {application_id} not found")
        if app.status is not ApplicationStatus.SUBMITTED:
            raise ConflictError(f"application {application_id} is already {app.status.value}")
        call = tx.programs.get_call(app.call_id)
        period = months if months is not None else app.months
        if not 1 <= period <= call.max_months:
            raise InputError(f"{period} is outside 1..{call.max_months}", field="months")
        chips = chip_ids if chip_ids is not None else frozenset(app.chips)
        for chip in chips:
            ctx.catalog.get(chip)
        grant = Grant(new_id("grant"), call.id, app.id, app.org_id, budget_h100e_h, chips, now,
                      now + timedelta(days=DAYS_PER_MONTH * period), GrantStatus.ACTIVE, now,
                      None)
        tx.grants.add(grant)
        tx.ledger.book(award_transaction(grant.id, call.id, budget_h100e_h, now))
        tx.programs.set_application_status(app.id, ApplicationStatus.GRANTED)
        return view(tx, grant)


def reject(ctx: ServiceContext, caller: Caller, application_id: str) -> None:
    caller.check(ctx, "grant:award", Resource("Grant", "new"))
    with ctx.db.transaction() as tx:
        app = tx.programs.get_application(application_id, lock=True)
        if app is None:
            raise NotFoundError(f"application {application_id} not found")
        if app.status is not ApplicationStatus.SUBMITTED:
            raise ConflictError(f"application {application_id} is already {app.status.value}")
        tx.programs.set_application_status(app.id, ApplicationStatus.REJECTED)


def get_grant(ctx: ServiceContext, caller: Caller, grant_id: str) -> GrantView:
    with ctx.db.transaction(write=False) as tx:
        grant: Grant | None = tx.grants.get(grant_id)
        caller.check(ctx, "grant:read", Resource("Grant", grant_id,
                                                 grant.org_id if grant else None))
        if grant is None:
            raise NotFoundError(f"grant {grant_id} not found")
        return view(tx, grant)


def list_grants(ctx: ServiceContext, caller: Caller, org_id: str | None = None
                ) -> list[GrantView]:
    if not caller.sees_all:
        org_id = caller.org_id if org_id is None else org_id
    with ctx.db.transaction(write=False) as tx:
        grants: list[Grant] = tx.grants.list(org_id=org_id)
        for g in grants:
            caller.check(ctx, "grant:read", Resource("Grant", g.id, g.org_id))
        return [view(tx, g) for g in grants]


@dataclass(frozen=True, slots=True)
class ReclaimReport:
    noticed: list[str]
    reclaimed: list[str]
    expired: list[str]


def reclaim_idle(ctx: ServiceContext, caller: Caller | None = None) -> ReclaimReport:
    """Sweep: notice grants idle for ``idle_reclaim_days``; reclaim those still idle
    ``reclaim_notice_days`` after the notice (their balance goes back to the call); mark
    grants past their end as expired. ``caller`` None is the server's own loop."""
    if caller is not None:
        caller.check(ctx, "grant:reclaim", Resource("Grant", "any"))
    now = ctx.clock.now()
    report = ReclaimReport([], [], [])
    with ctx.db.transaction() as tx:
        for grant in tx.grants.list():
            if grant.status is GrantStatus.ACTIVE and now >= grant.ends_at:
                tx.grants.set_status(grant.id, GrantStatus.EXPIRED)
                report.expired.append(grant.id)
                continue
            step = reclaim_step(grant, now, ctx.settings.idle_reclaim_days,
                                ctx.settings.reclaim_notice_days)
            if step == "notice":
                tx.grants.set_notice(grant.id, now)
                report.noticed.append(grant.id)
            elif step == "reclaim":
                locked = tx.grants.get(grant.id, lock=True)
                balance = tx.ledger.balance(accounts.grant(grant.id), H100E)
                if balance > 0:
                    tx.ledger.book(reclaim_transaction(grant.id, locked.call_id, balance, now))
                tx.grants.set_status(grant.id, GrantStatus.RECLAIMED)
                report.reclaimed.append(grant.id)
    return report
