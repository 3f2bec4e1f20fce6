"""The exchange's life-cycle routes answer bad requests with the right status and body:
withdrawing someone else's offer is 403 (404 when the offer is private and not made to you),
renewing a terminated agreement is 409 with the reason, a price change without notice is 422
naming ``effective_from``, a termination kind that does not exist is 422. SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.domain.token import Scope
from aicenter.services import dataset as dataset_svc
from aicenter.services import org as org_svc
from aicenter.services.context import Caller, ServiceContext


def _token(ctx: ServiceContext, operator: Caller, name: str, role: Role) -> tuple[str, str]:
    org = org_svc.create_org(ctx, operator, name, OrgClass.ENTERPRISE)
    person = org_svc.add_person(ctx, operator, org.id, name, f"{name}@x.kr", role)
    secret = org_svc.create_token(ctx, operator, person.id, "t",
                                  frozenset({Scope.READ, Scope.WRITE}), None)[1]
    return org.id, secret


def test_life_cycle_refusals(api: tuple[TestClient, str], ctx: ServiceContext,
                             tmp_path: Path) -> None:
    client, _ = api
    with ctx.db.transaction(write=False) as tx:
        boot = next(p for p in tx.people.list() if p.role is Role.OPERATOR)
    operator = Caller(boot)
    news, news_token = _token(ctx, operator, "news", Role.DATA_PROVIDER)
    lab, lab_token = _token(ctx, operator, "lab", Role.MEMBER)
    _rival, rival_token = _token(ctx, operator, "rival", Role.ORG_ADMIN)
    source = tmp_path / "a.jsonl"
    source.write_text(json.dumps({"text": "기사 본문"}, ensure_ascii=False) + "\n")
    provider = Caller(org_svc.add_person(ctx, operator, news, "P", "p2@x.kr",
                                         Role.DATA_PROVIDER))
    dataset_svc.upload(ctx, provider, dataset_svc.UploadRequest(
        "news", "a.jsonl", licence_text="proprietary"), source)

    def call(token: str, method: str, path: str, body: object = None):  # type: ignore[no-untyped-def]
        return client.request(method, f"/api/v1{path}", json=body,
                              headers={"Authorization": f"Bearer {token}"})

    today = ctx.clock.now().date()
    terms = {"purposes": ["pre-training"], "term_start": str(today),
             "term_end": str(today + timedelta(days=365)),
             "price": {"basis": "per-gb", "amount": "1000"}}
    public = call(news_token, "POST", "/datasets/news/offers", terms).json()["id"]
    private = call(news_token, "POST", "/datasets/news/offers",
                   {**terms, "offered_to": [lab]}).json()["id"]

    assert call(rival_token, "POST", f"/offers/{public}/withdraw").status_code == 403
    hidden = call(rival_token, "POST", f"/offers/{private}/withdraw")
    assert hidden.status_code == 404 and hidden.json()["error"] == "not-found"
    assert call(rival_token, "POST", f"/offers/{private}/accept",
                {"purpose": "pre-training"}).status_code == 404
    assert private not in call(rival_token, "GET", "/offers").text

    early = call(news_token, "POST", f"/offers/{public}/price",
                 {"price": {"basis": "per-gb", "amount": "2000"}, "effective_from": str(today)})
    assert early.status_code == 422 and early.json()["field"] == "effective_from"

    accepted = call(lab_token, "POST", f"/offers/{private}/accept", {"purpose": "pre-training"})
    assert accepted.status_code == 201, accepted.text
    agreement = accepted.json()["id"]
    bad_kind = call(news_token, "POST", f"/agreements/{agreement}/terminate",
                    {"kind": "whim", "reason": "x"})
    assert bad_kind.status_code == 422
    ended = call(news_token, "POST", f"/agreements/{agreement}/terminate",
                 {"kind": "cause", "reason": "resold the records"})
    assert ended.status_code == 200 and ended.json()["termination"] == "cause"
    assert ended.json()["ends_at"] == ended.json()["terminated_at"]
    renewed = call(lab_token, "POST", f"/agreements/{agreement}/renew")
    assert renewed.status_code == 409 and renewed.json()["error"] == "conflict"
    assert "terminated for cause" in renewed.json()["detail"]
    assert "resold the records" in renewed.json()["detail"]
    assert call(news_token, "POST", f"/offers/{public}/withdraw").status_code == 200
    again = call(news_token, "POST", f"/offers/{public}/withdraw")
    assert again.status_code == 409 and "already withdrawn" in again.json()["detail"]
