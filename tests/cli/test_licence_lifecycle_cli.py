"""``aicenter dataset upload --tdm-covered|offer --offered-to|offers|withdraw|price|terminate|
renew`` against a real server: a TDM-reserved record is kept only under a covering licence; a
private offer is invisible (404) to the organisation it is not made to; a price change is
announced and shown; an agreement terminated for cause is not renewed (409 with the reason);
another organisation withdrawing the offer is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

POLICY = "https://news.kr/tdm-policy"


@pytest.fixture
def server(live_center) -> str:  # type: ignore[no-untyped-def]
    return str(live_center(scheduler_interval_s=0.5).operator_token)


def test_offer_and_agreement_life_through_the_cli(  # type: ignore[no-untyped-def]
        server: str, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aicenter.client import Client

    with Client() as op:
        news = op.create_org("Daily News", "enterprise")
        lab = op.create_org("Lab", "university")
        rival = op.create_org("Rival", "startup")
        tokens = {}
        for org, role, email in ((news, "data-provider", "p@news.kr"),
                                 (lab, "member", "m@lab.kr"), (rival, "org-admin", "a@r.kr")):
            person = op.add_person(org.id, email, email, role)
            tokens[org.name] = op.create_token(person.id, "cli").secret or ""
    source = tmp_path / "a.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in (
        {"text": "공개 기사 본문"},
        {"text": "유보된 기사 본문", "tdm-reservation": 1, "tdm-policy": POLICY})),
        encoding="utf-8")

    monkeypatch.setenv("AICENTER_TOKEN", tokens["Daily News"])
    up = cli("dataset", "upload", str(source), "--name", "news", "--licence", "proprietary",
             "--tdm-covered", POLICY, "--format", "json")
    assert up.code == 0, up.err
    assert json.loads(up.out)["records"] == 2  # the reserved record is covered: kept
    today = datetime.now(UTC).date()
    offered = cli("dataset", "offer", "news", "--purpose", "pre-training",
                  "--term-start", str(today - timedelta(days=1)),
                  "--term-end", str(today + timedelta(days=365)), "--price", "1000",
                  "--offered-to", lab.id, "--format", "json")
    assert offered.code == 0, offered.err
    offer_id = json.loads(offered.out)["id"]
    priced = cli("dataset", "price", offer_id, "--price", "1500", "--effective-from",
                 str(today + timedelta(days=31)), "--format", "json")
    assert priced.code == 0, priced.err
    assert "1500 KRW from" in json.loads(priced.out)["announced"]
    early = cli("dataset", "price", offer_id, "--price", "9", "--effective-from", str(today))
    assert early.code == 1 and "30 days' notice" in early.err

    monkeypatch.setenv("AICENTER_TOKEN", tokens["Rival"])
    listed = cli("dataset", "offers", "--format", "json")
    assert listed.code == 0 and offer_id not in listed.out
    for args in (("withdraw", offer_id), ("licence", offer_id)):
        refused = cli("dataset", *args)
        assert refused.code == 1 and "not found" in refused.err, refused.err

    monkeypatch.setenv("AICENTER_TOKEN", tokens["Lab"])
    shown = cli("dataset", "offers", "--format", "json")
    assert shown.code == 0 and offer_id in shown.out and "1500" in shown.out
    licensed = cli("dataset", "licence", offer_id, "--format", "json")
    assert licensed.code == 0, licensed.err
    agreement_id = json.loads(licensed.out)["id"]
    assert json.loads(licensed.out)["price_krw"] == "1000"
    not_theirs = cli("dataset", "withdraw", offer_id)
    assert not_theirs.code == 1 and "may not" in not_theirs.err

    monkeypatch.setenv("AICENTER_TOKEN", tokens["Daily News"])
    ended = cli("dataset", "terminate", agreement_id, "--kind", "cause", "--reason",
                "redistributed", "--format", "json")
    assert ended.code == 0, ended.err
    assert json.loads(ended.out)["status"] == "terminated"
    withdrawn = cli("dataset", "withdraw", offer_id, "--format", "json")
    assert withdrawn.code == 0 and json.loads(withdrawn.out)["status"] == "withdrawn"

    monkeypatch.setenv("AICENTER_TOKEN", tokens["Lab"])
    renewed = cli("dataset", "renew", agreement_id)
    assert renewed.code == 1
    assert "terminated for cause" in renewed.err and "redistributed" in renewed.err
    held = cli("dataset", "agreements", "--format", "json")
    assert held.code == 0 and json.loads(held.out)[0]["status"] == "terminated"
