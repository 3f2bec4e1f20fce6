"""Domain objects → response models (Decimals travel as strings to stay exact)."""

from __future__ import annotations

from aicenter.api.schemas import (
    ApplicationOut,
    CallOut,
    GrantOut,
    JobOut,
    StatementLineOut,
    StatementOut,
    UsageOut,
)
from aicenter.domain.call import Application, Call
from aicenter.domain.job import Job
from aicenter.domain.usage import UsageRecord
from aicenter.services.grant import GrantView
from aicenter.services.metering import charged_h100e_h
from aicenter.services.usage import Statement


def call_out(c: Call) -> CallOut:
    rule = c.price_rule
    return CallOut(
        id=c.id, name=c.name, status=c.status.value,
        eligible_classes=sorted(x.value for x in c.eligible_classes),
        max_chips_per_project=dict(c.max_chips_per_project), max_months=c.max_months,
        market_price_per_h100e_h=str(rule.market_price_per_h100e_h.amount),
        currency=rule.market_price_per_h100e_h.currency.value,
        payable_fraction={k.value: str(v) for k, v in rule.payable_fraction.items()},
        chase_team_priority=c.chase_team_priority, regional_bonus=c.regional_bonus,
        concentration_threshold=c.concentration_threshold,
        concentration_penalty=c.concentration_penalty, opened_at=c.opened_at,
        budget_h100e_h=None if c.budget_h100e_h is None else str(c.budget_h100e_h))


def application_out(a: Application) -> ApplicationOut:
    return ApplicationOut(id=a.id, call_id=a.call_id, org_id=a.org_id, title=a.title,
                          chips=dict(a.chips), months=a.months,
                          requested_h100e_h=str(a.requested_h100e_h), plan=dict(a.plan),
                          status=a.status.value, created_at=a.created_at,
                          decision_reason=a.decision_reason)


def grant_out(v: GrantView) -> GrantOut:
    g = v.grant
    return GrantOut(id=g.id, call_id=g.call_id, application_id=g.application_id,
                    org_id=g.org_id, status=g.status.value,
                    budget_h100e_h=str(g.budget_h100e_h),
                    available_h100e_h=str(v.available_h100e_h),
                    held_h100e_h=str(v.held_h100e_h), used_h100e_h=str(v.used_h100e_h),
                    chip_ids=sorted(g.chip_ids), chip_counts=dict(g.chip_counts),
                    review_waiver=g.review_waiver, starts_at=g.starts_at, ends_at=g.ends_at,
                    last_used_at=g.last_used_at, reclaim_notice_at=g.reclaim_notice_at)


def job_out(j: Job, containment_notes: list[str] | None = None) -> JobOut:
    return JobOut(id=j.id, name=j.spec.name, org_id=j.org_id, person_id=j.person_id,
                  grant_id=j.grant_id, status=j.status.value, priority=j.spec.priority.value,
                  chip=j.chip, chip_count=j.chip_count, attempts=j.attempts,
                  hold_h100e_h=str(j.hold_h100e_h), submitted_at=j.submitted_at,
                  started_at=j.started_at, finished_at=j.finished_at, exit_code=j.exit_code,
                  message=j.message, spec=j.spec.to_dict(), pool_id=j.pool_id, site=j.site,
                  country=j.country, pending_reason=j.pending_reason,
                  containment_notes=containment_notes or [])


def usage_out(r: UsageRecord) -> UsageOut:
    return UsageOut(id=r.id, job_id=r.job_id, org_id=r.org_id, grant_id=r.grant_id,
                    chip_id=r.chip_id, chip_count=r.chip_count,
                    interval_start=r.interval_start, interval_end=r.interval_end,
                    chip_seconds=str(r.chip_seconds), h100e_seconds=str(r.h100e_seconds),
                    h100e_h=str(charged_h100e_h(r)))


def statement_out(s: Statement) -> StatementOut:
    return StatementOut(
        org_id=s.org_id, org_name=s.org_name, org_class=s.org_class, month=s.month,
        currency=s.currency,
        lines=[StatementLineOut(chip_id=x.chip_id, chip_hours=str(x.chip_hours),
                                h100e_h=str(x.h100e_h), market=str(x.market),
                                payable=str(x.payable), subsidy=str(x.subsidy))
               for x in s.lines],
        total_h100e_h=str(s.total_h100e_h), total_payable=str(s.total_payable),
        total_subsidy=str(s.total_subsidy))
