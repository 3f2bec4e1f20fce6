"""The operator's scoring, procurement, compliance, reclaim and sign-in pages in a real
browser (Debian's chromium, in Korean): two proposal files chosen in the file input are read
into the text area by static/yaml-file.js (joined as YAML documents) and ranked; an offers
file gives the purchase table; nothing comes from another host, the CSP holds, and axe finds
no serious violation on any of the pages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import EXAMPLES
from tests.web.conftest import LiveCenter, assert_accessible, sign_in

pytestmark = pytest.mark.xdist_group("browser")  # one browser per host, as test_browser.py


def test_an_operator_scores_proposals_and_procures(page: Any, web_center: LiveCenter) -> None:
    sign_in(page, web_center.operator_token)
    page.click("nav >> text=플릿 평가")
    page.wait_for_selector("#fleet-text")
    assert_accessible(page)
    files = [EXAMPLES / "proposals" / "nvidia-amd.yaml",
             EXAMPLES / "proposals" / "domestic-heavy.yaml"]
    page.set_input_files("input[data-fills=fleet-text]", [str(f) for f in files])
    page.wait_for_function("() => document.getElementById('fleet-text').value.includes('---')")
    assert "Southeast AI Infra" in page.input_value("#fleet-text")
    page.click("form[action='/fleet'] button[type=submit]")
    page.wait_for_selector("#proposal-2")
    assert page.locator("h2", has_text="순위").count() == 1
    assert page.locator("#proposal-1").inner_text().startswith("1. Domestic-heavy")
    assert_accessible(page)

    page.click("nav >> text=조달")
    page.wait_for_selector("#offers-text")
    page.set_input_files("input[data-fills=offers-text]", str(EXAMPLES / "offers.yaml"))
    page.wait_for_function("() => document.getElementById('offers-text').value.length > 0")
    assert page.input_value("#offers-name") == "offers.yaml"
    page.fill("input[name=budget_krw]", "500000000000")
    page.click("form[action='/procurement'] button[type=submit]")
    page.wait_for_selector("h2:has-text('구매안')")
    bought = page.locator("tr.best")
    assert bought.count() >= 2  # a mix of vendors at this budget
    assert_accessible(page)
    assert not page.csp_errors, page.csp_errors
    assert not web_center.outside_requests, web_center.outside_requests


def test_the_other_operator_pages_are_accessible(page: Any, web_center: LiveCenter) -> None:
    sign_in(page, web_center.operator_token)
    for link, heading in (("컴플라이언스", "컴플라이언스 보고서"), ("회수 예고", "회수 예고"),
                          ("로그인 승인", "승인 대기 중인 로그인")):
        page.click(f"nav >> text={link}")
        page.wait_for_selector(f"h1:has-text('{heading}')")
        assert_accessible(page)
    page.goto("/compliance?report=compute")
    assert page.locator("nav.filters a[aria-current=page]").inner_text() == "사용한 컴퓨팅"
    assert_accessible(page)
    assert not page.csp_errors, page.csp_errors
    assert not web_center.outside_requests, web_center.outside_requests
