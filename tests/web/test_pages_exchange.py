"""A provider's licence cycle in the browser (server-side, through the forms): the uploaded
dataset with its reports, an offer published through the page (validated by the API's own
model), a tenant accepting it, the agreement with its contract on both sides, the royalty
statement page, withdrawing the offer; refusals show the service's message. On SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from aicenter.domain.job import parse_job_spec
from aicenter.services import dataset as dataset_svc
from aicenter.services import job as job_svc
from aicenter.services import licence as licence_svc
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


def _upload(people: People, tmp_path: Path) -> str:
    source = tmp_path / "news.jsonl"
    source.write_text("".join(json.dumps({"text": f"기사 본문 {i}번. 문의 010-1234-5678"},
                                         ensure_ascii=False) + "\n" for i in range(5)),
                      encoding="utf-8")
    dataset_svc.upload(people.ctx, people.callers["provider"], dataset_svc.UploadRequest(
        "news", "news.jsonl", licence_text="proprietary"), source)
    return dataset_svc.list_datasets(people.ctx, people.operator)[0].id


def test_a_provider_runs_a_licence_cycle(browser: TestClient, people: People,
                                         tmp_path: Path) -> None:
    ctx = people.ctx
    dataset_id = _upload(people, tmp_path)
    today = ctx.clock.now().date()
    sign_in(browser, people, "provider")
    assert "news" in browser.get("/datasets").text
    uploads = browser.get("/uploads")
    assert uploads.status_code == 200  # (an upload through the API queues one; this one ran here)
    page = browser.get(f"/datasets/{dataset_id}")
    assert page.status_code == 200 and "Offer this dataset" in page.text
    assert "phone" in page.text.lower()  # the PII report names what it found

    terms = {"purposes": ["pre-training", "fine-tuning"], "term_start": str(today),
             "term_end": str(today + timedelta(days=365)), "territory": "KR",
             "model_release": "research-release", "price_basis": "per-gb",
             "price_amount": "1000", "output_policy": "withhold"}
    bad = post(browser, f"/datasets/{dataset_id}", f"/datasets/{dataset_id}/offers",
               {**terms, "price_basis": "per-byte"})
    assert bad.status_code == 422 and "price.basis" in bad.text  # type: ignore[attr-defined]
    backwards = post(browser, f"/datasets/{dataset_id}", f"/datasets/{dataset_id}/offers",
                     {**terms, "term_end": str(today - timedelta(days=1))})
    assert backwards.status_code == 422 and 'role="alert"' in backwards.text  # type: ignore[attr-defined]
    made = post(browser, f"/datasets/{dataset_id}", f"/datasets/{dataset_id}/offers", terms)
    assert made.status_code == 303, made.text  # type: ignore[attr-defined]
    offer = licence_svc.list_offers(ctx, people.operator, dataset_id)[0]
    assert {p.value for p in offer.purposes} == {"pre-training", "fine-tuning"}
    assert offer.model_release.value == "research-release"

    sign_in(browser, people, "member")
    listed = browser.get("/offers")
    assert offer.id in listed.text and "Accept the offer" in listed.text
    wrong = post(browser, "/offers", f"/offers/{offer.id}/accept", {"purpose": "retrieval"})
    assert wrong.status_code in (403, 409, 422) and 'role="alert"' in wrong.text  # type: ignore[attr-defined]
    accepted = post(browser, "/offers", f"/offers/{offer.id}/accept",
                    {"purpose": "pre-training"})
    assert accepted.status_code == 303, accepted.text  # type: ignore[attr-defined]
    agreement_id = accepted.headers["location"].split("?")[0].rsplit("/", 1)[1]  # type: ignore[attr-defined]
    mine = browser.get(f"/agreements/{agreement_id}")
    assert mine.status_code == 200 and "pre-training" in mine.text
    assert licence_svc.contract(ctx, people.callers["member"],
                                agreement_id).to_markdown().splitlines()[0] in mine.text
    assert agreement_id in browser.get("/agreements").text
    # a job reading the dataset: its page shows, and says the log waits for the job's end
    # (the service refuses such a job's log until then: the page must not become a 409)
    reader, _ = job_svc.submit(ctx, people.callers["member"], parse_job_spec(json.dumps({
        "name": "reader", "command": "true", "max_duration": "60s", "purpose": "pre-training",
        "resources": [{"chip": "nvidia-h100-sxm", "count": 1}], "datasets": [dataset_id]})))
    for path in (f"/jobs/{reader.id}", f"/jobs/{reader.id}/log"):
        shown = browser.get(path)
        assert shown.status_code == 200, (path, shown.text)
        assert "This job reads licensed data: its log is shown when the job has ended" \
            in shown.text
    assert browser.get(f"/royalties?org_id={people.orgs['p']}").status_code in (403, 404)
    refused = post(browser, "/offers", f"/offers/{offer.id}/withdraw", {})
    assert refused.status_code in (403, 404)  # type: ignore[attr-defined]

    sign_in(browser, people, "provider")
    assert agreement_id in browser.get("/agreements").text
    statement = browser.get(f"/royalties?month={today:%Y-%m}")
    assert statement.status_code == 200 and "rebuild matches the ledger" in statement.text
    withdrawn = post(browser, "/offers", f"/offers/{offer.id}/withdraw", {})
    assert withdrawn.status_code == 303  # type: ignore[attr-defined]
    assert licence_svc.list_offers(ctx, people.operator, dataset_id)[0].withdrawn_at
    again = post(browser, "/offers", f"/offers/{offer.id}/withdraw", {})
    assert again.status_code == 409 and 'role="alert"' in again.text  # type: ignore[attr-defined]
    sign_in(browser, people, "operator")
    assert browser.get(f"/royalties?org_id={people.orgs['p']}").status_code == 200
