"""Organisations, people and tokens through the use cases, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.domain.token import Scope
from aicenter.policy import PermissionDeniedError
from aicenter.services import org as svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import AuthenticationError, ConflictError


def test_bootstrap_once(ctx: ServiceContext, operator: Caller) -> None:
    assert svc.bootstrap_operator(ctx) is None
    assert operator.person.role is Role.OPERATOR


def test_token_authenticates_then_expires_then_revokes(ctx: ServiceContext, operator: Caller,
                                                       clock) -> None:  # type: ignore[no-untyped-def]
    org = svc.create_org(ctx, operator, "Seoul Uni", OrgClass.UNIVERSITY)
    kim = svc.add_person(ctx, operator, org.id, "Kim", "kim@snu.ac.kr", Role.MEMBER)
    _token, secret = svc.create_token(ctx, operator, kim.id, "cli",
                                     frozenset({Scope.READ, Scope.WRITE}), 1)
    assert svc.authenticate(ctx, secret).person == kim
    with ctx.db.transaction(write=False) as tx:  # only the hash is stored
        assert secret not in repr(tx.tokens.list())
    clock.advance(86400 + 1)
    with pytest.raises(AuthenticationError):
        svc.authenticate(ctx, secret)
    _, forever = svc.create_token(ctx, operator, kim.id, "ci", frozenset({Scope.READ}), None)
    caller = svc.authenticate(ctx, forever)
    assert not caller.can_write
    ci_token = next(t for t in svc.list_tokens(ctx, caller, kim.id) if t.name == "ci")
    with pytest.raises(PermissionDeniedError):  # a read-only token cannot revoke
        svc.revoke_token(ctx, caller, ci_token.id)
    svc.revoke_token(ctx, operator, ci_token.id)
    with pytest.raises(AuthenticationError):
        svc.authenticate(ctx, forever)
    with pytest.raises(AuthenticationError):
        svc.authenticate(ctx, "aic_unknown")


def test_tenants_see_only_their_org(ctx: ServiceContext, operator: Caller) -> None:
    a = svc.create_org(ctx, operator, "A", OrgClass.STARTUP)
    b = svc.create_org(ctx, operator, "B", OrgClass.SME)
    alice = Caller(svc.add_person(ctx, operator, a.id, "Alice", "alice@a.kr", Role.ORG_ADMIN))
    assert [o.id for o in svc.list_orgs(ctx, alice)] == [a.id]
    assert {o.id for o in svc.list_orgs(ctx, operator)} >= {a.id, b.id}
    with pytest.raises(PermissionDeniedError):
        svc.get_org(ctx, alice, b.id)
    with pytest.raises(PermissionDeniedError):
        svc.get_org(ctx, alice, "org_does_not_exist")
    with pytest.raises(PermissionDeniedError):
        svc.list_people(ctx, alice, b.id)
    with pytest.raises(PermissionDeniedError):
        svc.add_person(ctx, alice, b.id, "Mallory", "m@b.kr", Role.MEMBER)
    with pytest.raises(PermissionDeniedError):
        svc.add_person(ctx, alice, a.id, "Eve", "eve@a.kr", Role.OPERATOR)
    bob = svc.add_person(ctx, alice, a.id, "Bob", "bob@a.kr", Role.MEMBER)
    assert {p.id for p in svc.list_people(ctx, alice, a.id)} == {alice.person.id, bob.id}


def test_duplicates_conflict(ctx: ServiceContext, operator: Caller) -> None:
    org = svc.create_org(ctx, operator, "Dup", OrgClass.SME)
    with pytest.raises(ConflictError):
        svc.create_org(ctx, operator, "Dup", OrgClass.SME)
    svc.add_person(ctx, operator, org.id, "X", "x@dup.kr", Role.MEMBER)
    with pytest.raises(ConflictError):
        svc.add_person(ctx, operator, org.id, "Y", "X@dup.kr", Role.MEMBER)
