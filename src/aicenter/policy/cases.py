"""Request cases for a policy text: principal, action, resource, context and entities → the
decision expected (and, optionally, a policy that must be among those deciding). The center
ships its own cases (``cases.yaml``, run in CI); an operator runs them, and their own, against
a policy text before setting it (``aicenter policy test FILE --cases CASES.yaml``).

A cases file is YAML::

    cases:
      - name: domestic data is not read on a foreign pool
        principal: {type: Org, id: lab}
        action: data:read
        resource: {type: Agreement, id: agr}
        context: {purpose: pre-training, now: 1772323200000000, pool_country: US}
        entities:            # Cedar's JSON entity format; references as {__entity: {...}}
          - uid: {type: Agreement, id: agr}
            attrs: {org: {__entity: {type: Org, id: lab}}, ...}
            parents: []
        expect: deny         # allow | deny
        policy: domestic-data-stays-home   # optional: an @id among the deciding policies

Entities named by the request but not listed are added without attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aicenter.domain.errors import InputError
from aicenter.policy.authorizer import Authorizer

CASES_FILE = Path(__file__).parent / "cases.yaml"


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case run: what was expected, what the policies decided and which policies."""

    name: str
    expected: str
    decided: str
    policies: tuple[str, ...]
    expected_policy: str | None
    passed: bool


def _uid(value: Any, field: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or "type" not in value or "id" not in value:
        raise InputError("give {type: ..., id: ...}", field=field)
    return {"type": str(value["type"]), "id": str(value["id"])}


def load_cases(path: Path) -> list[dict[str, Any]]:
    """The cases of a YAML file; errors name the file and the field."""
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read the cases: {exc}", file=str(path)) from None
    cases = data.get("cases") if isinstance(data, Mapping) else None
    if not isinstance(cases, list) or not cases:
        raise InputError("give a non-empty list 'cases'", file=str(path), field="cases")
    for i, case in enumerate(cases):
        where = f"cases[{i}]"
        if not isinstance(case, Mapping):
            raise InputError("must be a mapping", file=str(path), field=where)
        for key in ("principal", "action", "resource", "expect"):
            if key not in case:
                raise InputError("is required", file=str(path), field=f"{where}.{key}")
        if case["expect"] not in ("allow", "deny"):
            raise InputError("must be allow or deny", file=str(path), field=f"{where}.expect")
    return cases


def run_case(authz: Authorizer, case: Mapping[str, Any], index: int = 0) -> CaseResult:
    """Evaluate one case under ``authz``'s policies."""
    where = f"cases[{index}]"
    principal = _uid(case["principal"], f"{where}.principal")
    resource = _uid(case["resource"], f"{where}.resource")
    entities = [dict(e) for e in case.get("entities") or []]
    known = {(e["uid"]["type"], e["uid"]["id"]) for e in entities if "uid" in e}
    for uid in (principal, resource):
        if (uid["type"], uid["id"]) not in known:
            entities.append({"uid": uid, "attrs": {}, "parents": []})
            known.add((uid["type"], uid["id"]))
    for e in entities:
        e.setdefault("attrs", {})
        e.setdefault("parents", [])
    request = {"principal": principal,
               "action": {"type": "Action", "id": str(case["action"])},
               "resource": resource, "context": dict(case.get("context") or {})}
    try:
        decision = authz.evaluate(request, entities)
    except Exception as exc:  # cedarpy raises plain exceptions for malformed entities
        raise InputError(f"Cedar cannot evaluate it: {exc}", field=where) from None
    policies = tuple((decision.policy_id or "").split(",")) if decision.policy_id else ()
    decided = "allow" if decision.allowed else "deny"
    wanted = case.get("policy")
    passed = decided == case["expect"] and (wanted is None or str(wanted) in policies)
    return CaseResult(str(case.get("name") or where), str(case["expect"]), decided, policies,
                      None if wanted is None else str(wanted), passed)


def run_cases(policy_text: str, cases: list[dict[str, Any]]) -> list[CaseResult]:
    """Every case under ``policy_text``."""
    authz = Authorizer(policy_text)
    return [run_case(authz, case, i) for i, case in enumerate(cases)]
