"""The operator's remaining pages (server-side, through the forms): compliance reports as
tables with the API's filters and the CSV and JSON of the API; reclaim notices after the idle
sweep, seen by the grant's organisation and no other; OpenID Connect sign-ins approved into
an organisation with a role, or refused. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from aicenter.domain.identity import IdentityStatus
from aicenter.domain.person import Role
from aicenter.services import dataset as dataset_svc
from aicenter.services import grant as grant_svc
from aicenter.services import identity as identity_svc
from aicenter.services import org as org_svc
from aicenter.services.clock import ManualClock
from tests.services.fixtures import (  # noqa: F401
    clock_fixture,
    ctx_fixture,
    database_fixture,
    operator_fixture,
)
from tests.web.page_fixtures import (  # noqa: F401
    People,
    browser_fixture,
    people_fixture,
    post,
    sign_in,
)

DAY_S = 86400


def _upload(people: People) -> str:
    """The provider's dataset 'world-news', ingested (its PII report is one row)."""
    ctx = people.ctx
    source = ctx.settings.home / "world-news.jsonl"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text('{"text": "세계 뉴스 기사 본문, 문의 reporter@news.kr"}\n', encoding="utf-8")
    dataset = dataset_svc.upload(ctx, people.callers["provider"], dataset_svc.UploadRequest(
        "world-news", "world-news.jsonl", licence_text="proprietary"), source)
    return dataset.id


def test_compliance_reports_as_tables_and_downloads(browser: TestClient,
                                                    people: People) -> None:
    dataset_id = _upload(people)
    sign_in(browser, people, "operator")
    page = browser.get("/compliance", params={"report": "pii"})
    assert page.status_code == 200, page.text
    assert 'href="/compliance"' in page.text and "equals its rebuild" in page.text
    row = re.search(rf"<tr><td>yes</td><td>{dataset_id}</td>.*?</tr>", page.text, re.S)
    assert row is not None and people.orgs["p"] in row.group(0)
    for tab in ("datasets", "residency", "compute"):
        assert browser.get("/compliance", params={"report": tab}).status_code == 200
    api = {"Authorization": f"Bearer {people.secrets['operator']}"}
    csv_page = browser.get("/compliance", params={"report": "pii", "format": "csv"})
    csv_api = browser.get("/api/v1/compliance/pii", params={"format": "csv"}, headers=api)
    assert csv_page.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_page.headers["content-disposition"]
    assert csv_page.text == csv_api.text and dataset_id in csv_page.text
    as_json = json.loads(browser.get("/compliance", params={"report": "pii",
                                                            "format": "json"}).text)
    from_api = browser.get("/api/v1/compliance/pii", headers=api).json()
    assert as_json["rows"] == from_api["rows"] and as_json["rows"][0]["dataset_id"] == dataset_id
    other = browser.get("/compliance", params={"report": "pii", "org_id": people.orgs["a"]})
    assert other.status_code == 200 and dataset_id not in other.text  # the filter applies
    bad = browser.get("/compliance", params={"report": "compute", "month": "2026-13"})
    assert bad.status_code == 422 and "is not a month like" in bad.text
    assert 'value="2026-13"' in bad.text  # the form keeps the filter


def test_compliance_is_scoped_to_the_providers_own(browser: TestClient,
                                                    people: People) -> None:
    dataset_id = _upload(people)
    sign_in(browser, people, "provider")
    own = browser.get("/compliance", params={"report": "pii"})
    assert own.status_code == 200 and dataset_id in own.text
    assert browser.get("/compliance", params={"report": "pii",
                                              "org_id": people.orgs["a"]}).status_code == 403
    sign_in(browser, people, "member")  # a tenant's member reads no report
    assert browser.get("/compliance").status_code == 403
    assert 'href="/compliance"' not in browser.get("/").text


def test_reclaim_notices_after_the_idle_sweep(browser: TestClient, people: People,
                                              clock: ManualClock) -> None:
    ctx = people.ctx
    [grant] = grant_svc.list_grants(ctx, people.operator, people.orgs["a"])
    grant_id = grant.grant.id
    clock.advance((ctx.settings.idle_reclaim_days + 1) * DAY_S)
    sign_in(browser, people, "operator")
    assert "No reclaim notices." in browser.get("/reclaims").text
    swept = post(browser, "/reclaims", "/reclaims/sweep", {})
    assert swept.status_code == 200  # type: ignore[attr-defined]
    assert "1 noticed, 0 reclaimed" in swept.text  # type: ignore[attr-defined]
    [notice] = grant_svc.reclaim_notices(ctx, people.operator)
    assert notice.view.grant.id == grant_id
    assert (notice.reclaim_at - notice.noticed_at).days == ctx.settings.reclaim_notice_days
    sign_in(browser, people, "member")  # the grant's organisation sees its notice
    mine = browser.get("/reclaims")
    assert mine.status_code == 200 and grant_id in mine.text
    assert "Run the sweep" not in mine.text
    refused = post(browser, "/reclaims", "/reclaims/sweep", {})
    assert refused.status_code == 403  # type: ignore[attr-defined]
    sign_in(browser, people, "startup")  # another organisation sees nothing of it
    assert grant_id not in browser.get("/reclaims").text
    clock.advance((ctx.settings.reclaim_notice_days + 1) * DAY_S)
    sign_in(browser, people, "operator")
    reclaimed = post(browser, "/reclaims", "/reclaims/sweep", {})
    assert "0 noticed, 1 reclaimed" in reclaimed.text  # type: ignore[attr-defined]
    row = re.search(rf'<td><a href="/grants/{grant_id}">.*?</tr>', reclaimed.text, re.S)  # type: ignore[attr-defined]
    assert row is not None and "status reclaimed" in row.group(0)


def test_sign_ins_approved_or_refused(browser: TestClient, people: People) -> None:
    ctx = people.ctx
    waiting = identity_svc.request_access(ctx, "https://idp.example.ac.kr", "sub-1", {
        "email": "newcomer@beta.kr", "name": "Newcomer", "affiliation": "Beta lab"})
    other = identity_svc.request_access(ctx, "https://idp.example.ac.kr", "sub-2", {
        "email": "stranger@elsewhere.kr", "name": "Stranger"})
    assert waiting.suggested_org_id == people.orgs["b"]  # Bo's e-mail shares the domain
    sign_in(browser, people, "operator")
    page = browser.get("/identities")
    assert page.status_code == 200 and "Newcomer" in page.text and "Beta lab" in page.text
    assert 'href="/identities"' in page.text
    bad = post(browser, "/identities", f"/identities/{waiting.id}/approve",
               {"org_id": people.orgs["b"], "role": "overlord"})
    assert bad.status_code == 422 and "role" in bad.text  # type: ignore[attr-defined]
    approved = post(browser, "/identities", f"/identities/{waiting.id}/approve",
                    {"org_id": people.orgs["b"], "role": "org-admin"})
    assert approved.status_code == 303  # type: ignore[attr-defined]
    person = next(p for p in org_svc.list_people(ctx, people.operator, people.orgs["b"])
                  if p.email == "newcomer@beta.kr")
    assert person.role is Role.ORG_ADMIN
    refused = post(browser, "/identities", f"/identities/{other.id}/reject",
                   {"reason": "not one of our institutions"})
    assert refused.status_code == 303  # type: ignore[attr-defined]
    states = {r.id: r.status for r in identity_svc.list_identity_requests(ctx, people.operator)}
    assert states == {waiting.id: IdentityStatus.APPROVED, other.id: IdentityStatus.REJECTED}
    assert "Nobody is waiting." in browser.get("/identities").text
    decided = browser.get("/identities", params={"status": "rejected"})
    assert "not one of our institutions" in decided.text and "Newcomer" not in decided.text
    again = post(browser, "/identities?status=all", f"/identities/{other.id}/approve",
                 {"org_id": people.orgs["a"], "role": "member"})
    assert again.status_code == 409 and "already rejected" in again.text  # type: ignore[attr-defined]


def test_a_tenant_sees_no_sign_ins(browser: TestClient, people: People) -> None:
    identity_svc.request_access(people.ctx, "https://idp.example.ac.kr", "sub-3",
                                {"email": "x@y.kr"})
    sign_in(browser, people, "member")
    assert browser.get("/identities").status_code == 403
    assert 'href="/identities"' not in browser.get("/").text


def test_the_operator_pages_read_in_korean(browser: TestClient, people: People) -> None:
    sign_in(browser, people, "operator")
    for path in ("/compliance", "/reclaims", "/identities", "/procurement"):
        page = browser.get(path, headers={"Accept-Language": "ko"})
        assert page.status_code == 200 and 'lang="ko"' in page.text
        heading = re.search(r"<h1>(.*?)</h1>", page.text, re.S)
        assert heading is not None and re.search(r"[가-힣]", heading.group(1)), path
