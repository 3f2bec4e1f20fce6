"""The audit log page: an operator reads entries with the API's filters, a page at a time by
sequence number, and verifies the log; a member is refused the page. On SQLite and
PostgreSQL."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from aicenter.domain.org import OrgClass
from aicenter.services import org as org_svc
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
    sign_in,
)


def test_operator_filters_pages_and_verifies(browser: TestClient, people: People) -> None:
    sign_in(browser, people, "operator")
    page = browser.get("/audit")
    assert page.status_code == 200 and "org.created" in page.text
    assert 'href="/audit"' in page.text  # the layout links it for operators
    only = browser.get("/audit", params={"action": "org.created"})
    assert "Beta Robotics" not in only.text  # payloads are not shown, names are ids
    actions = set(re.findall(r"<td>([a-z_]+\.[a-z_.]+)</td>", only.text))
    assert actions == {"org.created"}
    for i in range(60):  # more than a page
        org_svc.create_org(people.ctx, people.operator, f"Org {i}",
                           OrgClass.STARTUP)
    first = browser.get("/audit", params={"action": "org.created"})
    link = re.search(r'rel="next" href="([^"]+)"', first.text)
    assert link is not None
    second = browser.get(link.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    seqs = [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', second.text)]
    last_first = max(int(s) for s in re.findall(r'<td class="num">(\d+)</td>', first.text))
    assert seqs and min(seqs) > last_first
    verified = browser.get("/audit", params={"verify": "true"})
    assert "The log verifies" in verified.text


def test_a_member_is_refused(browser: TestClient, people: People) -> None:
    sign_in(browser, people, "member")
    refused = browser.get("/audit")
    assert refused.status_code == 403
    assert 'href="/audit"' not in browser.get("/").text
