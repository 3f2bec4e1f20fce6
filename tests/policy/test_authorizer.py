"""Cedar decisions: roles, tenant isolation, token scopes (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aicenter.domain.person import Person, Role
from aicenter.policy import READ_ACTIONS, WRITE_ACTIONS, Authorizer, Resource

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AUTHZ = Authorizer()


def person(role: Role, org: str = "org_a", pid: str = "usr_x") -> Person:
    return Person(pid, org, "x", "x@x", role, T0)


@pytest.mark.parametrize("action", sorted(READ_ACTIONS | WRITE_ACTIONS - {"job:priority"}))
def test_operator_may_do_everything(action: str) -> None:
    """Everything but a priority class the job's organisation does not hold (below)."""
    assert AUTHZ.allowed(person(Role.OPERATOR, "center"), action, Resource("Job", "j", "org_b"))


def _priority(cls: str, org: str, held: set[str] | None) -> Resource:
    return Resource("PriorityClass", cls, org,
                    org_priorities=None if held is None else frozenset(held))


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ORG_ADMIN, Role.MEMBER])
def test_a_priority_class_needs_the_organisations_entitlement(role: Role) -> None:
    """Whoever submits, a job runs at a class only if its organisation holds the class."""
    who = person(role, "center" if role is Role.OPERATOR else "org_a")
    assert AUTHZ.allowed(who, "job:priority", _priority("chase-team", "org_a",
                                                        {"normal", "chase-team"}))
    assert not AUTHZ.allowed(who, "job:priority", _priority("chase-team", "org_a",
                                                            {"normal", "best-effort"}))
    assert not AUTHZ.allowed(who, "job:priority", _priority("normal", "org_a", set()))
    assert not AUTHZ.allowed(who, "job:priority", _priority("normal", "org_a", None))


def test_a_tenant_never_uses_another_organisations_classes() -> None:
    assert not AUTHZ.allowed(person(Role.MEMBER, "org_b"), "job:priority",
                             _priority("chase-team", "org_a", {"chase-team"}))


def test_only_operators_entitle() -> None:
    org = Resource("Org", "org_a", "org_a")
    assert AUTHZ.allowed(person(Role.OPERATOR, "center"), "org:entitle", org)
    for role in (Role.ORG_ADMIN, Role.MEMBER, Role.AUDITOR):
        assert not AUTHZ.allowed(person(role, "org_a"), "org:entitle", org)


@pytest.mark.parametrize("action", sorted(READ_ACTIONS))
def test_auditor_reads_every_org(action: str) -> None:
    assert AUTHZ.allowed(person(Role.AUDITOR, "center"), action, Resource("Job", "j", "org_b"))


@pytest.mark.parametrize("action", sorted(WRITE_ACTIONS))
def test_auditor_changes_nothing(action: str) -> None:
    assert not AUTHZ.allowed(person(Role.AUDITOR), action, Resource("Job", "j", "org_a"))


@pytest.mark.parametrize("role", [Role.MEMBER, Role.ORG_ADMIN, Role.DATA_PROVIDER])
@pytest.mark.parametrize("action", sorted(READ_ACTIONS | WRITE_ACTIONS))
def test_nobody_reaches_another_org(role: Role, action: str) -> None:
    assert not AUTHZ.allowed(person(role, "org_a"), action, Resource("Job", "j", "org_b"))


def test_member_submits_and_reads_own_org_jobs() -> None:
    member = person(Role.MEMBER)
    own = Resource("Job", "j", "org_a")
    for action in ("job:submit", "job:cancel", "job:read", "job:logs", "usage:read"):
        assert AUTHZ.allowed(member, action, own), action
    for action in ("grant:award", "call:open", "org:create", "person:create"):
        assert not AUTHZ.allowed(member, action, own), action


def test_data_provider_reads_but_does_not_run_jobs() -> None:
    provider = person(Role.DATA_PROVIDER)
    assert AUTHZ.allowed(provider, "usage:read", Resource("Org", "org_a", "org_a"))
    assert not AUTHZ.allowed(provider, "job:submit", Resource("Job", "new", "org_a"))


def test_read_only_token_cannot_write() -> None:
    member = person(Role.MEMBER)
    own = Resource("Job", "new", "org_a")
    assert not AUTHZ.allowed(member, "job:submit", own, can_write=False)
    assert AUTHZ.allowed(member, "job:read", own, can_write=False)


def test_org_admin_adds_members_but_not_operators() -> None:
    admin = person(Role.ORG_ADMIN)
    new = Resource("Person", "new", "org_a")
    assert AUTHZ.allowed(admin, "person:create", new, new_role="member")
    assert not AUTHZ.allowed(admin, "person:create", new, new_role="operator")
    assert not AUTHZ.allowed(admin, "person:create", new, new_role="auditor")
    assert AUTHZ.allowed(person(Role.OPERATOR), "person:create", new, new_role="auditor")


def test_everyone_manages_own_tokens_only() -> None:
    member = person(Role.MEMBER, pid="usr_me")
    assert AUTHZ.allowed(member, "token:create", Resource("Token", "new", "org_a", "usr_me"))
    assert not AUTHZ.allowed(member, "token:create",
                             Resource("Token", "new", "org_a", "usr_other"))


def test_unknown_action_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        AUTHZ.allowed(person(Role.OPERATOR), "job:explode", Resource("Job", "j", "org_a"))
