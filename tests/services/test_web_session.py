"""Sessions and OpenID Connect identities on SQLite and PostgreSQL: a session is found only
by its secret (stored hashed), slides its idle expiry but never past its lifetime, ends with
sign-out or with the token it signed in with; identities wait, are approved into a person,
or rejected."""

from __future__ import annotations

import pytest

from aicenter.domain.identity import IdentityStatus
from aicenter.domain.person import Role
from aicenter.domain.token import Scope
from aicenter.policy import PermissionDeniedError
from aicenter.services import identity as identity_svc
from aicenter.services import org as org_svc
from aicenter.services import web_session as svc
from aicenter.services.clock import ManualClock
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import AuthenticationError
from tests.services.fixtures import seed_center


def test_session_life(ctx: ServiceContext, clock: ManualClock, operator: Caller) -> None:
    _, member, _ = seed_center(ctx, operator)
    _, token = org_svc.create_token(ctx, operator, member.person.id, "web",
                                    frozenset({Scope.READ}), None)
    secret, session = svc.sign_in_with_token(ctx, token)
    assert secret != token and session.id == svc.session_id(secret) and not session.can_write
    with ctx.db.transaction(write=False) as tx:
        assert tx.web_sessions.get(secret) is None  # only the hash is stored
    caller, _ = svc.resume(ctx, secret)
    assert caller.person.id == member.person.id and not caller.can_write
    steps = svc.LIFETIME_S // (svc.IDLE_S - 60)
    for _ in range(steps):  # active all day: the idle expiry slides on...
        clock.advance(svc.IDLE_S - 60)
        svc.resume(ctx, secret)
    clock.advance(svc.LIFETIME_S - steps * (svc.IDLE_S - 60) + 1)  # ...but not past the lifetime
    with pytest.raises(AuthenticationError):
        svc.resume(ctx, secret)
    secret, _ = svc.sign_in_with_token(ctx, token)
    clock.advance(svc.IDLE_S + 1)  # idle too long
    with pytest.raises(AuthenticationError):
        svc.resume(ctx, secret)
    secret, _ = svc.sign_in_with_token(ctx, token)
    svc.end(ctx, secret)
    with pytest.raises(AuthenticationError):
        svc.resume(ctx, secret)
    secret, _ = svc.sign_in_with_token(ctx, token)
    token_id = next(t.id for t in org_svc.list_tokens(ctx, operator, member.person.id)
                    if t.name == "web")
    org_svc.revoke_token(ctx, operator, token_id)
    with pytest.raises(AuthenticationError):  # revoking the token ends its sessions
        svc.resume(ctx, secret)
    with pytest.raises(AuthenticationError):
        svc.sign_in_with_token(ctx, "not-a-token")


def test_identity_requests(ctx: ServiceContext, operator: Caller) -> None:
    org, member, _ = seed_center(ctx, operator)
    domain = member.person.email.rpartition("@")[2]
    claims = {"sub": "k", "email": f"kim@{domain}", "name": "Kim"}
    waiting = svc.sign_in_identity(ctx, "https://idp", "k", claims)
    assert not isinstance(waiting, tuple) and waiting.status is IdentityStatus.PENDING
    assert waiting.suggested_org_id == org.id
    with pytest.raises(PermissionDeniedError):
        identity_svc.list_identity_requests(ctx, member)
    approved = identity_svc.approve_identity(ctx, operator, waiting.id, org.id, Role.MEMBER)
    assert approved.person_id is not None
    signed = svc.sign_in_identity(ctx, "https://idp", "k", claims)
    assert isinstance(signed, tuple)
    caller, _ = svc.resume(ctx, signed[0])
    assert caller.person.email == f"kim@{domain}" and caller.person.org_id == org.id
    other = svc.sign_in_identity(ctx, "https://idp", "e", {"email": "e@else.org"})
    assert not isinstance(other, tuple) and other.suggested_org_id is None
    identity_svc.reject_identity(ctx, operator, other.id, "unknown institution")
    again = svc.sign_in_identity(ctx, "https://idp", "e", {"email": "e@else.org"})
    assert not isinstance(again, tuple) and again.status is IdentityStatus.REJECTED
    assert [r.subject for r in identity_svc.list_identity_requests(
        ctx, operator, IdentityStatus.PENDING)] == []
