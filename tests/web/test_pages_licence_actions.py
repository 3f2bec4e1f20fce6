"""The rest of a licence's life in the browser, through the forms: the provider announces a new
price ahead (refused without the notice period; both sides then see the price and its date),
the licensee renews (at the price in effect then; twice is refused), a mutual end (asked by
one side, completed by the other), a termination for cause (refused without the cause), and
neither form for an organisation that is no party. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from aicenter.services import dataset as dataset_svc
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


def _offer(people: People, tmp_path: Path) -> str:
    """A per-GB offer (1,000 KRW) of a provider's dataset for a year, made by the service."""
    source = tmp_path / "news.jsonl"
    source.write_text("".join(json.dumps({"text": f"기사 {i}번의 본문입니다."},
                                         ensure_ascii=False) + "\n" for i in range(3)),
                      encoding="utf-8")
    provider = people.callers["provider"]
    dataset_svc.upload(people.ctx, provider, dataset_svc.UploadRequest(
        "news", "news.jsonl", licence_text="proprietary"), source)
    today = people.ctx.clock.now().date()
    offer = licence_svc.create_offer(people.ctx, provider, "news", {
        "purposes": ["pre-training"], "term_start": str(today),
        "term_end": str(today + timedelta(days=365)), "territory": ["KR"],
        "model_release": "internal-only", "price": {"basis": "per-gb", "amount": "1000"}})
    return offer.id


def test_a_price_is_announced_ahead_and_renewals_pay_it(browser: TestClient, people: People,
                                                         tmp_path: Path) -> None:
    ctx = people.ctx
    offer_id = _offer(people, tmp_path)
    first = licence_svc.accept(ctx, people.callers["member"], offer_id, "pre-training")
    today = ctx.clock.now().date()
    notice = ctx.settings.exchange_price_notice_days
    effective = today + timedelta(days=notice)

    sign_in(browser, people, "provider")
    listed = browser.get("/offers")
    assert "Announce a new price" in listed.text and f'min="{effective}"' in listed.text
    change = {"price_basis": "per-gb", "price_amount": "2500",
              "effective_from": str(effective)}
    early = post(browser, "/offers", f"/offers/{offer_id}/price",
                 {**change, "effective_from": str(effective - timedelta(days=1))})
    assert early.status_code == 422 and f"{notice} days' notice" in early.text  # type: ignore[attr-defined]
    other_basis = post(browser, "/offers", f"/offers/{offer_id}/price",
                       {**change, "price_basis": "flat"})
    assert other_basis.status_code == 422 and "same basis" in other_basis.text  # type: ignore[attr-defined]
    bad_amount = post(browser, "/offers", f"/offers/{offer_id}/price",
                      {**change, "price_amount": "lots"})
    assert bad_amount.status_code == 422 and "price.amount" in bad_amount.text  # type: ignore[attr-defined]
    assert not licence_svc.get_offer(ctx, people.operator, offer_id).price_changes
    made = post(browser, "/offers", f"/offers/{offer_id}/price", change)
    assert made.status_code == 303, made.text  # type: ignore[attr-defined]
    announced = licence_svc.get_offer(ctx, people.operator, offer_id).price_changes
    assert [(c.price.amount.amount, c.effective_from) for c in announced] == [(2500, effective)]
    shown = browser.get(made.headers["location"])  # type: ignore[attr-defined]
    assert "The new price is announced" in shown.text
    assert "₩1,000" in shown.text and f"₩2,500 from {effective:%b} {effective.day}, " \
        f"{effective.year}" in shown.text

    sign_in(browser, people, "member")  # the tenant sees the coming price, and no price form
    offers = browser.get("/offers")
    assert "₩2,500 from" in offers.text and "Announce a new price" not in offers.text
    assert "₩2,500 from" in browser.get("/datasets/news").text  # on the dataset's page too
    refused = post(browser, "/offers", f"/offers/{offer_id}/price", change)
    assert refused.status_code in (403, 404) and 'role="alert"' in refused.text  # type: ignore[attr-defined]
    page = browser.get(f"/agreements/{first.id}")
    assert "Renew the agreement" in page.text and "₩1,000 per-gb" in page.text
    assert "Ask for a mutual end" in page.text and "Terminate for cause" not in page.text

    ctx.clock.advance((notice + 1) * 86400)  # the new price is in effect: a renewal pays it
    sign_in(browser, people, "member")  # (the session ended while idle)
    renewed = post(browser, f"/agreements/{first.id}", f"/agreements/{first.id}/renew", {})
    assert renewed.status_code == 303, renewed.text  # type: ignore[attr-defined]
    renewal_id = renewed.headers["location"].split("?")[0].rsplit("/", 1)[1]  # type: ignore[attr-defined]
    renewal = licence_svc.get_agreement(ctx, people.operator, renewal_id)
    assert renewal.renewed_from == first.id and renewal.offer.price.amount.amount == 2500
    assert licence_svc.get_agreement(ctx, people.operator, first.id).offer.price.amount \
        .amount == 1000  # the first keeps its price
    new_page = browser.get(renewed.headers["location"])  # type: ignore[attr-defined]
    assert "The agreement is renewed" in new_page.text and f"/agreements/{first.id}" in \
        new_page.text
    old_page = browser.get(f"/agreements/{first.id}")
    assert f'href="/agreements/{renewal_id}"' in old_page.text
    assert "Renew the agreement" not in old_page.text
    again = post(browser, f"/agreements/{first.id}", f"/agreements/{first.id}/renew", {})
    assert again.status_code == 409 and "already renewed" in again.text  # type: ignore[attr-defined]


def test_an_agreement_ends_mutually_or_for_cause(browser: TestClient, people: People,
                                                  tmp_path: Path) -> None:
    ctx = people.ctx
    offer_id = _offer(people, tmp_path)
    one = licence_svc.accept(ctx, people.callers["member"], offer_id, "pre-training")
    two = licence_svc.accept(ctx, people.callers["startup"], offer_id, "pre-training")

    sign_in(browser, people, "startup")  # no party to the member's agreement
    assert browser.get(f"/agreements/{one.id}").status_code == 404
    outsider = post(browser, f"/agreements/{two.id}", f"/agreements/{one.id}/terminate",
                    {"kind": "mutual"})
    assert outsider.status_code in (403, 404)  # type: ignore[attr-defined]
    assert licence_svc.get_agreement(ctx, people.operator, one.id).end_requested_by == \
        frozenset()

    sign_in(browser, people, "member")
    asked = post(browser, f"/agreements/{one.id}", f"/agreements/{one.id}/terminate",
                 {"kind": "mutual", "reason": "project ended"})
    assert asked.status_code == 303, asked.text  # type: ignore[attr-defined]
    after = browser.get(asked.headers["location"])  # type: ignore[attr-defined]
    assert "request for a mutual end is recorded" in after.text
    assert "Mutual end asked by" in after.text and "Ask for a mutual end" not in after.text
    still = licence_svc.get_agreement(ctx, people.operator, one.id)
    assert still.terminated_at is None and still.end_requested_by == {people.orgs["a"]}
    assert "mutual end asked" in browser.get("/agreements").text
    cause = post(browser, f"/agreements/{one.id}", f"/agreements/{one.id}/terminate",
                 {"kind": "cause", "reason": "we changed our mind"})
    assert cause.status_code == 422 and "only the provider" in cause.text  # type: ignore[attr-defined]
    bad_kind = post(browser, f"/agreements/{one.id}", f"/agreements/{one.id}/terminate",
                    {"kind": "whenever"})
    assert bad_kind.status_code == 422 and 'role="alert"' in bad_kind.text  # type: ignore[attr-defined]

    sign_in(browser, people, "provider")
    page = browser.get(f"/agreements/{one.id}")
    assert "Agree to end it" in page.text and "Terminate for cause" in page.text
    assert "Renew the agreement" not in page.text  # the licensee's, not the provider's
    agreed = post(browser, f"/agreements/{one.id}", f"/agreements/{one.id}/terminate",
                  {"kind": "mutual"})
    assert agreed.status_code == 303  # type: ignore[attr-defined]
    ended = licence_svc.get_agreement(ctx, people.operator, one.id)
    assert ended.terminated_at == ctx.clock.now() and ended.termination is not None
    assert ended.termination.value == "mutual"
    assert "The agreement is terminated" in browser.get(agreed.headers["location"]).text  # type: ignore[attr-defined]

    no_cause = post(browser, f"/agreements/{two.id}", f"/agreements/{two.id}/terminate",
                    {"kind": "cause", "reason": " "})
    assert no_cause.status_code == 422 and "say the cause" in no_cause.text  # type: ignore[attr-defined]
    for_cause = post(browser, f"/agreements/{two.id}", f"/agreements/{two.id}/terminate",
                     {"kind": "cause", "reason": "records resold"})
    assert for_cause.status_code == 303  # type: ignore[attr-defined]
    assert licence_svc.get_agreement(ctx, people.operator, two.id).termination_reason == \
        "records resold"
    twice = post(browser, "/agreements", f"/agreements/{two.id}/terminate",
                 {"kind": "cause", "reason": "again"})
    assert twice.status_code == 409 and "already terminated" in twice.text  # type: ignore[attr-defined]

    sign_in(browser, people, "startup")  # a terminated agreement offers no renewal
    page = browser.get(f"/agreements/{two.id}")
    assert "records resold" in page.text and "Renew the agreement" not in page.text
    refused = post(browser, f"/agreements/{two.id}", f"/agreements/{two.id}/renew", {})
    assert refused.status_code == 409 and "cannot be renewed" in refused.text  # type: ignore[attr-defined]
    three = licence_svc.accept(ctx, people.callers["member"], offer_id, "pre-training")
    sign_in(browser, people, "provider")  # a withdrawn offer: no renewal either
    assert post(browser, "/offers", f"/offers/{offer_id}/withdraw", {}).status_code == 303  # type: ignore[attr-defined]
    sign_in(browser, people, "member")
    page = browser.get(f"/agreements/{three.id}")
    assert "The offer is withdrawn" in page.text and "Renew the agreement" not in page.text
    sign_in(browser, people, "operator")  # the center ends an agreement for cause too
    page = browser.get(f"/agreements/{three.id}")
    assert "Terminate for cause" in page.text and "Ask for a mutual end" not in page.text
    ended_by_center = post(browser, f"/agreements/{three.id}",
                           f"/agreements/{three.id}/terminate",
                           {"kind": "cause", "reason": "court order"})
    assert ended_by_center.status_code == 303  # type: ignore[attr-defined]
    assert licence_svc.get_agreement(ctx, people.operator, three.id).termination_reason == \
        "court order"
