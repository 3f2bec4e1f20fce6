"""The lists that grow with the center are pages read from the database: jobs (newest first,
with the status filter kept in the pager's links), organisations by name, grants, reclaim
notices and a call's ranking; a page past the end shows the last; the names a page shows are
those of its own rows. The API pages the same lists with ``limit``/``offset`` and counts them.
On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi.testclient import TestClient

from aicenter.domain.job import JobStatus, parse_job_spec
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.services import call as call_svc
from aicenter.services import grant as grant_svc
from aicenter.services import job as job_svc
from aicenter.services import org as org_svc
from aicenter.services.context import Caller
from aicenter.web.paging import PER_PAGE
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

SPEC = parse_job_spec("name: p\ncommand: 'true'\nresources: [{chip: nvidia-h100-sxm, "
                      "count: 1}]\nmax_duration: 60s\n", "job.yaml")
JOB_LINK = re.compile(r'href="/jobs/(job_[0-9a-f]+)"')
PAGER = re.compile(r'<nav class="pager".*?</nav>', re.S)


def _jobs(people: People, n: int) -> list[str]:
    """``n`` jobs of the university's member, a second apart (oldest first)."""
    ids = []
    for _ in range(n):
        ids.append(job_svc.submit(people.ctx, people.callers["member"], SPEC)[0].id)
        people.ctx.clock.advance(1)  # type: ignore[attr-defined]
    return ids


def test_jobs_page_by_page_newest_first(browser: TestClient, people: People) -> None:
    ids = _jobs(people, PER_PAGE + 3)
    job_svc.cancel(people.ctx, people.callers["member"], ids[0])
    sign_in(browser, people, "member")
    first = browser.get("/jobs")
    assert first.status_code == 200
    assert JOB_LINK.findall(first.text) == ids[::-1][:PER_PAGE]
    assert 'href="/jobs?page=2" rel="next"' in PAGER.search(first.text).group(0)  # type: ignore[union-attr]
    second = browser.get("/jobs?page=2")
    assert JOB_LINK.findall(second.text) == ids[2::-1]
    assert browser.get("/jobs?page=99").text.count("/jobs/job_") == 3  # the last page
    cancelled = browser.get("/jobs?status=cancelled")
    assert JOB_LINK.findall(cancelled.text) == [ids[0]] and not PAGER.search(cancelled.text)
    queued = browser.get("/jobs?status=queued&page=2").text
    assert JOB_LINK.findall(queued) == ids[2:0:-1]
    assert 'href="/jobs?status=queued&amp;page=1" rel="prev"' in queued
    assert browser.get("/jobs?page=0").status_code == 422
    token = {"Authorization": f"Bearer {people.secrets['member']}"}
    api = browser.get("/api/v1/jobs", params={"newest_first": "true", "limit": 2,
                                              "offset": 1}, headers=token)
    assert [j["id"] for j in api.json()] == [ids[-2], ids[-3]]


def test_overview_shows_the_latest_running_jobs_and_links_to_all(
        browser: TestClient, people: People) -> None:
    ids = _jobs(people, PER_PAGE + 1)
    with people.ctx.db.transaction() as tx:
        for job_id in ids:
            tx.jobs.update(job_id, status=JobStatus.RUNNING)
    sign_in(browser, people, "operator")
    page = browser.get("/").text
    assert JOB_LINK.findall(page) == ids[::-1][:PER_PAGE]
    assert 'href="/jobs?status=running"' in page


def test_organisations_grants_and_the_api_page_alike(browser: TestClient,
                                                     people: People) -> None:
    ctx, operator = people.ctx, people.operator
    call = call_svc.list_calls(ctx, operator)[0]
    for i in range(PER_PAGE + 2):
        org = org_svc.create_org(ctx, operator, f"Zeta {i:03d}", OrgClass.STARTUP)
        if i < 3:
            admin = Caller(org_svc.add_person(ctx, operator, org.id, "A", f"a{i}@z.kr",
                                              Role.ORG_ADMIN))
            app = call_svc.apply(ctx, admin, call.id, org.id, f"plan {i}",
                                 {"nvidia-h100-sxm": 1}, 1, Decimal(5))
            call_svc.review(ctx, operator, app.id, 5, 5, 5)
            grant_svc.award(ctx, operator, app.id, Decimal(5))
    sign_in(browser, people, "operator")
    names = sorted(o.name for o in org_svc.list_orgs(ctx, operator))
    last = browser.get("/orgs?page=2").text
    assert [n for n in names if f">{n}</a>" in last] == names[PER_PAGE:]
    grants = grant_svc.list_grants(ctx, operator)
    page = browser.get("/grants").text
    assert all(f'href="/grants/{v.grant.id}"' in page for v in grants)
    assert "Zeta 001" in page

    token = {"Authorization": f"Bearer {people.secrets['operator']}"}
    api = browser.get("/api/v1/orgs", params={"sort": "name", "limit": 2, "offset": 1},
                      headers=token).json()
    assert [o["name"] for o in api] == names[1:3]
    assert browser.get("/api/v1/orgs/count", headers=token).json() == {"count": len(names)}
    wanted = [grants[0].grant.org_id, grants[2].grant.org_id]
    found = browser.get("/api/v1/orgs", params={"id": wanted}, headers=token).json()
    assert sorted(o["id"] for o in found) == sorted(wanted)
    listed = browser.get("/api/v1/grants", params={"limit": 2, "offset": 2},
                         headers=token).json()
    assert [g["id"] for g in listed] == [v.grant.id for v in grants[2:4]]
    assert browser.get("/api/v1/grants/count", headers=token).json() == {"count": len(grants)}
    assert browser.get("/api/v1/reclaim-notices/count", headers=token).json() == {"count": 0}
    assert browser.get("/api/v1/grants", params={"offset": -1},
                       headers=token).status_code == 422


def test_call_ranking_by_page(browser: TestClient, people: People) -> None:
    ctx, operator = people.ctx, people.operator
    call = call_svc.list_calls(ctx, operator)[0]
    for i in range(PER_PAGE + 1):
        org = org_svc.create_org(ctx, operator, f"Applicant {i:03d}", OrgClass.SME)
        admin = Caller(org_svc.add_person(ctx, operator, org.id, "A", f"ap{i}@x.kr",
                                          Role.ORG_ADMIN))
        app = call_svc.apply(ctx, admin, call.id, org.id, f"plan {i:03d}",
                             {"nvidia-h100-sxm": 1}, 1, Decimal(1))
        score = (i % 10) + 0.5 if i % 7 else 0.25
        call_svc.review(ctx, operator, app.id, score, score, score)
    ranked = call_svc.ranking(ctx, operator, call.id)
    sign_in(browser, people, "operator")
    last = browser.get(f"/calls/{call.id}?page=2").text
    rows = re.findall(r"<td>(\d+)</td>\s*<td><a href=\"/applications/([^\"]+)\"", last)
    assert [(int(n), a) for n, a in rows] == [
        (PER_PAGE + i + 1, r.application.id) for i, r in enumerate(ranked[PER_PAGE:])]


def test_usage_tabulates_the_organisations_that_used_most_and_sums_the_others() -> None:
    from datetime import date

    from aicenter.web.pages import OTHERS, SHOWN_ORGS, top_orgs

    day1, day2 = date(2026, 2, 1), date(2026, 2, 2)
    totals = {(day1, f"org_{i}"): Decimal(i + 1) for i in range(SHOWN_ORGS + 3)}
    totals[(day2, "org_0")] = Decimal(100)  # the least on day 1, the most in the month
    folded, others = top_orgs(totals)
    assert others == 3
    kept = {org for _, org in folded} - {OTHERS}
    assert kept == {"org_0"} | {f"org_{i}" for i in range(4, SHOWN_ORGS + 3)}
    assert folded[(day1, OTHERS)] == Decimal(2 + 3 + 4)
    assert sum(folded.values()) == sum(totals.values())
    assert top_orgs({(day1, "org_a"): Decimal(1)}) == ({(day1, "org_a"): Decimal(1)}, 0)
