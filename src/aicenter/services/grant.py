"""Grants: award (with its ledger transaction), balances from the ledger, idle reclaim."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from aicenter.domain.call import Application, ApplicationStatus, Call
from aicenter.domain.errors import InputError, NotFoundError
from aicenter.domain.grant import Grant, GrantStatus, physical_capacity, reclaim_step
from aicenter.ledger import H100E, accounts, award_transaction, reclaim_transaction
from aicenter.policy import Resource
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.services.errors import ConflictError, guaranteed
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
    return views(tx, [grant])[0]


def views(tx: Tx, grants: Sequence[Grant]) -> list[GrantView]:
    """Each grant with its balance and flows (:func:`view`), in three queries whatever
    their number: available is the grant account's balance, held the balance of its jobs'
    hold accounts, used what ``usage`` transactions took from those holds."""
    available = tx.ledger.balances_of({accounts.grant(g.id) for g in grants}, H100E)
    holds = tx.ledger.hold_totals([g.id for g in grants], H100E)
    return [GrantView(g, available[accounts.grant(g.id)], holds[g.id][0], -holds[g.id][1])
            for g in grants]


def award(ctx: ServiceContext, caller: Caller, application_id: str, budget_h100e_h: Decimal,
          months: int | None = None, chip_ids: frozenset[str] | None = None, *,
          without_review: str | None = None) -> GrantView:
    """Grant an application a budget for a period; books the award in the ledger.

    The award must make sense (:func:`check_award`): the application reviewed (unless the
    operator waives it, ``without_review`` being the reason, stored on the grant), the budget
    within what it asked for, the call's remaining budget and the pools' physical capacity.
    The grant records the chips of each type the application asked for (capped by the call's
    per-project cap): the most its jobs may hold at once.
    """
    caller.check(ctx, "grant:award", Resource("Grant", "new"))
    if budget_h100e_h <= 0:
        raise InputError("must be positive", field="budget_h100e_h")
    if without_review is not None and not without_review.strip():
        raise InputError("give the reason for awarding without a review",
                         field="without_review")
    now = ctx.clock.now()
    with ctx.db.transaction() as tx:
        app = tx.calls.get_application(application_id, lock=True)
        if app is None:
            raise NotFoundError(f"application {application_id} not found")
        if app.status is not ApplicationStatus.SUBMITTED:
            raise ConflictError(f"application {application_id} is already {app.status.value}")
        call = guaranteed(tx.calls.get_call(app.call_id, lock=True), f"call {app.call_id}")
        period = months if months is not None else app.months
        if not 1 <= period <= call.max_months:
            raise InputError(f"{period} is outside 1..{call.max_months}", field="months")
        chips = chip_ids if chip_ids is not None else frozenset(app.chips)
        counts = award_counts(ctx, call, app, chips)
        grant = Grant(new_id("grant"), call.id, app.id, app.org_id, budget_h100e_h, chips, now,
                      now + timedelta(days=DAYS_PER_MONTH * period), GrantStatus.ACTIVE, now,
                      None, counts, without_review.strip() if without_review else None)
        check_award(ctx, tx, call, app, grant)
        tx.grants.add(grant)
        audit.changed(ctx, tx, caller, "grant.awarded", "grant", grant.id, app.org_id,
                      application=app.id, call=call.id, budget_h100e_h=budget_h100e_h,
                      chips=counts, ends_at=grant.ends_at, without_review=grant.review_waiver)
        tx.ledger.book(award_transaction(grant.id, call.id, budget_h100e_h, now))
        tx.calls.set_application_status(app.id, ApplicationStatus.GRANTED)
        return view(tx, grant)


def award_counts(ctx: ServiceContext, call: Call, app: Application, chips: frozenset[str]
                 ) -> dict[str, int]:
    """Per chip type awarded, the count the application asked for, capped by the call's
    per-project cap; a type the application did not ask for cannot be awarded (422)."""
    if not chips:
        raise InputError("name at least one chip type", field="chip_ids")
    counts = {}
    for chip in sorted(chips):
        ctx.catalog.get(chip)
        if chip not in app.chips:
            raise InputError(f"application {app.id} asked for no {chip} (it asked for "
                             f"{', '.join(sorted(app.chips))})", field="chip_ids")
        counts[chip] = min(app.chips[chip], call.max_chips_per_project.get(chip, app.chips[chip]))
    return counts


def check_award(ctx: ServiceContext, tx: Tx, call: Call, app: Application, grant: Grant
                ) -> None:
    """Refuse an award that does not make sense, with the figures:

    * no review of the application and no waiver → 409;
    * budget B > the h100e-hours the application asked for → 422 (``budget_h100e_h``);
    * the call has a total budget T and B > T − A, A = awarded − reclaimed so far (minus the
      balance of the call's ledger account) → 409;
    * B > the headroom of the pools on the grant's chips over its period, see
      :func:`aicenter.domain.grant.physical_capacity` → 409.
    """
    b = grant.budget_h100e_h
    if grant.review_waiver is None and not tx.calls.reviews_of(app.id):
        raise ConflictError(
            f"application {app.id} has not been reviewed: review it first (`aicenter call "
            f"review {app.id} ...`) or award it with `--without-review REASON`")
    if b > app.requested_h100e_h:
        raise InputError(f"{b} h100e-h is more than the {app.requested_h100e_h} h100e-h "
                         f"application {app.id} asked for", field="budget_h100e_h")
    if call.budget_h100e_h is not None:
        awarded = -tx.ledger.balance(accounts.call_pool(call.id), H100E)
        left = call.budget_h100e_h - awarded
        if b > left:
            raise ConflictError(
                f"call {call.id} has {left} h100e-h left of its {call.budget_h100e_h} "
                f"({awarded} awarded); this award is {b} h100e-h")
    pool_chips: dict[str, int] = {}
    for pool in tx.pools.list():
        pool_chips[pool.chip_id] = pool_chips.get(pool.chip_id, 0) + pool.chip_count
    ratio = {c: Decimal(str(ctx.performance.best_ratio(c))) for c in pool_chips}
    others = tx.grants.list(active_between=(grant.starts_at, grant.ends_at))
    cap = physical_capacity(grant.chip_ids, grant.starts_at, grant.ends_at, others,
                            pool_chips, ratio)
    if b > cap.headroom_h100e_h:
        pooled = ", ".join(f"{pool_chips.get(c, 0)} × {c} (ratio {ratio.get(c, 0)})"
                           for c in sorted(grant.chip_ids))
        hours = (grant.ends_at - grant.starts_at).total_seconds() / 3600
        raise ConflictError(
            f"the pools cannot deliver {b} h100e-h: {pooled} over {hours:g} h give "
            f"{cap.capacity_h100e_h} h100e-h, other grants over the period commit "
            f"{cap.committed_h100e_h}, leaving {cap.headroom_h100e_h}")


def reject(ctx: ServiceContext, caller: Caller, application_id: str, reason: str
           ) -> Application:
    """Turn an application down, with the reason its organisation reads; it cannot be
    awarded afterwards (409)."""
    caller.check(ctx, "grant:award", Resource("Grant", "new"))
    if not reason.strip():
        raise InputError("give the reason the organisation will read", field="reason")
    with ctx.db.transaction() as tx:
        app = tx.calls.get_application(application_id, lock=True)
        if app is None:
            raise NotFoundError(f"application {application_id} not found")
        if app.status is not ApplicationStatus.SUBMITTED:
            raise ConflictError(f"application {application_id} is already {app.status.value}")
        tx.calls.set_application_status(app.id, ApplicationStatus.REJECTED, reason.strip())
        audit.changed(ctx, tx, caller, "application.rejected", "application", app.id,
                      app.org_id, reason=reason.strip())
        return guaranteed(tx.calls.get_application(app.id), f"application {app.id}")


def get_grant(ctx: ServiceContext, caller: Caller, grant_id: str) -> GrantView:
    with ctx.db.transaction(write=False) as tx:
        grant: Grant | None = tx.grants.get(grant_id)
        caller.check(ctx, "grant:read", Resource("Grant", grant_id,
                                                 grant.org_id if grant else None))
        if grant is None:
            raise NotFoundError(f"grant {grant_id} not found")
        return view(tx, grant)


def _grants_scope(ctx: ServiceContext, caller: Caller, org_id: str | None) -> str | None:
    """The organisation whose grants a listing covers (None: every one, for operators and
    auditors who ask for none), once the policies allow the caller to read them: one
    decision for the listing, as for jobs."""
    if not caller.sees_all:
        org_id = caller.org_id if org_id is None else org_id
    caller.check(ctx, "grant:read", Resource("Grant", "any", org_id) if org_id else
                 Resource("Grant", "any"))
    return org_id


def list_grants(ctx: ServiceContext, caller: Caller, org_id: str | None = None, *,
                limit: int | None = None, offset: int = 0) -> list[GrantView]:
    """Grants in start order with their ledger figures: the caller's organisation's (or
    ``org_id``'s; every one for operators and auditors); ``limit`` and ``offset`` cut a
    page (:func:`count_grants` is the total)."""
    org_id = _grants_scope(ctx, caller, org_id)
    with ctx.db.transaction(write=False) as tx:
        return views(tx, tx.grants.list(org_id=org_id, limit=limit, offset=offset))


def count_grants(ctx: ServiceContext, caller: Caller, org_id: str | None = None) -> int:
    """How many grants :func:`list_grants` lists without a limit."""
    org_id = _grants_scope(ctx, caller, org_id)
    with ctx.db.transaction(write=False) as tx:
        return int(tx.grants.count(org_id))


@dataclass(frozen=True, slots=True)
class ReclaimNotice:
    """A grant the idle sweep noticed: reclaimed at ``reclaim_at`` (``reclaim_notice_days``
    after the notice) unless used before; its balance is what would go back to the call."""

    view: GrantView
    noticed_at: datetime
    reclaim_at: datetime


def reclaim_notices(ctx: ServiceContext, caller: Caller, org_id: str | None = None, *,
                    limit: int | None = None, offset: int = 0) -> list[ReclaimNotice]:
    """The grants with a reclaim notice (running, or carried out: the grant reclaimed), of
    the caller's organisation (operators and auditors: every one, or ``org_id``'s), the
    newest notice first; ``limit`` and ``offset`` cut a page (:func:`count_reclaim_notices`
    is the total)."""
    notice = timedelta(days=ctx.settings.reclaim_notice_days)
    org_id = _grants_scope(ctx, caller, org_id)
    with ctx.db.transaction(write=False) as tx:
        noticed = views(tx, tx.grants.list(org_id=org_id, noticed=True, limit=limit,
                                           offset=offset))
    return [ReclaimNotice(v, at, at + notice) for v in noticed
            if (at := v.grant.reclaim_notice_at) is not None]


def count_reclaim_notices(ctx: ServiceContext, caller: Caller, org_id: str | None = None
                          ) -> int:
    """How many notices :func:`reclaim_notices` lists without a limit."""
    org_id = _grants_scope(ctx, caller, org_id)
    with ctx.db.transaction(write=False) as tx:
        return int(tx.grants.count(org_id, noticed=True))


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
                audit.changed(ctx, tx, caller, "grant.expired", "grant", grant.id, grant.org_id)
                report.expired.append(grant.id)
                continue
            step = reclaim_step(grant, now, ctx.settings.idle_reclaim_days,
                                ctx.settings.reclaim_notice_days)
            if step == "notice":
                tx.grants.set_notice(grant.id, now)
                audit.changed(ctx, tx, caller, "grant.idle_noticed", "grant", grant.id,
                              grant.org_id)
                report.noticed.append(grant.id)
            elif step == "reclaim":
                locked = guaranteed(tx.grants.get(grant.id, lock=True), f"grant {grant.id}")
                balance = tx.ledger.balance(accounts.grant(grant.id), H100E)
                if balance > 0:
                    tx.ledger.book(reclaim_transaction(grant.id, locked.call_id, balance, now))
                tx.grants.set_status(grant.id, GrantStatus.RECLAIMED)
                audit.changed(ctx, tx, caller, "grant.reclaimed", "grant", grant.id,
                              grant.org_id, returned_h100e_h=max(balance, Decimal(0)))
                report.reclaimed.append(grant.id)
    return report
