"""Entitled priority and chip counts over HTTP (issue 12 items 2–4), on SQLite and PostgreSQL.

A priority class is an organisation's entitlement: the Cedar policies refuse (403, nothing
held) a job at a class its organisation does not hold, whoever submits it; the operator grants
and revokes classes. A grant records the chips of each type its application asked for: an
alternative asking more is refused at admission (422 naming ``resources[i].count``).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from aicenter.domain.token import Scope
from aicenter.services import grant as grant_svc
from aicenter.services import org as org_svc
from aicenter.services.context import Caller, ServiceContext
from tests.services.fixtures import seed_center

SPEC = {"name": "t", "command": "true", "max_duration": "60s",
        "resources": [{"chip": "nvidia-h100-sxm", "count": 1}]}


@pytest.fixture(name="operator")
def operator_fixture(ctx: ServiceContext, api: tuple[TestClient, str]) -> Caller:
    """The operator of the ``api`` fixture's center, for set-up through the services."""
    return org_svc.authenticate(ctx, api[1])


def _world(ctx: ServiceContext, operator: Caller) -> tuple[str, str, str]:
    """An SME (not in the chase team) with a grant of 8 H100 on a pool of 16: its org id,
    a member's token and the grant id."""
    org, member, grant = seed_center(ctx, operator, pools={"nvidia-h100-sxm": 16})
    token = org_svc.create_token(ctx, operator, member.person.id, "t",
                                 frozenset({Scope.READ, Scope.WRITE}), None)[1]
    return org.id, token, grant.grant.id


def _submit(client: TestClient, token: str, **spec: object) -> tuple[int, dict[str, str]]:
    response = client.post("/api/v1/jobs", json={"spec": {**SPEC, **spec}},
                           headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json()


def test_chase_team_needs_the_operators_entitlement(
        ctx: ServiceContext, operator: Caller, api: tuple[TestClient, str]) -> None:
    client, op_token = api
    op = {"Authorization": f"Bearer {op_token}"}
    org_id, token, grant_id = _world(ctx, operator)
    shown = client.get(f"/api/v1/orgs/{org_id}", headers=op).json()
    assert shown["priority_classes"] == ["best-effort", "normal"]

    code, body = _submit(client, token, priority="chase-team")
    assert code == 403, body
    assert (f"organisation {org_id} is not entitled to priority class chase-team"
            in body["detail"])
    assert f"aicenter org entitle {org_id} --priority chase-team" in body["detail"]
    held = grant_svc.get_grant(ctx, operator, grant_id)
    assert held.held_h100e_h == 0 and held.available_h100e_h == Decimal(100)
    assert client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {token}"}).json() == []

    for cls in ("normal", "best-effort"):  # everyone's classes
        code, body = _submit(client, token, priority=cls)
        assert code == 201 and body["priority"] == cls, body

    entitled = client.put(f"/api/v1/orgs/{org_id}/priorities/chase-team", headers=op)
    assert entitled.status_code == 200
    assert "chase-team" in entitled.json()["priority_classes"]
    code, body = _submit(client, token, priority="chase-team")
    assert code == 201 and body["priority"] == "chase-team", body

    revoked = client.delete(f"/api/v1/orgs/{org_id}/priorities/chase-team", headers=op)
    assert "chase-team" not in revoked.json()["priority_classes"]
    assert _submit(client, token, priority="chase-team")[0] == 403
    # operators are not exempt: the class belongs to the organisation the job runs for
    response = client.post("/api/v1/jobs", headers=op,
                           json={"spec": {**SPEC, "priority": "chase-team"}, "org_id": org_id})
    assert response.status_code == 403 and "not entitled" in response.json()["detail"]
    # a class taken away from everyone's defaults: this organisation only runs preemptible work
    client.delete(f"/api/v1/orgs/{org_id}/priorities/normal", headers=op)
    assert _submit(client, token, priority="normal")[0] == 403
    assert _submit(client, token, priority="best-effort")[0] == 201


def test_a_chase_team_org_holds_the_class_from_the_start(
        ctx: ServiceContext, api: tuple[TestClient, str]) -> None:
    client, op_token = api
    created = client.post("/api/v1/orgs", headers={"Authorization": f"Bearer {op_token}"},
                          json={"name": "Chase", "org_class": "university", "chase_team": True})
    assert created.json()["priority_classes"] == ["best-effort", "chase-team", "normal"]


def test_a_job_may_not_ask_more_chips_than_its_grant_records(
        ctx: ServiceContext, operator: Caller, api: tuple[TestClient, str]) -> None:
    client, op_token = api
    _org_id, token, grant_id = _world(ctx, operator)
    grant = client.get(f"/api/v1/grants/{grant_id}",
                       headers={"Authorization": f"Bearer {op_token}"}).json()
    assert grant["chip_counts"] == {"nvidia-h100-sxm": 8}

    code, body = _submit(client, token, resources=[{"chip": "nvidia-h100-sxm", "count": 16}])
    assert code == 422, body
    assert body["field"] == "resources[0].count"
    assert "at most 8 × nvidia-h100-sxm" in body["detail"] and "asks 16" in body["detail"]
    assert grant_svc.get_grant(ctx, operator, grant_id).held_h100e_h == 0
    # one alternative that fits is enough; the hold counts only what the grant allows
    code, body = _submit(client, token, resources=[{"chip": "nvidia-h100-sxm", "count": 16},
                                                   {"chip": "nvidia-h100-sxm", "count": 8}])
    assert code == 201, body
    assert Decimal(body["hold_h100e_h"]) < Decimal(16) * 60 / 3600


def test_reject_over_http_then_award_is_refused(
        ctx: ServiceContext, operator: Caller, api: tuple[TestClient, str]) -> None:
    from aicenter.services import call as call_svc

    client, op_token = api
    op = {"Authorization": f"Bearer {op_token}"}
    org, member, _grant = seed_center(ctx, operator)
    call = call_svc.list_calls(ctx, operator)[0]
    app = call_svc.apply(ctx, member, call.id, org.id, "second", {"nvidia-h100-sxm": 4}, 3,
                            Decimal(50))
    blank = client.post(f"/api/v1/applications/{app.id}/reject", headers=op,
                        json={"reason": ""})
    assert blank.status_code == 422 and blank.json()["field"].endswith("reason")
    rejected = client.post(f"/api/v1/applications/{app.id}/reject", headers=op,
                           json={"reason": "duplicates the first project"})
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["decision_reason"] == "duplicates the first project"
    award = client.post("/api/v1/grants", headers=op, json={
        "application_id": app.id, "budget_h100e_h": "10", "without_review": "urgent"})
    assert award.status_code == 409 and "rejected" in award.json()["detail"]
