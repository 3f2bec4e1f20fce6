"""``aicenter dataset upload|list|show|offer|licence|usage|statement`` against a real server: a
publisher uploads and offers, a university licenses, a job reads through the center's reader,
and the metered use shows up in usage and in the publisher's royalty statement."""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest


@pytest.fixture
def server(live_center) -> str:  # type: ignore[no-untyped-def]
    return str(live_center(scheduler_interval_s=0.2, metering_interval_s=0.5).operator_token)


def _articles(path: Path, n: int) -> None:
    rng = random.Random(3)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            words = " ".join("".join(chr(0xAC00 + rng.randrange(11172)) for _ in range(3))
                             for _ in range(25))
            f.write(json.dumps({"text": f"기사 {i} {words}", "url": f"https://n.kr/{i}"},
                               ensure_ascii=False) + "\n")


def test_exchange_through_the_cli(server: str, cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from aicenter.client import Client

    with Client() as op:
        op.add_pool("nvidia-h100-sxm", 8)
        assert [p.country for p in op.list_pools()] == ["KR"]
        call = op.open_call("call", ["university"], {"nvidia-h100-sxm": 64})
        news = op.create_org("Daily News", "enterprise")
        uni = op.create_org("Busan Uni", "university")
        publisher = op.add_person(news.id, "Lee", "lee@news.kr", "data-provider")
        student = op.add_person(uni.id, "Park", "park@bu.kr", "member")
        publisher_token = op.create_token(publisher.id, "cli").secret
        student_token = op.create_token(student.id, "cli").secret
        app = op.apply(call.id, "llm", {"nvidia-h100-sxm": 8}, 3, 10, org_id=uni.id)
        op.review(app.id, 7, 7, 7)
        op.award_grant(app.id, 10)
    source = tmp_path / "articles.jsonl"
    _articles(source, 30)

    monkeypatch.setenv("AICENTER_TOKEN", publisher_token or "")
    up = cli("dataset", "upload", str(source), "--name", "daily-news", "--licence", "proprietary",
             "--format", "json")
    assert up.code == 0, up.err
    assert json.loads(up.out)["records"] == 30
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": "ok"}\n{"text": oops\n', encoding="utf-8")
    bad = cli("dataset", "upload", str(broken), "--name", "broken", "--licence", "x",
              "--format", "json")
    assert bad.code == 1 and json.loads(bad.out)["status"] == "failed"
    assert json.loads(bad.out)["message"].startswith("broken.jsonl:2: not JSON")
    listed = json.loads(cli("dataset", "uploads", "--format", "json").out)
    assert [u["status"] for u in listed] == ["succeeded", "failed"]
    assert "daily-news" in cli("dataset", "list").out
    shown = json.loads(cli("dataset", "show", "daily-news", "--format", "json").out)
    assert shown["stats"]["records"] == 30 and "pii_report" in shown
    today = datetime.now(UTC).date()
    offered = cli("dataset", "offer", "daily-news", "--purpose", "pre-training", "--term-start",
                  str(today - timedelta(days=1)), "--term-end", str(today + timedelta(days=30)),
                  "--price", "1000000", "--basis", "per-million-tokens", "--format", "json")
    assert offered.code == 0, offered.err
    offer_id = json.loads(offered.out)["id"]

    monkeypatch.setenv("AICENTER_TOKEN", student_token or "")
    spec = tmp_path / "job.yaml"
    spec.write_text(
        "name: reader\ncommand: >-\n  " + sys.executable + " -c \"from aicenter.exchange.reader "
        "import open_dataset; print('read', sum(1 for _ in open_dataset('daily-news')))\"\n"
        "resources: [{chip: nvidia-h100-sxm, count: 1}]\nmax_duration: 2m\n"
        "datasets: [daily-news]\n")
    refused = cli("job", "submit", str(spec))
    assert refused.code == 1 and "no-agreement" in refused.err
    licensed = cli("dataset", "licence", offer_id, "--format", "json")
    assert licensed.code == 0, licensed.err
    agreement_id = json.loads(licensed.out)["id"]
    contract = cli("dataset", "contract", agreement_id)
    assert contract.code == 0 and "Daily News" in contract.out
    job_id = json.loads(cli("job", "submit", str(spec), "--format", "json").out)["id"]
    with Client() as me:
        assert me.wait_for_job(job_id, 60).status == "succeeded"
        assert "read 30" in me.job_logs(job_id).text
    reads = json.loads(cli("dataset", "usage", "--format", "json").out)
    assert [(r["job_id"], r["records"]) for r in reads] == [(job_id, 30)]

    monkeypatch.setenv("AICENTER_TOKEN", publisher_token or "")
    month = today.strftime("%Y-%m")
    statement = json.loads(cli("dataset", "statement", month, "--format", "json").out)
    assert statement["matches"] is True
    line = statement["ledger"]["lines"][0]
    assert line["tokens"] == reads[0]["tokens"] and line["gross_krw"] == str(reads[0]["tokens"])
    assert "audit log agrees" in cli("dataset", "statement", month).out
