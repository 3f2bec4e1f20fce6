"""A data provider uploads a dataset file in a real browser (Debian's chromium, in Korean):
static/upload.js refuses a bad name with the center's reason before sending the file, then
sends it with its progress shown and opens the upload's page, which shows the scan's reports
as tables once the center has ingested it; nothing comes from another host, the CSP holds,
and axe finds no serious violation on the form or the reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.domain.token import Scope
from aicenter.services import org as org_svc
from aicenter.services import upload as upload_svc
from aicenter.services.org import authenticate
from tests.web.conftest import LiveCenter, assert_accessible, sign_in

pytestmark = pytest.mark.xdist_group("browser")  # one browser per host, as test_browser.py

ROWS = [{"text": "서울시는 내년부터 심야 버스 노선을 늘린다. 제보 010-2345-6789"},
        {"text": "부산 앞바다에서 고래 두 마리가 관찰되었다. 문의 press@news.kr"},
        {"text": "유료 독자용 분석 기사 본문", "tdm_reservation": 1}]


def _provider_token(center: LiveCenter) -> str:
    ctx = center.server.ctx
    operator = authenticate(ctx, center.operator_token)
    org = org_svc.create_org(ctx, operator, "한국일보", OrgClass.ENTERPRISE)
    person = org_svc.add_person(ctx, operator, org.id, "박지아", "jia@hk.kr",
                                Role.DATA_PROVIDER)
    return org_svc.create_token(ctx, operator, person.id, "web",
                                frozenset({Scope.READ, Scope.WRITE}), None)[1]


def test_a_provider_uploads_a_file_and_reads_its_reports(page: Any, web_center: LiveCenter,
                                                         tmp_path: Path) -> None:
    source = tmp_path / "news.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS),
                      encoding="utf-8")
    sign_in(page, _provider_token(web_center))
    page.click("nav >> text=업로드")
    page.wait_for_selector("#upload-form")
    assert_accessible(page)
    page.set_input_files("#upload-form input[name=file]", str(source))
    page.fill("#upload-form input[name=name]", "../bad name")
    page.fill("#upload-form input[name=licence]", "proprietary")
    page.click("#upload-form button[type=submit]")
    error = page.locator("#upload-error")
    error.wait_for(state="visible")
    assert "dataset" in error.inner_text()  # the center's reason, before the file was sent
    assert upload_svc.list_uploads(web_center.server.ctx, authenticate(
        web_center.server.ctx, web_center.operator_token)) == []

    held: list[Any] = []  # the file's request, held until the form's progress is checked

    def hold(route: Any) -> None:
        if route.request.method == "POST":
            held.append(route)
        else:
            route.continue_()

    page.route(lambda url: urlsplit(url).path == "/uploads", hold)
    page.fill("#upload-form input[name=name]", "hk-news")
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-progress", state="visible")
    assert page.locator("#upload-form button[type=submit]").is_disabled()
    assert held and held[0].request.headers["x-csrf-token"]
    assert held[0].request.headers["content-type"] == "application/octet-stream"
    assert "filename=news.jsonl" in held[0].request.url
    held[0].continue_()
    page.wait_for_url("**/uploads/upl_*")
    assert page.locator("p.done").count() == 1  # uploaded and queued
    done = upload_svc.run_pending(web_center.server.ctx)  # the center's upload runner
    assert [u.status.value for u in done] == ["succeeded"]
    page.wait_for_selector("#pii-report", timeout=15_000)  # the page refreshes itself
    table = page.locator("section[aria-labelledby=pii-report] table").inner_text()
    assert "phone" in table and "email" in table
    assert "1" in page.locator("section[aria-labelledby=tdm-report] td.num").first.inner_text()
    assert_accessible(page)
    assert not page.csp_errors, page.csp_errors
    assert not web_center.outside_requests, web_center.outside_requests
