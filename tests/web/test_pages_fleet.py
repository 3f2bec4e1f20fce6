"""Fleet and proposal scoring and the procurement optimiser in the browser (server-side,
through the forms): the per-criterion table is the rubric engine's own result, several
proposals are ranked as ``aicenter proposals rank`` ranks them, a bad YAML names the line of
the text area and the field, the purchase table is the optimiser's; a tenant may score but
not procure. On SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from decimal import Decimal

from fastapi.testclient import TestClient

from aicenter.catalog import PerformanceTable, load_catalog
from aicenter.fleet.procurement import load_offers, optimise
from aicenter.fleet.proposal_file import load_proposal
from aicenter.fleet.rubric_file import load_rubric
from tests.conftest import EXAMPLES
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

PROPOSALS = EXAMPLES / "proposals"
RUBRIC = "korea-nacc-2025"


def _rows(page: str, heading: str) -> list[list[str]]:
    """The body rows (cells as text) of the first table after the heading containing
    ``heading``."""
    start = page.index(heading)
    table = page[page.index("<tbody>", start):page.index("</tbody>", start)]
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
             for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]


def test_one_fleet_scored_per_criterion(browser: TestClient, people: People) -> None:
    sign_in(browser, people, "operator")
    page = browser.get("/fleet")
    assert page.status_code == 200 and RUBRIC in page.text
    assert 'href="/fleet"' in page.text and 'src="/static/yaml-file.js"' in page.text
    source = PROPOSALS / "nvidia-amd.yaml"
    scored = post(browser, "/fleet", "/fleet", {"fleet": source.read_text(), "rubric": RUBRIC,
                                                "name": "nvidia-amd.yaml"})
    assert scored.status_code == 200, scored.text  # type: ignore[attr-defined]
    catalog = load_catalog()
    expected = load_rubric(RUBRIC).score_all([load_proposal(source, catalog)],
                                             PerformanceTable.from_catalog(catalog))[0]
    rows = _rows(scored.text, "NVIDIA + AMD")  # type: ignore[attr-defined]
    assert [r[0] for r in rows] == [c.id for c in expected.criteria] + ["Total"]
    for row, c in zip(rows, expected.criteria, strict=False):
        assert (float(row[2]), float(row[3]), row[5]) == (round(c.points, 2), c.max,
                                                          c.explanation)
    assert float(rows[-1][2]) == round(expected.total, 2)


def test_proposals_ranked_together(browser: TestClient, people: People) -> None:
    sign_in(browser, people, "member")  # scoring is open to everyone signed in
    files = sorted(PROPOSALS.glob("*.yaml"))
    pasted = "\n---\n".join(f.read_text() for f in files)
    ranked = post(browser, "/fleet", "/fleet", {"fleet": pasted, "rubric": RUBRIC})
    assert ranked.status_code == 200, ranked.text  # type: ignore[attr-defined]
    catalog = load_catalog()
    results = load_rubric(RUBRIC).score_all([load_proposal(f, catalog) for f in files],
                                            PerformanceTable.from_catalog(catalog))
    order = sorted(results, key=lambda r: (-r.total, r.proposal))
    rows = _rows(ranked.text, "Ranking")  # type: ignore[attr-defined]
    assert [(r[0], r[1]) for r in rows] == [(str(i), r.proposal)
                                            for i, r in enumerate(order, start=1)]
    assert [float(r[-1].split("/")[0]) for r in rows] == [round(r.total, 2) for r in order]
    assert 'href="/fleet"' not in browser.get("/").text  # not in a tenant's navigation


def test_a_bad_yaml_names_the_line_of_the_text_area_and_the_field(
        browser: TestClient, people: People) -> None:
    sign_in(browser, people, "operator")
    first = (PROPOSALS / "nvidia-amd.yaml").read_text()
    second = (PROPOSALS / "domestic-heavy.yaml").read_text().replace(
        "count: 3000,", "count: lots,", 1)
    pasted = first + "---\n" + second
    line = pasted.splitlines().index(next(x for x in pasted.splitlines() if "lots" in x)) + 1
    bad = post(browser, "/fleet", "/fleet", {"fleet": pasted, "rubric": RUBRIC})
    assert bad.status_code == 422  # type: ignore[attr-defined]
    assert f"fleet.yaml:{line}: field &#39;pools[0].count&#39;" in bad.text  # type: ignore[attr-defined]
    assert "lots" in bad.text  # type: ignore[attr-defined]  # the form keeps what was sent
    alias = post(browser, "/fleet", "/fleet", {
        "fleet": "a: &x [1]\nb: *x\n", "rubric": RUBRIC})
    assert alias.status_code == 422 and "aliases" in alias.text  # type: ignore[attr-defined]
    unknown = post(browser, "/fleet", "/fleet", {"fleet": first, "rubric": "korea-nac"})
    assert unknown.status_code == 404 and RUBRIC in unknown.text  # type: ignore[attr-defined]
    rubric = post(browser, "/fleet", "/fleet", {
        "fleet": first, "rubric_yaml": "id: r\nname: R\ncriteria:\n  - {id: c, type: nope, "
                                       "max: 5}\n"})
    assert rubric.status_code == 422  # type: ignore[attr-defined]
    assert "rubric.yaml:4: field &#39;criteria[0].type&#39;" in rubric.text  # type: ignore[attr-defined]


def test_procurement_shows_the_optimisers_purchase(browser: TestClient,
                                                    people: People) -> None:
    sign_in(browser, people, "operator")
    assert browser.get("/procurement").status_code == 200
    offers = EXAMPLES / "offers.yaml"
    answer = post(browser, "/procurement", "/procurement", {
        "offers": offers.read_text(), "budget_krw": "500,000,000,000", "power_mw": "",
        "rubric": RUBRIC, "min_score": "60"})
    assert answer.status_code == 200, answer.text  # type: ignore[attr-defined]
    catalog = load_catalog()
    perf = PerformanceTable.from_catalog(catalog)
    book = load_offers(offers, catalog)
    expected = optimise(book, perf, Decimal("500000000000"), None, load_rubric(RUBRIC), 60)
    rows = _rows(answer.text, "Purchase for")  # type: ignore[attr-defined]
    assert [(r[0], int(r[3].replace(",", ""))) for r in rows] == [
        (o.id, n) for o, n in zip(book.offers, expected.chips, strict=True)]
    assert sum(expected.chips) > 0
    assert f"Score of the purchase: {round(expected.score or 0, 2)}" in answer.text  # type: ignore[attr-defined]
    too_small = post(browser, "/procurement", "/procurement", {
        "offers": offers.read_text(), "budget_krw": "1000", "rubric": RUBRIC,
        "min_score": "60"})
    assert too_small.status_code == 409  # type: ignore[attr-defined]
    assert "no purchase meets" in too_small.text  # type: ignore[attr-defined]
    no_rubric = post(browser, "/procurement", "/procurement", {
        "offers": offers.read_text(), "budget_krw": "1e11", "min_score": "60"})
    assert no_rubric.status_code == 422 and "min_score" in no_rubric.text  # type: ignore[attr-defined]


def test_a_tenant_may_not_procure(browser: TestClient, people: People) -> None:
    sign_in(browser, people, "member")
    refused = post(browser, "/procurement", "/procurement", {
        "offers": (EXAMPLES / "offers.yaml").read_text(), "budget_krw": "1e11"})
    assert refused.status_code == 403 and "may not" in refused.text  # type: ignore[attr-defined]


def test_the_scoring_page_reads_in_korean(browser: TestClient, people: People) -> None:
    sign_in(browser, people, "operator")
    page = browser.get("/fleet", headers={"Accept-Language": "ko"})
    assert page.status_code == 200 and "평가" in page.text
