"""Calls, applications, reviews, grants, price rules and idle reclaim through the use cases."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aicenter.domain.call import PriceRule
from aicenter.domain.errors import InputError
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.ledger import H100E
from aicenter.policy import PermissionDeniedError
from aicenter.services import call as svc
from aicenter.services import grant as grant_svc
from aicenter.services import org as org_svc
from aicenter.services import pool as pool_svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import ConflictError
from tests.services.fixtures import seed_center


def test_price_rule_follows_the_korean_call() -> None:
    rule = PriceRule.default(Decimal("1000"))
    used = Decimal("10")
    assert rule.charge(used, OrgClass.UNIVERSITY)[0].amount == 0
    assert rule.charge(used, OrgClass.RESEARCH_INSTITUTE)[0].amount == 0
    sme = rule.charge(used, OrgClass.SME)[0].amount
    youth = rule.charge(used, OrgClass.YOUTH_STARTUP)[0].amount
    assert Decimal("0.05") * 10_000 <= sme <= Decimal("0.10") * 10_000
    assert youth == sme / 2
    payable, subsidy = rule.charge(used, OrgClass.ENTERPRISE)
    assert payable.amount == 10_000 and subsidy.amount == 0


def _call(ctx: ServiceContext, operator: Caller, **kw):  # type: ignore[no-untyped-def]
    return svc.open_call(ctx, operator, svc.CallRequest(
        "Dec 2025", frozenset({OrgClass.UNIVERSITY, OrgClass.SME, OrgClass.YOUTH_STARTUP}),
        {"nvidia-h200": 256, "nvidia-b200": 128}, **kw))


def test_caps_and_eligibility(ctx: ServiceContext, operator: Caller) -> None:
    call = _call(ctx, operator)
    uni = org_svc.create_org(ctx, operator, "Uni", OrgClass.UNIVERSITY)
    big = org_svc.create_org(ctx, operator, "Big", OrgClass.ENTERPRISE)
    with pytest.raises(InputError, match="256"):
        svc.apply(ctx, operator, call.id, uni.id, "x", {"nvidia-h200": 257}, 6, Decimal(1))
    with pytest.raises(InputError, match="not offered"):
        svc.apply(ctx, operator, call.id, uni.id, "x", {"nvidia-h100-sxm": 8}, 6, Decimal(1))
    with pytest.raises(InputError, match="months"):
        svc.apply(ctx, operator, call.id, uni.id, "x", {"nvidia-b200": 128}, 13, Decimal(1))
    with pytest.raises(InputError, match="may not apply"):
        svc.apply(ctx, operator, call.id, big.id, "x", {"nvidia-b200": 8}, 6, Decimal(1))
    svc.close_call(ctx, operator, call.id)
    with pytest.raises(InputError, match="closed"):
        svc.apply(ctx, operator, call.id, uni.id, "x", {"nvidia-b200": 8}, 6, Decimal(1))


def test_reviews_rank_with_regional_bonus_and_concentration_penalty(
        ctx: ServiceContext, operator: Caller) -> None:
    call = _call(ctx, operator, regional_bonus=1.0, concentration_threshold=0.2,
                 concentration_penalty=2.0)
    seoul = org_svc.create_org(ctx, operator, "Seoul", OrgClass.UNIVERSITY, region="capital")
    gwangju = org_svc.create_org(ctx, operator, "Gwangju", OrgClass.UNIVERSITY,
                                 region="gwangju")
    a = svc.apply(ctx, operator, call.id, seoul.id, "a", {"nvidia-h200": 8}, 6, Decimal(100))
    b = svc.apply(ctx, operator, call.id, gwangju.id, "b", {"nvidia-h200": 8}, 6, Decimal(100))
    for app in (a, b):
        svc.review(ctx, operator, app.id, 6, 6, 6)
    with pytest.raises(ConflictError):
        svc.review(ctx, operator, a.id, 1, 1, 1)
    with pytest.raises(InputError):
        svc.review(ctx, operator, a.id, 11, 1, 1)
    ranked = svc.ranking(ctx, operator, call.id)
    assert [r.application.id for r in ranked] == [b.id, a.id]
    assert ranked[0].score == pytest.approx(7.0) and ranked[1].score == pytest.approx(6.0)
    # Seoul already holds the whole call: share 1 > 0.2 costs the full penalty
    pool_svc.add_pool(ctx, operator, "nvidia-h200", 8)
    c = svc.apply(ctx, operator, call.id, seoul.id, "c", {"nvidia-h200": 8}, 6, Decimal(10))
    grant_svc.award(ctx, operator, c.id, Decimal(10), without_review="renewal of a prior grant")
    ranked = {r.application.id: r for r in svc.ranking(ctx, operator, call.id)}
    assert ranked[a.id].org_share_of_call == 1.0
    assert ranked[a.id].score == pytest.approx(6.0 - 2.0)


def test_award_books_the_ledger_and_only_once(ctx: ServiceContext, operator: Caller) -> None:
    _org, member, grant = seed_center(ctx, operator, budget="250.5")
    assert grant.available_h100e_h == Decimal("250.5")
    with pytest.raises(ConflictError):
        grant_svc.award(ctx, operator, grant.grant.application_id, Decimal(1))
    with pytest.raises(PermissionDeniedError):
        grant_svc.award(ctx, member, grant.grant.application_id, Decimal(1))
    with ctx.db.transaction(write=False) as tx:
        assert tx.ledger.balance(f"call:{grant.grant.call_id}:pool", H100E) == Decimal("-250.5")
        assert tx.ledger.unbalanced_transactions() == []
        assert tx.ledger.balance_drift() == []  # running balances = postings
    assert [g.grant.id for g in grant_svc.list_grants(ctx, member)] == [grant.grant.id]


def test_tenant_cannot_see_other_grants(ctx: ServiceContext, operator: Caller) -> None:
    _, member_a, grant_a = seed_center(ctx, operator)
    other = org_svc.create_org(ctx, operator, "Other", OrgClass.SME)
    member_b = Caller(org_svc.add_person(ctx, operator, other.id, "B", "b@o.kr", Role.MEMBER))
    assert grant_svc.list_grants(ctx, member_b) == []
    with pytest.raises(PermissionDeniedError):
        grant_svc.get_grant(ctx, member_b, grant_a.grant.id)
    with pytest.raises(PermissionDeniedError):
        grant_svc.list_grants(ctx, member_b, org_id=member_a.org_id)


def test_idle_grant_gets_notice_then_is_reclaimed(ctx: ServiceContext, operator: Caller,
                                                  clock) -> None:  # type: ignore[no-untyped-def]
    _, _, grant = seed_center(ctx, operator, budget="40")
    days = 86400
    clock.advance(29 * days)
    assert grant_svc.reclaim_idle(ctx).noticed == []
    clock.advance(1 * days)
    assert grant_svc.reclaim_idle(ctx).noticed == [grant.grant.id]
    clock.advance(13 * days)
    assert grant_svc.reclaim_idle(ctx).reclaimed == []
    clock.advance(1 * days)
    assert grant_svc.reclaim_idle(ctx).reclaimed == [grant.grant.id]
    view = grant_svc.get_grant(ctx, operator, grant.grant.id)
    assert view.grant.status.value == "reclaimed" and view.available_h100e_h == 0
    with ctx.db.transaction(write=False) as tx:
        assert tx.ledger.balance(f"call:{grant.grant.call_id}:pool", H100E) == 0
