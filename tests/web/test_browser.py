"""The portal in a real browser (Debian's chromium): sign in with a token, the overview in
Korean and in English, the language switch, sign out, a forged form refused; the API docs
offline; and no serious accessibility violation on the pages seen."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import LiveCenter, assert_accessible, sign_in


def test_sign_in_switch_language_and_sign_out(page: Any, web_center: LiveCenter) -> None:
    page.goto("/")
    assert page.url.endswith("/login")
    assert page.locator("h1").inner_text() == "로그인"  # the browser asks for Korean
    assert_accessible(page)
    sign_in(page, web_center.operator_token)
    assert page.locator("h1").inner_text() == "개요"
    assert page.locator("nav[aria-label='주 메뉴'] >> text=작업").count() == 1
    assert_accessible(page)
    page.click("text=English")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto("/jobs")
    assert page.locator("h1").inner_text() == "Jobs"  # the choice stays
    assert_accessible(page)
    page.goto("/no/such/page")
    assert page.locator("h1").inner_text() == "Not found"
    page.click("text=한국어")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "찾을 수 없음"
    page.click("button:has-text('로그아웃')")
    page.wait_for_url("**/login")
    page.goto("/")
    assert page.url.endswith("/login")  # the session is over
    assert not page.csp_errors, page.csp_errors
    assert not web_center.outside_requests


def test_a_form_without_the_csrf_token_is_refused(page: Any, web_center: LiveCenter) -> None:
    sign_in(page, web_center.operator_token)
    # a form another site would post: the session cookie goes along, the token cannot
    page.evaluate("""() => {
        const f = document.createElement('form');
        f.method = 'post'; f.action = '/logout';
        document.body.appendChild(f); f.submit();
    }""")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "허용되지 않음"
    page.goto("/")
    assert page.locator("h1").inner_text() == "개요"  # still signed in


def test_api_docs_load_from_the_center_alone(page: Any, web_center: LiveCenter) -> None:
    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=60_000)
    assert "aicenter" in page.locator(".swagger-ui .info .title").inner_text()
    page.goto("/redoc")
    page.wait_for_selector("#redoc h1", timeout=60_000)
    assert not web_center.outside_requests, web_center.outside_requests
    assert not page.csp_errors, page.csp_errors
