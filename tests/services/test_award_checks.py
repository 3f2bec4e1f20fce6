"""Awards that make sense (issue 12 item 4): reviewed (or explicitly waived), no more than the
application asked for, within the call's remaining budget and the pools' physical capacity;
a rejected application cannot be awarded. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from aicenter.domain.call import Application, ApplicationStatus
from aicenter.domain.errors import InputError
from aicenter.domain.grant import Grant, GrantStatus, physical_capacity
from aicenter.domain.org import OrgClass
from aicenter.services import call as svc
from aicenter.services import grant as grant_svc
from aicenter.services import org as org_svc
from aicenter.services import pool as pool_svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import ConflictError

H100 = "nvidia-h100-sxm"


def _setup(ctx: ServiceContext, operator: Caller, *, h100: int = 8,
           call_budget: Decimal | None = None) -> tuple[str, str]:
    """A pool of ``h100`` H100s, a call (optionally with a total budget) and an SME: the
    call id and the organisation id."""
    pool_svc.add_pool(ctx, operator, H100, h100)
    call = svc.open_call(ctx, operator, svc.CallRequest(
        "call", frozenset({OrgClass.SME}), {H100: 4}, budget_h100e_h=call_budget))
    org = org_svc.create_org(ctx, operator, "SME", OrgClass.SME)
    return call.id, org.id


def _apply(ctx: ServiceContext, operator: Caller, call_id: str, org_id: str, asked: str,
           months: int = 1, review: bool = True) -> Application:
    app = svc.apply(ctx, operator, call_id, org_id, "p", {H100: 4}, months, Decimal(asked))
    if review:
        svc.review(ctx, operator, app.id, 7, 7, 7)
    return app


def test_an_award_records_the_chips_asked_for(ctx: ServiceContext, operator: Caller) -> None:
    call_id, org_id = _setup(ctx, operator)
    app = _apply(ctx, operator, call_id, org_id, "100")
    grant = grant_svc.award(ctx, operator, app.id, Decimal(100)).grant
    assert grant.chip_counts == {H100: 4} and grant.chip_limit(H100) == 4
    assert grant.allows(H100, 4) and not grant.allows(H100, 5)
    assert grant.review_waiver is None
    assert grant_svc.get_grant(ctx, operator, grant.id).grant.chip_counts == {H100: 4}


def test_award_above_the_request_is_refused(ctx: ServiceContext, operator: Caller) -> None:
    call_id, org_id = _setup(ctx, operator)
    app = _apply(ctx, operator, call_id, org_id, "1")
    with pytest.raises(InputError) as err:
        grant_svc.award(ctx, operator, app.id, Decimal(100_000_000))
    assert err.value.field == "budget_h100e_h" and "asked for" in str(err.value)
    assert svc.get_application(ctx, operator, app.id).status is ApplicationStatus.SUBMITTED


def test_award_needs_a_review_unless_waived(ctx: ServiceContext, operator: Caller) -> None:
    call_id, org_id = _setup(ctx, operator)
    app = _apply(ctx, operator, call_id, org_id, "50", review=False)
    with pytest.raises(ConflictError, match="has not been reviewed"):
        grant_svc.award(ctx, operator, app.id, Decimal(50))
    with pytest.raises(InputError) as err:
        grant_svc.award(ctx, operator, app.id, Decimal(50), without_review="  ")
    assert err.value.field == "without_review"
    grant = grant_svc.award(ctx, operator, app.id, Decimal(50),
                            without_review="chase-team emergency").grant
    assert grant.review_waiver == "chase-team emergency"


def test_award_beyond_the_calls_remaining_budget(ctx: ServiceContext,
                                                 operator: Caller) -> None:
    call_id, org_id = _setup(ctx, operator, call_budget=Decimal(150))
    first = _apply(ctx, operator, call_id, org_id, "100")
    grant_svc.award(ctx, operator, first.id, Decimal(100))
    second = _apply(ctx, operator, call_id, org_id, "100")
    with pytest.raises(ConflictError) as err:
        grant_svc.award(ctx, operator, second.id, Decimal(100))
    assert "h100e-h left of its 150" in str(err.value) and "has 50" in str(err.value)
    assert grant_svc.award(ctx, operator, second.id, Decimal(50)).grant.budget_h100e_h == 50


def test_award_beyond_the_pools_capacity(ctx: ServiceContext, operator: Caller) -> None:
    """1 H100 for 1 month (30 days) delivers 720 h100e-h; a grant of 500 over the same period
    leaves 220."""
    call_id, org_id = _setup(ctx, operator, h100=1)
    huge = _apply(ctx, operator, call_id, org_id, "1000")
    with pytest.raises(ConflictError) as err:
        grant_svc.award(ctx, operator, huge.id, Decimal(1000))
    assert "the pools cannot deliver 1000" in str(err.value) and "1 × nvidia-h100-sxm" in \
        str(err.value) and "720" in str(err.value)
    grant_svc.award(ctx, operator, huge.id, Decimal(500))
    more = _apply(ctx, operator, call_id, org_id, "300")
    with pytest.raises(ConflictError, match="commit 500"):
        grant_svc.award(ctx, operator, more.id, Decimal(300))
    assert grant_svc.award(ctx, operator, more.id, Decimal(220)).grant.budget_h100e_h == 220


def test_award_of_chips_not_pooled_or_not_asked_for(ctx: ServiceContext,
                                                   operator: Caller) -> None:
    call_id, org_id = _setup(ctx, operator)
    app = _apply(ctx, operator, call_id, org_id, "10")
    with pytest.raises(InputError) as err:
        grant_svc.award(ctx, operator, app.id, Decimal(10), chip_ids=frozenset({"nvidia-h200"}))
    assert err.value.field == "chip_ids" and "asked for no nvidia-h200" in str(err.value)


def test_rejected_application_cannot_be_awarded(ctx: ServiceContext,
                                                operator: Caller) -> None:
    call_id, org_id = _setup(ctx, operator)
    app = _apply(ctx, operator, call_id, org_id, "10")
    with pytest.raises(InputError):
        grant_svc.reject(ctx, operator, app.id, "")
    rejected = grant_svc.reject(ctx, operator, app.id, "out of the call's scope")
    assert rejected.status is ApplicationStatus.REJECTED
    assert rejected.decision_reason == "out of the call's scope"
    with pytest.raises(ConflictError, match="already rejected"):
        grant_svc.award(ctx, operator, app.id, Decimal(10))
    with pytest.raises(ConflictError):
        grant_svc.reject(ctx, operator, app.id, "again")


def _grant(budget: int, start: datetime, days: int, chips: frozenset[str],
           status: GrantStatus = GrantStatus.ACTIVE) -> Grant:
    return Grant("g", "c", None, "o", Decimal(budget), chips, start,
                 start + timedelta(days=days), status, start, None)


def test_physical_capacity_maths() -> None:
    """8 H100 (r=1) + 4 NPUs (r=0.5) over 10 days = (8 + 2) × 240 h = 2400 h100e-h. A grant of
    1200 over 20 days overlapping half of them on H100 only commits 600; one on both types
    (rate 8 of 10 shared with a grant on H100 only) commits 1000 × 8/10 = 800 of it; an
    expired one and one after the period commit nothing."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    pools, ratio = {H100: 8, "npu": 4}, {H100: Decimal(1), "npu": Decimal("0.5")}
    both = frozenset({H100, "npu"})
    assert physical_capacity(both, t0, t0 + timedelta(days=10), [], pools,
                             ratio).capacity_h100e_h == 2400
    others = [_grant(1200, t0 - timedelta(days=5), 10, frozenset({H100})),
              _grant(1200, t0, 10, both, GrantStatus.EXPIRED),
              _grant(1200, t0 + timedelta(days=10), 10, both)]
    cap = physical_capacity(both, t0, t0 + timedelta(days=10), others, pools, ratio)
    assert cap.committed_h100e_h == 600 and cap.headroom_h100e_h == 1800
    only_h100 = physical_capacity(frozenset({H100}), t0, t0 + timedelta(days=10),
                                  [_grant(1000, t0, 10, both)], pools, ratio)
    assert only_h100.capacity_h100e_h == 1920 and only_h100.committed_h100e_h == 800
