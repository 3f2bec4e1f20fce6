"""The allocation round in the browser (server-side, through the pages' forms): an operator
opens a call with caps, a price rule and a budget, a startup applies, the operator reviews,
reads the ranking with each score's parts, awards one application, rejects another with a
reason and closes the call; a refusal shows the service's own message in the page. On SQLite
and PostgreSQL."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient

from aicenter.domain.call import ApplicationStatus, CallStatus
from aicenter.domain.org import OrgClass
from aicenter.services import call as call_svc
from aicenter.services import grant as grant_svc
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

CALL_FORM = {
    "name": "2027 spring call", "eligible": ["startup", "university"],
    "max_chips_per_project": "nvidia-h100-sxm=8\nrebellions-atom=4", "max_months": "6",
    "budget_h100e_h": "5000", "market_price_krw_per_h100e_h": "3000",
    "fraction_startup": "0.05", "chase_team_priority": "1", "regional_bonus": "1",
    "concentration_threshold": "0.2", "concentration_penalty": "2",
}


def _open_call(browser: TestClient) -> str:
    response = post(browser, "/calls", "/calls", CALL_FORM)
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    location = response.headers["location"]  # type: ignore[attr-defined]
    assert location.endswith("?ok=call-opened")
    return location.split("?")[0].rsplit("/", 1)[1]


def _apply(browser: TestClient, call_id: str, title: str, asked: str = "400") -> str:
    response = post(browser, f"/calls/{call_id}", f"/calls/{call_id}/apply", {
        "title": title, "chips": "nvidia-h100-sxm=4", "months": "3",
        "requested_h100e_h": asked, "plan": "a 7B Korean model"})
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    return response.headers["location"].split("?")[0].rsplit("/", 1)[1]  # type: ignore[attr-defined]


def test_an_operator_runs_an_allocation_round(browser: TestClient, people: People) -> None:
    ctx = people.ctx
    sign_in(browser, people, "operator")
    call_id = _open_call(browser)
    call = call_svc.get_call(ctx, people.operator, call_id)
    assert call.max_chips_per_project == {"nvidia-h100-sxm": 8, "rebellions-atom": 4}
    assert call.budget_h100e_h == Decimal(5000) and call.max_months == 6
    assert call.price_rule.market_price_per_h100e_h.amount == Decimal(3000)
    page = browser.get(f"/calls/{call_id}")
    assert page.status_code == 200 and "The call is open." in browser.get(
        f"/calls/{call_id}?ok=call-opened").text
    # the price rule per class: a startup pays 5 % of 3,000 KRW, the rest is subsidy
    startup = re.search(r"<td>startup</td>.*?</tr>", page.text, re.S)
    assert startup is not None and "150" in startup.group(0) and "2,850" in startup.group(0)
    assert "2027 spring call" in browser.get("/calls").text

    sign_in(browser, people, "startup")
    assert "Open a call" not in browser.get("/calls").text
    first = _apply(browser, call_id, "Robot arm foundation model")
    second = _apply(browser, call_id, "Second try", "100")
    mine = browser.get(f"/calls/{call_id}")
    assert "Robot arm foundation model" in mine.text and "Ranking" not in mine.text
    # a refusal shows the service's message: more months than the call allows
    too_long = post(browser, f"/calls/{call_id}", f"/calls/{call_id}/apply", {
        "title": "Too long", "chips": "nvidia-h100-sxm=4", "months": "9",
        "requested_h100e_h": "10"})
    assert too_long.status_code == 422  # type: ignore[attr-defined]
    assert 'role="alert"' in too_long.text and "Too long" in too_long.text  # type: ignore[attr-defined]
    # a tenant cannot review: the page says so, nothing is stored
    denied = post(browser, f"/applications/{first}", f"/applications/{first}/review",
                  {"impact": "9", "readiness": "9", "ecosystem": "9"})
    assert denied.status_code == 403  # type: ignore[attr-defined]

    sign_in(browser, people, "operator")
    reviewed = post(browser, f"/applications/{first}", f"/applications/{first}/review",
                    {"impact": "8", "readiness": "7", "ecosystem": "6"})
    assert reviewed.status_code == 303  # type: ignore[attr-defined]
    ranking = browser.get(f"/calls/{call_id}").text
    assert "Ranking" in ranking and "Mean review" in ranking
    row = re.search(r"Robot arm foundation model</a>.*?</tr>", ranking, re.S)
    assert row is not None
    # Beta Robotics is outside the capital region or not: the parts add up to the score
    ranked = next(r for r in call_svc.ranking(ctx, people.operator, call_id)
                  if r.application.id == first)
    assert ranked.parts.base == 7.0
    assert f"{ranked.score:.2f}" in row.group(0) and "7.00" in row.group(0)
    # an award over what was asked is refused with the service's reason
    over = post(browser, f"/applications/{first}", f"/applications/{first}/award",
                {"budget_h100e_h": "999999", "chip_ids": "nvidia-h100-sxm"})
    assert over.status_code in (409, 422) and 'role="alert"' in over.text  # type: ignore[attr-defined]
    awarded = post(browser, f"/applications/{first}", f"/applications/{first}/award",
                   {"budget_h100e_h": "300", "chip_ids": "nvidia-h100-sxm"})
    assert awarded.status_code == 303  # type: ignore[attr-defined]
    grants = [g for g in grant_svc.list_grants(ctx, people.operator, people.orgs["b"])
              if g.grant.application_id == first]
    assert len(grants) == 1 and grants[0].grant.budget_h100e_h == Decimal(300)
    no_reason = post(browser, f"/applications/{second}", f"/applications/{second}/reject",
                     {"reason": ""})
    assert no_reason.status_code == 422  # type: ignore[attr-defined]
    rejected = post(browser, f"/applications/{second}", f"/applications/{second}/reject",
                    {"reason": "overlaps the first application"})
    assert rejected.status_code == 303  # type: ignore[attr-defined]
    app = call_svc.get_application(ctx, people.operator, second)
    assert app.status is ApplicationStatus.REJECTED
    assert "overlaps the first application" in browser.get(f"/applications/{second}").text
    closed = post(browser, f"/calls/{call_id}", f"/calls/{call_id}/close", {})
    assert closed.status_code == 303  # type: ignore[attr-defined]
    assert call_svc.get_call(ctx, people.operator, call_id).status is CallStatus.CLOSED

    sign_in(browser, people, "startup")
    reason = browser.get(f"/applications/{second}").text
    assert "overlaps the first application" in reason and "Reject the application" not in reason


def test_a_tenant_cannot_open_a_call_and_sees_why(browser: TestClient, people: People) -> None:
    sign_in(browser, people, "member")
    refused = post(browser, "/calls", "/calls", CALL_FORM)
    assert refused.status_code == 403 and 'role="alert"' in refused.text  # type: ignore[attr-defined]
    assert len(call_svc.list_calls(people.ctx, people.operator)) == 1  # the seeded one
    missing = browser.get("/calls/call_nope")
    assert missing.status_code == 404


def test_lists_are_paginated(browser: TestClient, people: People) -> None:
    for i in range(55):
        call_svc.open_call(people.ctx, people.operator, call_svc.CallRequest(
            f"call {i:02d}", frozenset({OrgClass.SME}), {"nvidia-h100-sxm": 8}))
    sign_in(browser, people, "operator")
    first = browser.get("/calls").text
    assert "Page 1 of 2" in first and 'href="/calls?page=2"' in first
    second = browser.get("/calls?page=2").text
    assert "Page 2 of 2" in second and first.count("<tr>") > second.count("<tr>")


def test_the_round_pages_read_in_korean(browser: TestClient, people: People) -> None:
    from aicenter.web.i18n import translations

    ko = translations("ko").ugettext
    sign_in(browser, people, "operator")
    call_id = call_svc.list_calls(people.ctx, people.operator)[0].id
    app_id = call_svc.list_applications(people.ctx, people.operator, call_id)[0].id
    for path, english in (("/calls", "Open a call"), (f"/calls/{call_id}", "Price rule"),
                          (f"/applications/{app_id}", "Mean review"),
                          ("/pools", "Add a pool"), ("/orgs", "Create an organisation"),
                          ("/datasets", "Datasets"), ("/offers", "Data offers")):
        page = browser.get(path, headers={"Accept-Language": "ko-KR,ko;q=0.9"})
        assert page.status_code == 200, path
        assert ko(english) != english and ko(english) in page.text, path
        assert english not in page.text.replace(ko(english), ""), path
