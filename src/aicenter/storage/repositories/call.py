"""Calls, applications and reviews tables ↔ domain objects of :mod:`aicenter.domain.call`."""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from aicenter.domain.call import (
    Application,
    ApplicationStatus,
    Call,
    CallStatus,
    PriceRule,
    Review,
)
from aicenter.domain.org import OrgClass
from aicenter.domain.units import Currency, Money
from aicenter.storage.tables import applications, calls, reviews

IDS_PER_QUERY = 5000
"""Application ids bound in one query (SQLite allows 32,766 parameters)."""


def _call(row: Any) -> Call:
    rule = PriceRule(
        Money(row.market_price_per_h100e_h, Currency(row.currency)),
        {OrgClass(k): Decimal(v) for k, v in row.payable_fraction.items()},
    )
    return Call(
        id=row.id, name=row.name,
        eligible_classes=frozenset(OrgClass(c) for c in row.eligible_classes),
        max_chips_per_project=dict(row.max_chips_per_project), max_months=row.max_months,
        price_rule=rule, chase_team_priority=bool(row.chase_team_priority),
        regional_bonus=row.regional_bonus, concentration_threshold=row.concentration_threshold,
        concentration_penalty=row.concentration_penalty, status=CallStatus(row.status),
        opened_at=row.opened_at, closes_at=row.closes_at, budget_h100e_h=row.budget_h100e_h,
    )


def _application(row: Any) -> Application:
    return Application(
        id=row.id, call_id=row.call_id, org_id=row.org_id, title=row.title,
        chips=dict(row.chips), months=row.months, requested_h100e_h=row.requested_h100e_h,
        plan=dict(row.plan), status=ApplicationStatus(row.status), created_at=row.created_at,
        decision_reason=row.decision_reason,
    )


class CallRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_call(self, call: Call) -> None:
        self.conn.execute(insert(calls).values(
            id=call.id, name=call.name,
            eligible_classes=sorted(c.value for c in call.eligible_classes),
            max_chips_per_project=dict(call.max_chips_per_project), max_months=call.max_months,
            market_price_per_h100e_h=call.price_rule.market_price_per_h100e_h.amount,
            currency=call.price_rule.market_price_per_h100e_h.currency.value,
            payable_fraction={k.value: str(v) for k, v in call.price_rule.payable_fraction.items()},
            chase_team_priority=call.chase_team_priority, regional_bonus=call.regional_bonus,
            concentration_threshold=call.concentration_threshold,
            concentration_penalty=call.concentration_penalty, status=call.status.value,
            opened_at=call.opened_at, closes_at=call.closes_at,
            budget_h100e_h=call.budget_h100e_h))

    def get_call(self, call_id: str, *, lock: bool = False) -> Call | None:
        """One call; ``lock`` holds its row to the end of the transaction (awards under the
        call's total budget are serialised)."""
        query = select(calls).where(calls.c.id == call_id)
        if lock:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return _call(row) if row else None

    def list_calls(self) -> list[Call]:
        return [_call(r) for r in self.conn.execute(select(calls).order_by(calls.c.opened_at))]

    def set_call_status(self, call_id: str, status: CallStatus) -> None:
        self.conn.execute(update(calls).where(calls.c.id == call_id).values(status=status.value))

    def add_application(self, app: Application) -> None:
        self.conn.execute(insert(applications).values(
            id=app.id, call_id=app.call_id, org_id=app.org_id, title=app.title,
            chips=dict(app.chips), months=app.months, requested_h100e_h=app.requested_h100e_h,
            plan=dict(app.plan), status=app.status.value, created_at=app.created_at))

    def get_application(self, app_id: str, *, lock: bool = False) -> Application | None:
        query = select(applications).where(applications.c.id == app_id)
        if lock:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return _application(row) if row else None

    def list_applications(self, call_id: str | None = None, org_id: str | None = None
                          ) -> list[Application]:
        query = select(applications).order_by(applications.c.created_at, applications.c.id)
        if call_id is not None:
            query = query.where(applications.c.call_id == call_id)
        if org_id is not None:
            query = query.where(applications.c.org_id == org_id)
        return [_application(r) for r in self.conn.execute(query)]

    def set_application_status(self, app_id: str, status: ApplicationStatus,
                               reason: str | None = None) -> None:
        self.conn.execute(update(applications).where(applications.c.id == app_id)
                          .values(status=status.value, decision_reason=reason))

    def add_review(self, review: Review) -> None:
        self.conn.execute(insert(reviews).values(
            application_id=review.application_id, reviewer_id=review.reviewer_id,
            impact=review.impact, readiness=review.readiness, ecosystem=review.ecosystem,
            created_at=review.created_at))

    def reviews_of(self, app_id: str) -> list[Review]:
        return self.reviews_of_many([app_id]).get(app_id, [])

    def reviews_of_many(self, app_ids: Collection[str]) -> dict[str, list[Review]]:
        """The reviews of each of these applications, oldest first, in one query per
        :data:`IDS_PER_QUERY` applications (an application without reviews is absent)."""
        found: dict[str, list[Review]] = {}
        ids = sorted(set(app_ids))
        for at in range(0, len(ids), IDS_PER_QUERY):
            rows = self.conn.execute(
                select(reviews).where(reviews.c.application_id.in_(ids[at:at + IDS_PER_QUERY]))
                .order_by(reviews.c.created_at))
            for r in rows:
                found.setdefault(r.application_id, []).append(Review(
                    r.application_id, r.reviewer_id, r.impact, r.readiness, r.ecosystem,
                    r.created_at))
        return found
