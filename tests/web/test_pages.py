"""The web pages against a real SQLite home and real job processes: each page renders for an
operator and for a member, sign-in works through the cookie, and a member never sees another
organisation's jobs, logs, grants or usage."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aicenter.api import create_app
from aicenter.domain.job import JobStatus, parse_job_spec
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.domain.token import Scope
from aicenter.server.process import make_context
from aicenter.services import call as call_svc
from aicenter.services import grant as grant_svc
from aicenter.services import job as job_svc
from aicenter.services import org as org_svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.org import bootstrap_operator
from aicenter.services.scheduling import make_policy, run_round
from aicenter.services.web_session import session_id
from aicenter.settings import Settings
from aicenter.web import mount
from aicenter.web.session import COOKIE
from tests.services.fixtures import seed_center

SPEC = """
name: {name}
command: {command}
resources: [{{chip: nvidia-h100-sxm, count: {count}}}]
max_duration: 2m
"""


@dataclass
class Center:
    ctx: ServiceContext
    tokens: dict[str, str]  # role -> secret
    names: dict[str, str]  # org key -> organisation name
    orgs: dict[str, str]  # org key -> organisation id
    jobs: dict[str, str]  # job key -> id
    grants: dict[str, str]  # org key -> grant id


def submit(ctx: ServiceContext, who: Caller, name: str, command: str, count: int = 1) -> str:
    spec = parse_job_spec(SPEC.format(name=name, command=command, count=count), "job.yaml")
    return job_svc.submit(ctx, who, spec)[0].id


def rounds_until(ctx: ServiceContext, done, timeout_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    policy = make_policy(ctx)
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "jobs did not get there in time"
        run_round(ctx, policy)
        time.sleep(0.1)


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Center]:
    home: Path = tmp_path_factory.mktemp("web") / "home"
    ctx = make_context(Settings(home=home, metering_interval_s=0.5, preemption_grace_s=1))
    boot = bootstrap_operator(ctx)
    assert boot is not None
    operator = Caller(boot[0])
    org_a, member_a, grant_a = seed_center(ctx, operator, org_class="university")
    call = call_svc.list_calls(ctx, operator)[0]
    org_b = org_svc.create_org(ctx, operator, "Beta Robotics", OrgClass.STARTUP)
    member_b = Caller(org_svc.add_person(ctx, operator, org_b.id, "B", "b@beta.kr",
                                         Role.MEMBER))
    app_b = call_svc.apply(ctx, member_b, call.id, org_b.id, "robots",
                              {"nvidia-h100-sxm": 8}, 6, Decimal(100))
    call_svc.review(ctx, operator, app_b.id, 7, 7, 7)
    grant_b = grant_svc.award(ctx, operator, app_b.id, Decimal(100))
    jobs = {
        "a_done": submit(ctx, member_a, "alpha-done",
                         "\"echo hello-alpha; echo '<script>alert(1)</script>'; sleep 1\""),
        "b_done": submit(ctx, member_b, "beta-done", "\"echo secret-beta; sleep 1\""),
    }
    rounds_until(ctx, lambda: all(job_svc.get_job(ctx, operator, j).status.finished
                                  for j in jobs.values()))
    jobs["a_long"] = submit(ctx, member_a, "alpha-long", "\"echo alpha-running; sleep 60\"", 2)
    jobs["b_long"] = submit(ctx, member_b, "beta-long", "\"echo beta-running; sleep 60\"", 3)
    rounds_until(ctx, lambda: all(job_svc.get_job(ctx, operator, jobs[k]).status is
                                  JobStatus.RUNNING for k in ("a_long", "b_long")))
    _, member_secret = org_svc.create_token(ctx, operator, member_a.person.id, "web",
                                            frozenset({Scope.READ}), None)
    yield Center(ctx, {"operator": boot[1], "member": member_secret},
                 {"a": org_a.name, "b": org_b.name}, {"a": org_a.id, "b": org_b.id}, jobs,
                 {"a": grant_a.grant.id, "b": grant_b.grant.id})
    for key in ("a_long", "b_long"):
        job_svc.cancel(ctx, operator, jobs[key])
    rounds_until(ctx, lambda: all(job_svc.get_job(ctx, operator, j).status.finished
                                  for j in jobs.values()))
    ctx.db.dispose()


@pytest.fixture
def browser(center: Center) -> Iterator[TestClient]:
    app = create_app(center.ctx)
    mount(app)  # as the server does
    with TestClient(app, follow_redirects=False, headers={"Accept-Language": "en"}) as client:
        yield client


def form_token(browser: TestClient, path: str = "/login") -> str:
    """The CSRF token of the form on ``path`` (its hidden field)."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(path).text)
    assert found, f"no CSRF field on {path}"
    return found.group(1)


def signed_in(browser: TestClient, center: Center, role: str) -> TestClient:
    response = browser.post("/login", data={"token": center.tokens[role],
                                            "csrf_token": form_token(browser)})
    assert response.status_code == 303 and response.headers["location"] == "/"
    return browser


def test_sign_in_starts_a_server_side_session_and_out_ends_it(browser: TestClient,
                                                              center: Center) -> None:
    first = browser.get("/")
    assert first.status_code == 303 and first.headers["location"] == "/login"
    assert "API token" in browser.get("/login").text
    token = form_token(browser)
    wrong = browser.post("/login", data={"token": "not-a-token", "csrf_token": token})
    assert wrong.status_code == 401 and "unknown, expired or revoked" in wrong.text
    assert COOKIE not in browser.cookies
    ok = browser.post("/login", data={"token": center.tokens["member"], "csrf_token": token})
    cookie = ok.headers["set-cookie"].lower()
    assert ok.status_code == 303 and "httponly" in cookie and "samesite=lax" in cookie
    secret = browser.cookies[COOKIE]
    assert secret != center.tokens["member"] and center.tokens["member"] not in cookie
    with center.ctx.db.transaction(write=False) as tx:  # stored hashed, never as sent
        assert tx.web_sessions.get(secret) is None
        assert tx.web_sessions.get(session_id(secret)) is not None
    assert browser.get("/").status_code == 200
    out = browser.post("/logout", data={"csrf_token": form_token(browser, "/")})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert browser.get("/").status_code == 303
    browser.cookies.set(COOKIE, secret)  # the ended session does not come back
    assert browser.get("/").headers["location"] == "/login"
    browser.cookies.set(COOKIE, "forged")
    assert browser.get("/jobs").headers["location"] == "/login"


def test_every_post_needs_the_csrf_token(browser: TestClient, center: Center) -> None:
    form_token(browser)  # the pre-session cookie is set, but the field is missing
    refused = browser.post("/login", data={"token": center.tokens["member"]})
    assert refused.status_code == 403 and COOKIE not in browser.cookies
    assert "did not come from this site" in refused.text
    signed_in(browser, center, "member")
    assert browser.post("/logout").status_code == 403
    assert browser.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert browser.get("/").status_code == 200  # still signed in
    header = browser.post("/logout", headers={"X-CSRF-Token": form_token(browser, "/")})
    assert header.status_code == 303  # htmx sends the token as a header


def test_security_headers_and_error_pages(browser: TestClient, center: Center) -> None:
    signed_in(browser, center, "member")
    page = browser.get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in page.text  # no inline script anywhere
    missing = browser.get("/no/such/page")
    assert missing.status_code == 404 and "<nav" in missing.text  # inside the layout
    assert "There is no page at this address." in missing.text
    api = browser.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"
    job = browser.get("/jobs/job_doesnotexist")
    assert job.status_code == 404 and "Not found" in job.text


@pytest.mark.parametrize("role", ["operator", "member"])
def test_every_page_renders(browser: TestClient, center: Center, role: str) -> None:
    signed_in(browser, center, role)
    overview = browser.get("/")
    assert overview.status_code == 200
    assert "nvidia-h100-sxm" in overview.text and "rebellions-atom" in overview.text
    # counts over the whole center: 2 + 3 of 8 H100s busy, whoever looks
    h100 = re.search(r"<td>nvidia-h100-sxm</td>.*?</tr>", overview.text, re.S)
    assert h100 is not None
    assert re.findall(r'<td class="num">(\d+)</td>', h100.group(0)) == ["8", "5", "3"]
    assert "alpha-long" in overview.text
    jobs = browser.get("/jobs")
    assert jobs.status_code == 200 and "alpha-done" in jobs.text
    assert browser.get("/jobs?status=running").text.count("/jobs/job_") == (
        2 if role == "operator" else 1)
    page = browser.get(f"/jobs/{center.jobs['a_done']}")
    assert page.status_code == 200 and "hello-alpha" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text  # the log is escaped
    assert "<script>alert(1)</script>" not in page.text
    assert 'hx-trigger' not in page.text  # a finished job's log does not poll
    running = browser.get(f"/jobs/{center.jobs['a_long']}")
    assert f'hx-get="/jobs/{center.jobs["a_long"]}/log"' in running.text
    fragment = browser.get(f"/jobs/{center.jobs['a_long']}/log")
    assert fragment.status_code == 200 and "alpha-running" in fragment.text
    assert "<html" not in fragment.text
    grants = browser.get("/grants")
    assert grants.status_code == 200 and center.grants["a"] in grants.text
    usage = browser.get("/usage")
    assert usage.status_code == 200 and "<svg" in usage.text and center.names["a"] in usage.text
    assert browser.get("/static/htmx.min.js").status_code == 200
    if role == "operator":
        for text in ("beta-long", center.names["b"]):
            assert text in overview.text
        assert "beta-done" in jobs.text and center.grants["b"] in grants.text
        assert center.names["b"] in usage.text
        assert "secret-beta" in browser.get(f"/jobs/{center.jobs['b_done']}").text


def test_a_member_never_sees_another_organisations_work(browser: TestClient,
                                                        center: Center) -> None:
    signed_in(browser, center, "member")
    b_jobs = [center.jobs["b_done"], center.jobs["b_long"]]
    pages = [browser.get(p).text for p in ("/", "/jobs", "/jobs?status=running",
                                           "/jobs?status=succeeded", "/grants", "/usage")]
    for text in pages:
        for secret in (*b_jobs, "beta-done", "beta-long", center.grants["b"],
                       center.names["b"]):
            assert secret not in text
    for job_id in b_jobs:
        for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/log"):
            response = browser.get(path)
            assert response.status_code == 404, path  # as if it did not exist
            assert "secret-beta" not in response.text and "beta-running" not in response.text
            assert "Not found" in response.text


def test_usage_page_sums_to_the_metered_records(browser: TestClient, center: Center) -> None:
    signed_in(browser, center, "operator")
    page = browser.get("/usage").text
    with center.ctx.db.transaction(write=False) as tx:
        records = tx.usage.list()
    for org_id in center.orgs.values():
        total = sum((r.h100e_seconds for r in records if r.org_id == org_id), Decimal(0)) / 3600
        assert total > 0
        assert f'<th class="num">{total:.6f}</th>' in page
    assert page.count("<rect") >= 2  # at least one bar segment per organisation
    bad = browser.get("/usage?month=2026-13")
    assert bad.status_code == 422 and "not a month like 2026-03" in bad.text
