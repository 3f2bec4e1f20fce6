"""Cedar authorisation: builds the request and entities for one decision and evaluates it.

Routers never decide by themselves: they call :meth:`Authorizer.check` with the action and the
resource (the organisation that owns it, or the person who owns a token), and the decision is
whatever ``policies.cedar`` says.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cedarpy

from aicenter.domain.errors import AicenterError
from aicenter.domain.person import Person
from aicenter.policy.source import POLICY_FILE

READ_ACTIONS = frozenset({
    "org:read", "person:read", "token:read", "call:read", "application:read", "grant:read",
    "job:read", "job:logs", "usage:read", "pool:read", "ledger:read", "share:read",
    "dataset:read", "dataset:usage", "licence:read", "agreement:read",
    "royalty:read", "upload:read", "audit:read", "policy:read", "compliance:read",
    "fleet:procure",
})
WRITE_ACTIONS = frozenset({
    "org:create", "person:create", "token:create", "token:revoke", "call:open", "call:close",
    "application:create", "application:review", "grant:award", "grant:reclaim", "job:submit",
    "job:cancel", "pool:create", "pool:update", "pool:drain", "pool:remove", "share:set",
    "dataset:upload", "licence:offer", "licence:accept",
    "job:priority", "org:entitle", "audit:checkpoint", "policy:set",
})


class PermissionDeniedError(AicenterError):
    """The policies do not allow this principal to do this action on this resource."""


@dataclass(frozen=True, slots=True)
class Resource:
    """What an action is done to: a type and id, plus the organisation or person owning it."""

    type: str
    id: str
    org_id: str | None = None
    owner_id: str | None = None
    provider_org_id: str | None = None
    """For agreements: the data provider's organisation (a second party that may read it)."""
    org_priorities: frozenset[str] | None = None
    """For ``job:priority``: the priority classes the owning organisation is entitled to."""


@dataclass(frozen=True, slots=True)
class AuthzDecision:
    """One decision and the policy that made it: the ``@id`` of the permit that allowed it, or
    of the forbid that refused it; None for Cedar's default deny (no policy permitted)."""

    allowed: bool
    policy_id: str | None


def policy_names(policy_text: str) -> dict[str, str]:
    """Cedar's positional policy ids (``policy0``...) → each policy's ``@id`` annotation (the
    positional id where a policy has none): what a decision's diagnostics name."""
    parsed = json.loads(cedarpy.policies_to_json_str(policy_text))
    return {pid: str(body.get("annotations", {}).get("id", pid))
            for pid, body in parsed.get("staticPolicies", {}).items()}


@dataclass(frozen=True, slots=True)
class _State:
    """One policy set in force: its text, version, parsed form, names and memos."""

    text: str
    version: int
    policies: cedarpy.PolicySet
    names: dict[str, str]
    decide: Any
    memo: dict[Any, AuthzDecision]


def _ref(type_: str, id_: str) -> dict[str, Any]:
    return {"__entity": {"type": type_, "id": id_}}


class Authorizer:
    """Evaluates a Cedar policy set: the packaged ``policies.cedar`` unless given a text.

    A person's decision is a pure function of the policy set and of the request's inputs —
    the person's id, role and organisation, the action, the resource with its owners, the
    token's write scope and the new role — so decisions are memoised on exactly those inputs
    (bounded LRU). Repeated requests, such as one person submitting jobs, then cost a
    dictionary look-up instead of a Cedar evaluation (~0.13 ms).

    :meth:`load` swaps in another policy set (an operator's ``aicenter policy set``) at once
    for every thread: the set, its names and the memos are one immutable state replaced by a
    single assignment, so no decision mixes two versions."""

    def __init__(self, policy_text: str | None = None, *, memo_size: int = 65536,
                 version: int = 0) -> None:
        self._memo_size = memo_size
        self._state = self._build(policy_text if policy_text is not None
                                  else POLICY_FILE.read_text("utf-8"), version)

    def _build(self, text: str, version: int) -> _State:
        policies, names = cedarpy.PolicySet.from_str(text), policy_names(text)

        def evaluate(*args: Any) -> AuthzDecision:  # on this state's policies, whatever loads
            return Authorizer._evaluate(policies, names, *args)
        return _State(text, version, policies, names,
                      lru_cache(maxsize=self._memo_size)(evaluate), {})

    def load(self, policy_text: str, version: int) -> None:
        """Use ``policy_text`` (already validated) from now on, as ``version``."""
        self._state = self._build(policy_text, version)

    @property
    def text(self) -> str:
        """The policy text in force."""
        return self._state.text

    @property
    def version(self) -> int:
        """The database version of the text in force (0: the packaged policies)."""
        return self._state.version

    @property
    def policies(self) -> cedarpy.PolicySet:
        return self._state.policies

    @property
    def names(self) -> dict[str, str]:
        return self._state.names

    @property
    def _decide(self) -> Any:
        return self._state.decide

    def evaluate(self, request: dict[str, Any], entities: list[dict[str, Any]]
                 ) -> AuthzDecision:
        """One Cedar evaluation, not memoised: the decision and the ``@id`` of every policy
        that decided it (sorted, joined by commas; None for the default deny)."""
        state = self._state
        return _cedar(state.policies, state.names, request, entities)

    def memo(self, key: Any, decide: Callable[[], AuthzDecision]) -> AuthzDecision:
        """``decide()`` once per ``key`` for the policy set in force (for decisions that are
        pure functions of ``key``, such as a placement's); bounded like the person memo."""
        memo = self._state.memo
        found = memo.get(key)
        if found is None:
            if len(memo) >= self._memo_size:
                memo.clear()
            found = memo[key] = decide()
        return found

    def allowed(self, person: Person, action: str, resource: Resource, *,
                can_write: bool = True, new_role: str = "") -> bool:
        """The Cedar decision for one request."""
        return self.decide(person, action, resource, can_write=can_write,
                           new_role=new_role).allowed

    def decide(self, person: Person, action: str, resource: Resource, *,
               can_write: bool = True, new_role: str = "") -> AuthzDecision:
        """The Cedar decision for one request with the policy that decided (for the log)."""
        if action not in READ_ACTIONS and action not in WRITE_ACTIONS:
            raise ValueError(f"unknown action {action}")
        decision: AuthzDecision = self._decide(person.id, person.role.value, person.org_id,
                                               action, resource, can_write, new_role)
        return decision

    @staticmethod
    def _evaluate(policies: cedarpy.PolicySet, names: dict[str, str], person_id: str,
                  role: str, org_id: str, action: str, resource: Resource, can_write: bool,
                  new_role: str) -> AuthzDecision:
        resource_attrs: dict[str, Any] = {}
        if resource.org_id is not None:
            resource_attrs["org"] = _ref("Org", resource.org_id)
        if resource.owner_id is not None:
            resource_attrs["owner"] = _ref("User", resource.owner_id)
        if resource.provider_org_id is not None:
            resource_attrs["provider"] = _ref("Org", resource.provider_org_id)
        entities: list[dict[str, Any]] = [
            {"uid": {"type": "User", "id": person_id},
             "attrs": {"role": role, "org": _ref("Org", org_id)},
             "parents": []},
            {"uid": {"type": resource.type, "id": resource.id}, "attrs": resource_attrs,
             "parents": []},
        ]
        if resource.org_id is not None and resource.org_priorities is not None:
            entities.append({"uid": {"type": "Org", "id": resource.org_id}, "parents": [],
                             "attrs": {"priorities": [_ref("PriorityClass", c)
                                                      for c in sorted(resource.org_priorities)]}})
        request = {
            "principal": {"type": "User", "id": person_id},
            "action": {"type": "Action", "id": action},
            "resource": {"type": resource.type, "id": resource.id},
            "context": {"write": action in WRITE_ACTIONS, "can_write": can_write,
                        "new_role": new_role},
        }
        return _cedar(policies, names, request, entities)

    def check(self, person: Person, action: str, resource: Resource, *,
              can_write: bool = True, new_role: str = "") -> None:
        """Raise :class:`PermissionDeniedError` unless the policies allow the request."""
        if not self.allowed(person, action, resource, can_write=can_write, new_role=new_role):
            raise denied_error(person, action, resource)


def _cedar(policies: cedarpy.PolicySet, names: dict[str, str], request: dict[str, Any],
           entities: list[dict[str, Any]]) -> AuthzDecision:
    result = cedarpy.is_authorized(request, policies, entities)
    reasons = sorted(names.get(r, r) for r in result.diagnostics.reasons)
    # Several policies may agree (operators are permitted by one rule for everything):
    # their ids, sorted, joined, so the same request always names the same policies.
    return AuthzDecision(bool(result.allowed), ",".join(reasons) or None)


def denied_error(person: Person, action: str, resource: Resource) -> PermissionDeniedError:
    """The error a refused request raises, naming who, what and on which resource."""
    kind = resource.type.lower()
    what = f"{kind} {resource.id}" if resource.id != "new" else f"a new {kind}"
    return PermissionDeniedError(f"{person.role.value} {person.id} may not {action} on {what}")
