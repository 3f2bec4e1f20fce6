"""A tenant's work in the browser (server-side, through the forms): submit a job from the form
(the page builds the spec) or from pasted YAML, see it with its pending reason, cancel it; a
grant's balance and the usage charged to it per job; the month's bill in KRW with the
subsidy. Refusals show the spec's or the service's message. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from aicenter.domain.job import JobStatus, parse_job_spec
from aicenter.domain.usage import UsageRecord
from aicenter.services import grant as grant_svc
from aicenter.services import job as job_svc
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

YAML = """name: pasted
command: python train.py
resources: [{chip: nvidia-h100-sxm, count: 2}]
max_duration: 30m
"""


def test_submit_from_the_form_and_from_yaml_then_cancel(browser: TestClient,
                                                        people: People) -> None:
    ctx = people.ctx
    sign_in(browser, people, "member")
    form = browser.get("/submit")
    assert form.status_code == 200 and "nvidia-h100-sxm" in form.text
    built = post(browser, "/submit", "/submit", {
        "name": "from-form", "command": "python train.py", "chip": "nvidia-h100-sxm",
        "count": "4", "max_duration": "2h", "priority": "normal"})
    assert built.status_code == 303, built.text  # type: ignore[attr-defined]
    job_id = built.headers["location"].split("?")[0].rsplit("/", 1)[1]  # type: ignore[attr-defined]
    job = job_svc.get_job(ctx, people.callers["member"], job_id)
    assert job.spec.name == "from-form" and job.status is JobStatus.QUEUED
    assert job.spec.resources[0].count == 4
    page = browser.get(f"/jobs/{job_id}?ok=job-submitted")
    assert page.status_code == 200 and "Cancel the job" in page.text
    assert "The job is submitted." in page.text

    pasted = post(browser, "/submit", "/submit", {"yaml": YAML})
    assert pasted.status_code == 303  # type: ignore[attr-defined]
    bad = post(browser, "/submit", "/submit", {"yaml": YAML + "colour: blue\n"})
    assert bad.status_code == 422 and "colour" in bad.text  # type: ignore[attr-defined]
    too_many = post(browser, "/submit", "/submit", {
        "name": "huge", "command": "x", "chip": "nvidia-h100-sxm", "count": "999",
        "max_duration": "1h"})
    assert too_many.status_code in (409, 422) and 'role="alert"' in too_many.text  # type: ignore[attr-defined]

    cancelled = post(browser, f"/jobs/{job_id}", f"/jobs/{job_id}/cancel", {})
    assert cancelled.status_code == 303  # type: ignore[attr-defined]
    assert job_svc.get_job(ctx, people.callers["member"], job_id).status is JobStatus.CANCELLED
    assert "Cancel the job" not in browser.get(f"/jobs/{job_id}").text

    sign_in(browser, people, "startup")  # another organisation cannot cancel it
    other = job_svc.list_jobs(ctx, people.operator, status=JobStatus.QUEUED)[0]
    refused = post(browser, "/submit", f"/jobs/{other.id}/cancel", {})
    assert refused.status_code in (403, 404)  # type: ignore[attr-defined]
    assert job_svc.get_job(ctx, people.operator, other.id).status is JobStatus.QUEUED


def test_grant_history_and_the_bill_with_the_subsidy(browser: TestClient,
                                                     people: People) -> None:
    ctx = people.ctx
    view = grant_svc.list_grants(ctx, people.operator, people.orgs["a"])[0]
    start = ctx.clock.now()
    job_id = job_svc.submit(ctx, people.callers["member"], parse_job_spec(YAML))[0].id
    chip_s = Decimal(2 * 3600)  # 2 chips for an hour: 2 H100e-hours
    with ctx.db.transaction() as tx:
        tx.usage.add(UsageRecord("use_web_1", job_id, people.orgs["a"], view.grant.id,
                                 "nvidia-h100-sxm", 2, start, start + timedelta(hours=1),
                                 chip_s, chip_s))
    sign_in(browser, people, "member")
    page = browser.get(f"/grants/{view.grant.id}")
    assert page.status_code == 200 and job_id in page.text and "2.00" in page.text
    bill = browser.get(f"/bill?month={ctx.clock.now():%Y-%m}")
    assert bill.status_code == 200
    # a university pays nothing: the whole market value (2 x 3,195 KRW) is subsidy
    assert bill.text.count("₩6,390") == 3 and "₩0" in bill.text  # market, subsidy, total
    sign_in(browser, people, "startup")
    assert browser.get(f"/grants/{view.grant.id}").status_code in (403, 404)
    assert browser.get(f"/bill?org_id={people.orgs['a']}").status_code in (403, 404)
