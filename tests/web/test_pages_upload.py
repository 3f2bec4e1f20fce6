"""Uploading a dataset file from the portal, over HTTP as ``static/upload.js`` does it: the form
(for those who may upload), the early check of the fields, the raw file with the session's
CSRF token in a header (refused without it), the API's size limit before a byte is read (and
while a body of unknown length arrives), nothing kept of a refused upload; once the ingest
ran, the upload's page shows the personal data, TDM and deduplication reports as tables; the
provider's data-usage page. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aicenter.api import create_app
from aicenter.api.limits import BodyLimits
from aicenter.domain.job import parse_job_spec
from aicenter.exchange.meter import MeterWriter
from aicenter.services import dataset as dataset_svc
from aicenter.services import job as job_svc
from aicenter.services import licence as licence_svc
from aicenter.services import royalty as royalty_svc
from aicenter.services import upload as upload_svc
from aicenter.services.context import ServiceContext
from aicenter.web import mount
from tests.services.fixtures import (  # noqa: F401
    clock_fixture,
    ctx_fixture,
    database_fixture,
    operator_fixture,
)
from tests.web.page_fixtures import (  # noqa: F401
    CSRF,
    People,
    browser_fixture,
    people_fixture,
    sign_in,
)

LIMIT = 4000
"""The upload limit of the small center: bytes."""


def _lines(rows: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


ARTICLES = ["서울시는 내년부터 심야 버스 노선을 열두 개 늘린다고 밝혔다",
            "부산 앞바다에서 대형 고래 두 마리가 관찰되어 해경이 안전 안내에 나섰다",
            "올해 벼 수확량은 지난해보다 삼 퍼센트 늘어날 것으로 농촌진흥청은 전망했다",
            "국립중앙박물관이 고려 청자 특별전을 다음 달 말까지 연장한다"]
NEWS = _lines(
    [{"text": f"{a}. 제보 010-2345-67{i:02d}, reporter{i}@news.kr"}
     for i, a in enumerate(ARTICLES)]
    + [{"text": f"{ARTICLES[0]}. 제보 010-2345-6700, reporter0@news.kr"},  # a duplicate
       {"text": "유료 독자에게만 허락된 분석 기사의 본문은 학습에 쓰지 못한다",
        "tdm_reservation": 1},
       {"text": "날씨: 전국이 대체로 맑겠고 미세먼지는 보통 수준이겠습니다"}])
WEATHER = _lines([{"text": f"{city}의 내일 최고 기온은 {t}도로 예상됩니다"}
                  for city, t in (("강릉", 21), ("제주", 24), ("대구", 27))])


def _token(client: TestClient, page: str = "/uploads") -> str:
    found = CSRF.search(client.get(page).text)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def _fields(name: str = "news", **more: str) -> dict[str, str | list[str]]:
    return {"name": name, "licence": "proprietary", "filename": "news.jsonl",
            "domestic": "1", "field": "text", **more}


def _stored(ctx: ServiceContext) -> list[Path]:
    folder = ctx.settings.home / "uploads"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_a_provider_uploads_from_the_page_and_sees_the_reports(
        browser: TestClient, people: People) -> None:
    ctx = people.ctx
    sign_in(browser, people, "member")
    assert 'id="upload-form"' not in browser.get("/uploads").text  # a member may not
    sign_in(browser, people, "provider")
    page = browser.get("/uploads")
    assert 'id="upload-form"' in page.text and '<script src="/static/upload.js"' in page.text
    assert 'data-max-bytes="68719476736"' in page.text and "64 GiB" in page.text
    script = browser.get("/static/upload.js")
    assert script.status_code == 200 and "X-CSRF-Token" in script.text
    token = _token(browser)
    header = {"X-CSRF-Token": token}

    unchecked = browser.post("/uploads/check", params=_fields())  # no token: refused
    assert unchecked.status_code == 403
    bad_name = browser.post("/uploads/check", params=_fields("../etc"), headers=header)
    assert bad_name.status_code == 422 and bad_name.json()["field"] == "dataset"
    no_licence = browser.post("/uploads/check", params=_fields(licence=""), headers=header)
    assert no_licence.status_code == 422 and no_licence.json()["field"] == "licence"
    fine = browser.post("/uploads/check", params=_fields(), headers=header)
    assert fine.status_code == 200 and fine.json() == {"ok": True,
                                                       "org_id": people.orgs["p"]}

    forged = browser.post("/uploads", params=_fields(), content=NEWS,
                          headers={"X-CSRF-Token": "not-the-token"})
    assert forged.status_code == 403 and _stored(ctx) == []
    assert upload_svc.list_uploads(ctx, people.operator) == []
    sent = browser.post("/uploads", params=_fields(pii_action=["email=drop"]), content=NEWS,
                        headers=header)
    assert sent.status_code == 201, sent.text
    upload_id = sent.json()["id"]
    assert sent.json()["url"] == f"/uploads/{upload_id}?ok=upload-accepted"
    queued = browser.get(sent.json()["url"])
    assert queued.status_code == 200 and "The file is uploaded and queued" in queued.text
    assert 'hx-trigger="every 2s"' in queued.text and 'id="pii-report"' not in queued.text
    assert f'href="/uploads/{upload_id}"' in browser.get("/uploads").text

    assert [u.id for u in upload_svc.run_pending(ctx)] == [upload_id]  # the runner's pass
    done = browser.get(f"/uploads/{upload_id}")
    assert "every 2s" not in done.text and "succeeded" in done.text
    row = upload_svc.get_upload(ctx, people.operator, upload_id)
    assert row.request["pii_actions"] == ["email=drop"]
    dataset = dataset_svc.get_dataset(ctx, people.operator, "news")
    counts = {k: dataset.stats[f"count_{k}"] for k in (
        "records_read", "tdm_excluded", "duplicates", "dropped_for_pii")}
    assert counts == {"records_read": 7, "tdm_excluded": 1, "duplicates": 1,
                      "dropped_for_pii": 4}  # the four with an e-mail address: dropped

    def cell(label: str) -> str:
        found = re.search(rf"<th scope=\"row\">{re.escape(label)}</th><td class=\"num\">"
                          r"([^<]*)</td>", done.text)
        assert found, label
        return found.group(1)

    assert cell("Records read from the file") == "7"
    assert cell("Records excluded: their publisher reserved text-and-data mining") == "1"
    assert cell("Duplicates dropped") == "1"
    assert cell("Records kept in the dataset") == str(dataset.stats["records"])
    pii = re.search(r'id="pii-report".*?</table>', done.text, re.S)
    assert pii is not None
    rows = re.findall(r"<tr><td>(\w+)</td><td class=\"num\">(\d+)</td><td>(\w+)</td>",
                      pii.group(0))
    found = {t: (int(n), action) for t, n, action in rows}
    assert found["email"] == (dataset.pii_report["counts"]["email"], "drop")
    assert found["phone"][0] == dataset.pii_report["counts"]["phone"] > 0
    assert found["rrn"] == (0, "drop")  # not found; its default action is listed
    assert "0**-****-**" in pii.group(0)  # masked samples, for the provider

    sign_in(browser, people, "startup")  # another organisation: no such upload
    assert browser.get(f"/uploads/{upload_id}").status_code == 404
    member_check = browser.post("/uploads/check", params=_fields("theirs"),
                                headers={"X-CSRF-Token": _token(browser)})
    assert member_check.status_code == 403


def test_a_failed_ingest_shows_why(browser: TestClient, people: People) -> None:
    sign_in(browser, people, "provider")
    sent = browser.post("/uploads", params=_fields("broken"), content=b"{not json\n",
                        headers={"X-CSRF-Token": _token(browser)})
    assert sent.status_code == 201
    upload_svc.run_pending(people.ctx)
    page = browser.get(f"/uploads/{sent.json()['id']}")
    assert "failed" in page.text and 'class="error"' in page.text
    assert 'id="pii-report"' not in page.text


@pytest.fixture(name="small")
def small_fixture(ctx: ServiceContext) -> Iterator[TestClient]:
    """A center whose upload limit is :data:`LIMIT` bytes."""
    app = create_app(ctx, body_limits=BodyLimits(upload_max_bytes=LIMIT))
    mount(app)
    with TestClient(app, follow_redirects=False, headers={"Accept-Language": "en"}) as client:
        yield client


def test_the_size_limit_holds_before_the_body_is_read(small: TestClient,
                                                      people: People) -> None:
    sign_in(small, people, "provider")
    page = small.get("/uploads")
    assert f'data-max-bytes="{LIMIT}"' in page.text and "3.9 KiB" in page.text
    header = {"X-CSRF-Token": _token(small)}
    declared = small.post("/uploads", params=_fields(), content=b"x" * (LIMIT + 1),
                          headers=header)
    assert declared.status_code == 413 and declared.json()["error"] == "too-large"
    streamed = small.post("/uploads", params=_fields(),  # no length: counted as it arrives
                          content=iter([b"y" * 1000] * 5), headers=header)
    assert streamed.status_code == 413
    assert _stored(people.ctx) == [] and upload_svc.list_uploads(people.ctx,
                                                                 people.operator) == []
    fits = small.post("/uploads", params=_fields(), content=NEWS, headers=header)
    assert len(NEWS) <= LIMIT and fits.status_code == 201
    # the API's route has the same limit
    assert small.post("/api/v1/datasets", params=_fields(), content=b"x" * (LIMIT + 1),
                      headers={"Authorization": f"Bearer {people.secrets['provider']}"}
                      ).status_code == 413


def _read(people: People, offer_id: str, records: int, tokens: int) -> str:
    """A member's job admitted under its agreement, its reads metered as the reader meters
    them, and recorded as the scheduling loop records them."""
    ctx, member = people.ctx, people.callers["member"]
    job, _ = job_svc.submit(ctx, member, parse_job_spec(json.dumps({
        "name": "reader", "command": "true", "max_duration": "60s", "purpose": "pre-training",
        "resources": [{"chip": "nvidia-h100-sxm", "count": 1}], "datasets": ["news"]})))
    agreement = next(a for a in licence_svc.list_agreements(ctx, member)
                     if a.offer.id == offer_id)
    MeterWriter(royalty_svc.meter_log_path(ctx, job.id), f"reader:{job.id}", fresh=True).meter(
        job_id=job.id, dataset_id="news", agreement_id=agreement.id, at=ctx.clock.now(),
        records=records, bytes_read=records * 100, tokens=tokens)
    with ctx.db.transaction() as tx:
        fresh = tx.jobs.get(job.id)
        assert fresh is not None
        royalty_svc.record_reads(tx, ctx, fresh, final=True)
    return job.id


def test_the_provider_sees_who_read_its_data(browser: TestClient, people: People,
                                             tmp_path: Path) -> None:
    ctx = people.ctx
    provider = people.callers["provider"]
    for name, content in (("news", NEWS), ("weather", WEATHER)):
        source = tmp_path / f"{name}.jsonl"
        source.write_bytes(content)
        dataset_svc.upload(ctx, provider, dataset_svc.UploadRequest(
            name, f"{name}.jsonl", licence_text="proprietary"), source)
    today = ctx.clock.now().date()
    offer = licence_svc.create_offer(ctx, provider, "news", {
        "purposes": ["pre-training"], "term_start": str(today),
        "term_end": str(today + timedelta(days=90)), "territory": ["KR"],
        "price": {"basis": "per-million-tokens", "amount": "5000"}})
    agreement = licence_svc.accept(ctx, people.callers["member"], offer.id, "pre-training")
    first = _read(people, offer.id, 30, 1200)
    second = _read(people, offer.id, 12, 500)

    sign_in(browser, people, "provider")
    assert 'href="/dataset-reads"' in browser.get("/").text
    page = browser.get("/dataset-reads")
    assert page.status_code == 200
    row = re.search(rf"<tr><td>news</td>.*?{agreement.id}.*?</tr>", page.text, re.S)
    assert row is not None, page.text
    assert agreement.org_name in row.group(0)
    assert ", ".join(sorted([first, second])) in row.group(0)  # both jobs, in id order
    assert ">42<" in row.group(0) and ">4,200<" in row.group(0) and ">1,700<" in row.group(0)
    assert "pre-training" in row.group(0) and "₩5,000 per-million-tokens" in row.group(0)
    assert f'href="/agreements/{agreement.id}"' in row.group(0)
    weather = re.search(r'<a href="/datasets/weather">weather</a>.*?</tr>', page.text, re.S)
    assert weather is not None and weather.group(0).count(">0<") == 4  # read by nobody
    only = browser.get("/dataset-reads?dataset=weather")
    assert "No reads yet." in only.text and "/datasets/news" not in only.text

    sign_in(browser, people, "member")  # the licensee provides nothing: its reads are not here
    mine = browser.get("/dataset-reads")
    assert "No datasets." in mine.text and agreement.id not in mine.text
    sign_in(browser, people, "operator")
    assert agreement.id in browser.get("/dataset-reads").text
