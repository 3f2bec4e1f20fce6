"""The operator's policies: set (validated, stored as a version, logged with old and new
sha256, in force at once), read by everyone, picked up by another process, and a stored
version that no longer validates stops the start (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from aicenter.domain.licence import DatasetTerms
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.domain.policy import PolicyVersion
from aicenter.ledger.audit import AuditFilter
from aicenter.policy import Authorizer, PermissionDeniedError
from aicenter.policy.data import placement
from aicenter.policy.source import PolicyInvalidError, packaged_policies, sha256_of
from aicenter.services import audit as audit_svc
from aicenter.services import org as org_svc
from aicenter.services import policy as svc
from aicenter.services.context import Caller, ServiceContext

PACKAGED = packaged_policies()
LENIENT = re.sub(r'@id\("domestic-data-(stays-home|placed-home)"\)\nforbid[^;]*;', "",
                 PACKAGED)
NEWS = DatasetTerms("news", "press", domestic=True)


def _member(ctx: ServiceContext, operator: Caller) -> Caller:
    org = org_svc.create_org(ctx, operator, "Lab", OrgClass.UNIVERSITY)
    person = org_svc.add_person(ctx, operator, org.id, "Kim", "kim@lab.kr", Role.MEMBER)
    return Caller(person)


def test_the_packaged_policies_are_version_0(ctx: ServiceContext, operator: Caller) -> None:
    shown = svc.show(ctx, operator)
    assert shown.version == 0 and shown.text == PACKAGED and shown.sha256 == sha256_of(PACKAGED)
    assert [v.version for v in svc.versions(ctx, operator)] == [0]


def test_an_operator_sets_a_version_that_is_logged_and_in_force(
        ctx: ServiceContext, operator: Caller) -> None:
    assert not placement(ctx.authz, NEWS, frozenset({"KR"}), "US").allowed
    done = svc.set_policy(ctx, operator, LENIENT)
    assert done.version == 1 and done.sha256 == sha256_of(LENIENT)
    assert done.set_by == operator.person.id
    assert placement(ctx.authz, NEWS, frozenset({"KR"}), "US").allowed  # at once
    assert svc.show(ctx, operator).text == LENIENT
    again = svc.set_policy(ctx, operator, PACKAGED)
    assert again.version == 2 and ctx.authz.version == 2
    changes = audit_svc.list_entries(ctx, operator, AuditFilter(action="policy.changed"))
    assert [(e.record.object_id, e.record.payload["old_sha256"], e.record.payload["new_sha256"])
            for e in changes] == [("1", sha256_of(PACKAGED), sha256_of(LENIENT)),
                                  ("2", sha256_of(LENIENT), sha256_of(PACKAGED))]
    assert [v.version for v in svc.versions(ctx, operator)] == [0, 1, 2]


def test_an_invalid_text_is_refused_naming_policy_and_line(
        ctx: ServiceContext, operator: Caller) -> None:
    bad = PACKAGED.replace("resource.territory.contains", "resource.teritory.contains")
    with pytest.raises(PolicyInvalidError, match=r"line \d+: policy territory-of-offer"):
        svc.set_policy(ctx, operator, bad)
    assert svc.show(ctx, operator).version == 0


def test_only_operators_set_and_everyone_reads(ctx: ServiceContext, operator: Caller) -> None:
    member = _member(ctx, operator)
    assert svc.show(ctx, member).version == 0
    with pytest.raises(PermissionDeniedError):
        svc.set_policy(ctx, member, LENIENT)
    ctx.db.flush_audit()
    denied = audit_svc.list_entries(ctx, operator, AuditFilter(action="authz.denied"))
    assert any(e.record.payload.get("permission") == "policy:set" for e in denied)


def test_another_process_picks_the_new_version_up(ctx: ServiceContext,
                                                 operator: Caller) -> None:
    other = ServiceContext(db=ctx.db, settings=ctx.settings, clock=ctx.clock,
                           authz=Authorizer())
    svc.load_active(other)
    assert other.authz.version == 0
    svc.set_policy(ctx, operator, LENIENT)
    assert svc.refresh(other) and other.authz.version == 1 and other.authz.text == LENIENT
    assert not svc.refresh(other)


def test_a_stored_version_that_no_longer_validates_stops_the_start(
        ctx: ServiceContext, operator: Caller) -> None:
    broken = PACKAGED.replace('Action::"licence:accept"', 'Action::"licence:acept"')
    with ctx.db.transaction() as tx:
        tx.policies.add(PolicyVersion(1, broken, sha256_of(broken),
                                      ctx.clock.now() + timedelta(seconds=1), "usr_x"))
    fresh = ServiceContext(db=ctx.db, settings=ctx.settings, clock=ctx.clock,
                           authz=Authorizer())
    with pytest.raises(PolicyInvalidError,
                       match=r"policy version 1:line \d+: policy members-accept-licences"):
        svc.load_active(fresh)
    assert not svc.refresh(fresh) and fresh.authz.version == 0
