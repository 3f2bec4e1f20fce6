"""Fleet and proposal scoring, procurement, reclaim notices and compliance CSV over HTTP
(issue 16 item 1: what the operator's pages show is in the API too), through the typed client
against a live server where the client has a method; on SQLite and PostgreSQL.

The scores and the purchase are those of the core (the CLI's) on the same files; a problem in
a text is 422 naming the text's name, line and field; texts that would make the parser or the
validator work without bound (aliases, deep nesting, oversize) are refused before parsing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from aicenter.api import create_app
from aicenter.catalog import PerformanceTable, load_catalog
from aicenter.client import ApiError, Client
from aicenter.domain.person import Role
from aicenter.domain.token import Scope
from aicenter.fleet.procurement import load_offers, optimise
from aicenter.fleet.proposal_file import load_proposal
from aicenter.fleet.rubric_file import load_rubric
from aicenter.fleet.yamlio import MAX_DEPTH, MAX_TEXT_CHARS
from aicenter.services import dataset as dataset_svc
from aicenter.services import grant as grant_svc
from aicenter.services import org as org_svc
from aicenter.services.clock import ManualClock
from aicenter.services.context import Caller, ServiceContext
from tests.conftest import EXAMPLES
from tests.services.fixtures import seed_center
from tests.support.live_server import LiveServer

RUBRIC = "korea-nacc-2025"
PROPOSALS = sorted((EXAMPLES / "proposals").glob("*.yaml"))


@pytest.fixture
def live(ctx: ServiceContext, api: tuple[TestClient, str]) -> Iterator[tuple[str, str]]:
    """The app on a loopback port and the operator's token."""
    with LiveServer(create_app(ctx)) as server:
        yield server.url, api[1]


def _member(ctx: ServiceContext, token: str) -> str:
    """A member of a new organisation with a grant: their token's secret."""
    operator = org_svc.authenticate(ctx, token)
    _org, member, _grant = seed_center(ctx, operator)
    return org_svc.create_token(ctx, operator, member.person.id, "t",
                                frozenset({Scope.READ, Scope.WRITE}), None)[1]


def test_scores_are_the_rubric_engines(live: tuple[str, str]) -> None:
    url, token = live
    catalog = load_catalog()
    perf = PerformanceTable.from_catalog(catalog)
    rubric = load_rubric(RUBRIC)
    with Client(url, token) as c:
        assert RUBRIC in {p.preset for p in c.rubric_presets()}
        one = c.score_fleet(PROPOSALS[0].read_text(), rubric=RUBRIC, name=PROPOSALS[0].name)
        expected = rubric.score_all([load_proposal(PROPOSALS[0], catalog)], perf)[0]
        assert one.total == expected.total and one.max == expected.max
        assert [(x.id, x.points, x.explanation) for x in one.criteria] == [
            (x.id, x.points, x.explanation) for x in expected.criteria]
        ranked = c.score_proposals({p.name: p.read_text() for p in PROPOSALS}, rubric=RUBRIC)
    field = rubric.score_all([load_proposal(p, catalog) for p in PROPOSALS], perf)
    order = sorted(zip(PROPOSALS, field, strict=True), key=lambda t: (-t[1].total,
                                                                       t[1].proposal))
    assert [(r.rank, r.name, r.score.total) for r in ranked] == [
        (i, p.name, r.total) for i, (p, r) in enumerate(order, start=1)]


def test_a_rubric_text_instead_of_a_preset(live: tuple[str, str]) -> None:
    url, token = live
    rubric = ("id: capacity-only\nname: Capacity\ncriteria:\n  - {id: capacity, type: capacity, "
              "max: 10, params: {basis: best, target_h100e: 1000000}}\n")
    with Client(url, token) as c:
        got = c.score_fleet(PROPOSALS[0].read_text(), rubric_yaml=rubric)
        assert got.rubric == "capacity-only" and got.max == 10 and len(got.criteria) == 1
        assert 0 < got.total < 10
        with pytest.raises(ApiError) as both:
            c.score_fleet(PROPOSALS[0].read_text(), rubric=RUBRIC, rubric_yaml=rubric)
        assert both.value.status == 422 and "one of them" in str(both.value)
        with pytest.raises(ApiError) as path:  # a server never opens a path a request names
            c.score_fleet(PROPOSALS[0].read_text(), rubric="/etc/passwd")
        assert path.value.status == 404


def test_problems_name_the_file_line_and_field(api: tuple[TestClient, str]) -> None:
    client, token = api
    auth = {"Authorization": f"Bearer {token}"}
    text = PROPOSALS[0].read_text()
    lines = text.splitlines()
    at = next(i for i, x in enumerate(lines) if "count:" in x)
    lines[at] = lines[at].replace("count: ", "count: -", 1)
    bad = client.post("/api/v1/fleet/score", headers=auth, json={
        "fleet": "\n".join(lines), "name": "mine.yaml", "rubric": RUBRIC})
    assert bad.status_code == 422
    body = bad.json()
    assert body["detail"].startswith(f"mine.yaml:{at + 1}: field 'pools[0].count'")
    assert body["field"] == "pools[0].count"
    chip = client.post("/api/v1/fleet/score", headers=auth, json={
        "fleet": text.replace("nvidia-h200", "nvidia-h2000"), "rubric": RUBRIC})
    assert chip.status_code == 422 and "nvidia-h200" in chip.json()["detail"]
    second = client.post("/api/v1/proposals/score", headers=auth, json={
        "proposals": [{"text": text, "name": "a.yaml"}, {"text": "bidder: [", "name": "b.yaml"}],
        "rubric": RUBRIC})
    assert second.status_code == 422 and second.json()["detail"].startswith("b.yaml:2:1: malformed")


@pytest.mark.parametrize("text,problem", [
    ("a: &x [1, 2]\nb: [*x, *x]\n", "aliases"),
    ("a:\n" + "".join(" " * (i + 1) + "b:\n" for i in range(MAX_DEPTH + 1)), "nested"),
    ("[" * 30000 + "]" * 30000, "malformed"),
])
def test_texts_that_cost_without_bound_are_refused_first(
        api: tuple[TestClient, str], text: str, problem: str) -> None:
    client, token = api
    answer = client.post("/api/v1/fleet/score", headers={"Authorization": f"Bearer {token}"},
                         json={"fleet": text, "rubric": RUBRIC})
    # refused by the bound it breaks (before anything is built: the message names the
    # bound, not a validation of the built document); its cost is bench_fleet_scoring's
    assert answer.status_code == 422 and problem in answer.json()["detail"]


def test_an_oversize_text_is_refused_by_its_field(api: tuple[TestClient, str]) -> None:
    client, token = api
    answer = client.post("/api/v1/fleet/score", headers={"Authorization": f"Bearer {token}"},
                         json={"fleet": "#" * (MAX_TEXT_CHARS + 1), "rubric": RUBRIC})
    assert answer.status_code == 422 and answer.json()["field"] == "fleet"


def test_procurement_is_the_optimisers(ctx: ServiceContext, live: tuple[str, str]) -> None:
    url, token = live
    offers = EXAMPLES / "offers.yaml"
    catalog = load_catalog()
    book = load_offers(offers, catalog)
    expected = optimise(book, PerformanceTable.from_catalog(catalog), Decimal("5e11"), 25.0,
                        load_rubric(RUBRIC), 60)
    with Client(url, token) as c:
        got = c.procure(offers.read_text(), "500000000000", power_mw=25, rubric=RUBRIC,
                        min_score=60)
        assert [(m.offer, m.chips) for m in got.mix] == [
            (o.id, n) for o, n in zip(book.offers, expected.chips, strict=True)]
        assert Decimal(got.cost_krw) == expected.cost_krw <= Decimal("5e11")
        assert got.power_mw == pytest.approx(expected.power_mw) and got.power_mw <= 25
        assert got.score is not None and got.score.total == expected.score
        assert got.credited_score == expected.credited_score
        assert sum(Decimal(m.cost_krw) for m in got.mix) == Decimal(got.cost_krw)
        with pytest.raises(ApiError) as none:
            c.procure(offers.read_text(), 1000, rubric=RUBRIC, min_score=60)
        assert none.value.status == 409
        with pytest.raises(ApiError) as half:
            c.procure(offers.read_text(), 1000, min_score=60)
        assert half.value.status == 422 and "min_score" in str(half.value)
        with pytest.raises(ApiError) as over:
            c.procure(offers.read_text(), 1000, rubric=RUBRIC, min_score=101)
        assert over.value.status == 422
    with Client(url, _member(ctx, token)) as c, pytest.raises(ApiError) as refused:
        c.procure(offers.read_text(), "500000000000")
    assert refused.value.status == 403


def test_reclaim_notices_of_ones_own_grants(ctx: ServiceContext, clock: ManualClock,
                                            live: tuple[str, str]) -> None:
    url, token = live
    member_token = _member(ctx, token)
    other_token = _member(ctx, token)
    operator = org_svc.authenticate(ctx, token)
    clock.advance((ctx.settings.idle_reclaim_days + 1) * 86400)
    grant_svc.reclaim_idle(ctx, operator)
    member = org_svc.authenticate(ctx, member_token)
    with Client(url, member_token) as c:
        [mine] = c.reclaim_notices()
    [grant] = grant_svc.list_grants(ctx, member)
    assert mine.grant_id == grant.grant.id and mine.org_id == member.org_id
    assert mine.noticed_at == clock.now() and mine.status == "active"
    assert (mine.reclaim_at - mine.noticed_at).days == ctx.settings.reclaim_notice_days
    assert Decimal(mine.available_h100e_h) == grant.available_h100e_h
    with Client(url, token) as c:
        assert len(c.reclaim_notices()) == 2  # the operator sees every organisation's
        assert [n.grant_id for n in c.reclaim_notices(member.org_id)] == [mine.grant_id]
    with Client(url, other_token) as c, pytest.raises(ApiError) as refused:
        c.reclaim_notices(member.org_id)
    assert refused.value.status == 403


def test_compliance_reports_as_csv(ctx: ServiceContext, live: tuple[str, str]) -> None:
    url, token = live
    operator = org_svc.authenticate(ctx, token)
    org, _member, _grant = seed_center(ctx, operator)
    provider = Caller(org_svc.add_person(ctx, operator, org.id, "P", "p@press.kr",
                                         Role.DATA_PROVIDER))
    source = ctx.settings.home / "news.jsonl"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text('{"text": "기사 본문, 연락처 010-1234-5678"}\n', encoding="utf-8")
    dataset = dataset_svc.upload(ctx, provider, dataset_svc.UploadRequest(
        "news", "news.jsonl", licence_text="proprietary"), source)
    with Client(url, token) as c:
        as_json = c.compliance_pii()
        text = c.compliance_csv("pii")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert list(rows[0]) == ["current", "dataset_id", "provider_org_id", "version",
                                 "actions", "records", "records_with_pii", "counts",
                                 "dropped_for_pii"]
        [row] = rows
        [expected] = as_json.rows
        assert (row["current"], row["dataset_id"], row["version"], row["records"]) == (
            "true", dataset.id, expected.version, str(expected.records))
        assert text.endswith("\r\n")
        empty = c.compliance_csv("datasets", month="2026-01")
        assert empty.splitlines()[0].startswith("dataset_id,provider_org_id,org_id")
        assert len(empty.splitlines()) == 1
        with pytest.raises(ApiError) as bad:
            c.compliance_csv("compute", month="2026-13")
        assert bad.value.status == 422
        response = c._raw("GET", "/compliance/residency", params={"format": "csv"})
        assert response.headers["content-type"].startswith("text/csv")
        assert 'filename="compliance-residency.csv"' in response.headers["content-disposition"]
        with pytest.raises(ApiError) as unknown:
            c._raw("GET", "/compliance/pii", params={"format": "xml"})
        assert unknown.value.status == 422
