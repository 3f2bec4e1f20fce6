"""The planner and the call ranking's score parts over HTTP (issue 16 item 1: what the pages
show is in the API too), on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from aicenter.services import call as call_svc
from aicenter.services import org as org_svc
from aicenter.services.context import ServiceContext
from tests.services.fixtures import seed_center


def test_ranking_names_each_part_of_the_score(
        ctx: ServiceContext, api: tuple[TestClient, str]) -> None:
    client, token = api
    operator = org_svc.authenticate(ctx, token)
    org, member, grant = seed_center(ctx, operator)
    second = call_svc.apply(ctx, member, grant.grant.call_id, org.id, "More",
                            {"nvidia-h100-sxm": 8}, 6, Decimal(50))
    call_svc.review(ctx, operator, second.id, 9, 6, 3)
    response = client.get(f"/api/v1/calls/{grant.grant.call_id}/ranking",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    row = next(r for r in response.json() if r["application"]["id"] == second.id)
    assert row["mean_review"] == 6.0
    assert row["org_share_of_call"] == 1.0  # the organisation holds every grant of the call
    assert row["concentration_penalty"] > 0
    assert row["score"] == (row["mean_review"] + row["regional_bonus"]
                            - row["concentration_penalty"])


def test_plan_on_one_chip_with_both_bases(api: tuple[TestClient, str]) -> None:
    client, token = api
    auth = {"Authorization": f"Bearer {token}"}
    assert "llama-3.1-8b" in client.get("/api/v1/plans/models", headers=auth).json()
    response = client.post("/api/v1/plans", headers=auth, json={
        "model": "llama-3.1-8b", "tokens": 1e12, "chip": "nvidia-h100-sxm", "count": 64})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["fits"] and body["count"] == 64
    assert body["chip_hours"] > 0 and body["energy_kwh"] > 0
    assert abs(body["wall_days"] - body["chip_hours"] / 64 / 24) < 1e-9
    assert body["rental"]["krw"] > 0 and body["owned"]["krw"] > 0


def test_plan_refusals_name_the_field(api: tuple[TestClient, str]) -> None:
    client, token = api
    auth = {"Authorization": f"Bearer {token}"}
    unknown = client.post("/api/v1/plans", headers=auth, json={
        "model": "llama-3.1-8", "tokens": 1e12, "chip": "nvidia-h100-sxm"})
    assert unknown.status_code == 404 and "llama-3.1-8b" in unknown.json()["detail"]
    path = client.post("/api/v1/plans", headers=auth, json={
        "model": "/etc/passwd.yaml", "tokens": 1e12, "chip": "nvidia-h100-sxm"})
    assert path.status_code == 404  # a server never opens a path a request names
    zero = client.post("/api/v1/plans", headers=auth, json={
        "model": "llama-3.1-8b", "tokens": 0, "chip": "nvidia-h100-sxm"})
    assert zero.status_code == 422 and "tokens" in zero.text


def test_compare_across_chips(api: tuple[TestClient, str]) -> None:
    client, token = api
    response = client.post("/api/v1/plans/compare",
                           headers={"Authorization": f"Bearer {token}"},
                           json={"model": "llama-3.1-8b", "tokens": 1e12, "count": 64})
    assert response.status_code == 200, response.text
    body = response.json()
    chips = {r["chip"]: r for r in body["rows"]}
    assert "nvidia-h100-sxm" in chips and len(chips) > 3
    priced = [r for r in body["rows"] if r["rental"] and r["rental"]["krw"] is not None]
    assert body["cheapest_rental"] == min(priced, key=lambda r: r["rental"]["krw"])["chip"]
