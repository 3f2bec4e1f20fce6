"""The operator's pools, organisations, people, tokens and priority entitlements in the
browser (server-side, through the forms): each action lands through the service its API route
calls, refusals show the service's message, a token's secret shows once. On SQLite and
PostgreSQL."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from aicenter.domain.job import PriorityClass
from aicenter.domain.pool import PoolState
from aicenter.services import org as org_svc
from aicenter.services import pool as pool_svc
from aicenter.services.org import authenticate
from aicenter.web.pages_pool import by_chip
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


def test_pools_add_drain_undrain_and_capacity_per_chip(browser: TestClient,
                                                       people: People) -> None:
    ctx = people.ctx
    sign_in(browser, people, "operator")
    page = browser.get("/pools")
    assert page.status_code == 200
    h100 = re.search(r"<td>nvidia-h100-sxm</td>.*?</tr>", page.text, re.S)
    assert h100 is not None and '<td class="num">8</td>' in h100.group(0)
    added = post(browser, "/pools", "/pools", {"chip_id": "nvidia-h100-sxm",
                                                "chip_count": "4", "site": "gwangju",
                                                "country": "kr"})
    assert added.status_code == 303  # type: ignore[attr-defined]
    new = next(p.pool for p in pool_svc.list_pools(ctx, people.operator)
               if p.pool.site == "gwangju")
    assert new.chip_count == 4 and new.country == "KR"
    chips = {c.chip_id: c for c in by_chip(pool_svc.occupancy(ctx, people.operator).pools)}
    assert chips["nvidia-h100-sxm"].chips == 12 and chips["nvidia-h100-sxm"].pools == 2
    bad = post(browser, "/pools", "/pools", {"chip_id": "no-such-chip", "chip_count": "4"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text  # type: ignore[attr-defined]
    zero = post(browser, "/pools", "/pools", {"chip_id": "nvidia-h100-sxm", "chip_count": "0"})
    assert zero.status_code == 422 and "chip count" in zero.text  # type: ignore[attr-defined]
    drained = post(browser, "/pools", f"/pools/{new.id}/drain", {})
    assert drained.status_code == 303  # type: ignore[attr-defined]
    assert pool_svc.get_pool(ctx, people.operator, new.id).pool.state is PoolState.DRAINING
    chips = {c.chip_id: c for c in by_chip(pool_svc.occupancy(ctx, people.operator).pools)}
    assert chips["nvidia-h100-sxm"].chips == 8 and chips["nvidia-h100-sxm"].draining == 4
    assert "Take jobs again" in browser.get("/pools").text
    back = post(browser, "/pools", f"/pools/{new.id}/undrain", {})
    assert back.status_code == 303  # type: ignore[attr-defined]
    assert pool_svc.get_pool(ctx, people.operator, new.id).pool.state is PoolState.ACTIVE

    sign_in(browser, people, "member")
    seen = browser.get("/pools")
    assert seen.status_code == 200 and "Add a pool" not in seen.text
    refused = post(browser, "/pools", f"/pools/{new.id}/drain", {})
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert pool_svc.get_pool(ctx, people.operator, new.id).pool.state is PoolState.ACTIVE


def test_organisations_people_priorities_and_tokens(browser: TestClient,
                                                    people: People) -> None:
    ctx = people.ctx
    sign_in(browser, people, "operator")
    created = post(browser, "/orgs", "/orgs", {"name": "Busan AI Lab",
                                                "org_class": "research-institute",
                                                "region": "busan"})
    assert created.status_code == 303, created.text  # type: ignore[attr-defined]
    org_id = created.headers["location"].split("?")[0].rsplit("/", 1)[1]  # type: ignore[attr-defined]
    org = org_svc.get_org(ctx, people.operator, org_id)
    assert org.name == "Busan AI Lab" and org.region == "busan"
    assert "Busan AI Lab" in browser.get("/orgs").text
    again = post(browser, "/orgs", "/orgs", {"name": "Busan AI Lab",
                                              "org_class": "research-institute"})
    assert again.status_code == 409 and 'role="alert"' in again.text  # type: ignore[attr-defined]
    bad_class = post(browser, "/orgs", "/orgs", {"name": "X", "org_class": "club"})
    assert bad_class.status_code == 422  # type: ignore[attr-defined]

    person = post(browser, f"/orgs/{org_id}", f"/orgs/{org_id}/people",
                  {"name": "Kim", "email": "kim@busan.kr", "role": "member"})
    assert person.status_code == 303  # type: ignore[attr-defined]
    kim = org_svc.list_people(ctx, people.operator, org_id)[0]
    assert "kim@busan.kr" in browser.get(f"/orgs/{org_id}").text
    not_mail = post(browser, f"/orgs/{org_id}", f"/orgs/{org_id}/people",
                    {"name": "Lee", "email": "lee", "role": "member"})
    assert not_mail.status_code == 422 and "not an e-mail" in not_mail.text  # type: ignore[attr-defined]

    entitled = post(browser, f"/orgs/{org_id}", f"/orgs/{org_id}/priorities",
                    {"priority": "chase-team", "action": "entitle"})
    assert entitled.status_code == 303  # type: ignore[attr-defined]
    assert PriorityClass.CHASE_TEAM in org_svc.get_org(ctx, people.operator,
                                                        org_id).priority_classes
    revoked = post(browser, f"/orgs/{org_id}", f"/orgs/{org_id}/priorities",
                   {"priority": "chase-team", "action": "revoke"})
    assert revoked.status_code == 303  # type: ignore[attr-defined]
    assert PriorityClass.CHASE_TEAM not in org_svc.get_org(ctx, people.operator,
                                                            org_id).priority_classes

    tokens = f"/people/{kim.id}/tokens"
    made = post(browser, tokens, tokens, {"name": "laptop", "scopes": ["read", "write"]})
    assert made.status_code == 201  # type: ignore[attr-defined]
    secret = re.search(r"<pre><code>([^<]+)</code></pre>", made.text)  # type: ignore[attr-defined]
    assert secret is not None
    assert authenticate(ctx, secret.group(1)).person.id == kim.id
    assert secret.group(1) not in browser.get(tokens).text  # shown once
    token = org_svc.list_tokens(ctx, people.operator, kim.id)[0]
    gone = post(browser, tokens, f"/tokens/{token.id}/revoke", {"person_id": kim.id})
    assert gone.status_code == 303  # type: ignore[attr-defined]
    assert org_svc.list_tokens(ctx, people.operator, kim.id)[0].revoked_at is not None
    no_scope = post(browser, tokens, tokens, {"name": "none"})
    assert no_scope.status_code == 422  # type: ignore[attr-defined]

    sign_in(browser, people, "member")
    refused = post(browser, "/orgs", "/orgs", {"name": "Mine", "org_class": "sme"})
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert browser.get(f"/orgs/{org_id}").status_code in (403, 404)
