"""The planner page: a preset, tokens, chip and count give the plan (both cost bases, days,
energy) and the comparison across chip types as a table and SVG bar charts; a bad figure
shows the field's message. On SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient

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


def test_plan_and_compare_in_the_page(browser: TestClient, people: People) -> None:
    sign_in(browser, people, "member")
    empty = browser.get("/plan")
    assert empty.status_code == 200 and "llama-3.1-8b" in empty.text and "<svg" not in empty.text
    page = browser.get("/plan", params={"model": "llama-3.1-8b", "tokens": "1e12",
                                        "chip": "nvidia-h100-sxm", "count": "64"})
    assert page.status_code == 200, page.text
    assert "64 × nvidia-h100-sxm" in page.text
    assert page.text.count("<svg") == 2 and "Rental cost per chip type" in page.text
    assert "Cheapest to rent:" in page.text and "amd-mi300x" in page.text
    assert "₩" in page.text


def test_bad_figures_name_the_field(browser: TestClient, people: People) -> None:
    sign_in(browser, people, "member")
    bad = browser.get("/plan", params={"model": "llama-3.1-8b", "tokens": "lots",
                                       "chip": "nvidia-h100-sxm", "count": "64"})
    assert bad.status_code == 422 and "tokens" in bad.text
    unknown = browser.get("/plan", params={"model": "nope", "tokens": "1e12",
                                           "chip": "nvidia-h100-sxm", "count": "64"})
    assert unknown.status_code == 404 and "unknown model" in unknown.text


def test_the_page_is_in_korean(browser: TestClient, people: People) -> None:
    sign_in(browser, people, "member")
    page = browser.get("/plan", params={"model": "llama-3.1-8b", "tokens": "1e12",
                                        "chip": "nvidia-h100-sxm", "count": "64"},
                       headers={"Accept-Language": "ko"})
    assert page.status_code == 200 and "학습" in page.text
