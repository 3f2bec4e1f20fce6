"""Why queued jobs wait, through a real server's API and ``aicenter job list|show`` (issue 12:
Slurm-like pending reasons), on SQLite and PostgreSQL.

The server is the one ``aicenter serve`` builds (:func:`aicenter.server.process.build_server`)
on a manual clock with the virtual backend, served on a loopback port; the test runs its
scheduling rounds itself (the loop would on the wall clock), then reads every reason over
HTTP and through the CLI. One round puts each reason in the situation that causes it:

* ``Resources``: two 8-chip H200 jobs wait for the pool's 8 H200, which a shorter running job
  holds; the first in line waits for the chips...
* ``Priority``: ...and the second waits behind it;
* ``ChipCapReached``: a grant awarded 4 H100 runs one 4-chip job; its second waits although
  8 H100 are idle;
* ``QuotaExhausted``: a job queued on a one-month grant that has since ended;
* ``Residency``: a 16-H100 job reading a dataset tagged domestic: only the US pool has 16.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aicenter.client import Client
from aicenter.domain.job import parse_job_spec
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.server.process import Server, build_server
from aicenter.server.runtime import attach_backend
from aicenter.services import call as call_svc
from aicenter.services import dataset as dataset_svc
from aicenter.services import grant as grant_svc
from aicenter.services import job as job_svc
from aicenter.services import licence as licence_svc
from aicenter.services import org as org_svc
from aicenter.services import pool as pool_svc
from aicenter.services.clock import ManualClock
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.scheduling import make_policy, run_round
from aicenter.settings import Settings
from tests.services.fixtures import database_url_fixture  # noqa: F401
from tests.services.test_exchange_flow import ARTICLES
from tests.support.live_server import LiveServer

H100, H200 = "nvidia-h100-sxm", "nvidia-h200"
ROUND_S = 360.0


@dataclass
class Center:
    server: Server
    clock: ManualClock
    operator: Caller

    @property
    def ctx(self) -> ServiceContext:
        return self.server.ctx


@pytest.fixture
def center(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[Center]:
    clock = ManualClock()
    settings = Settings(home=tmp_path / "home", database_url=database_url, backend="virtual",
                        scheduler_interval_s=ROUND_S, metering_interval_s=ROUND_S)
    built = build_server(settings, clock, run_loop=False)
    try:
        with LiveServer(built.app) as live:
            monkeypatch.setenv("AICENTER_URL", live.url)
            monkeypatch.setenv("AICENTER_TOKEN", built.operator_token or "")
            with built.ctx.db.transaction(write=False) as tx:
                person = tx.people.by_email("operator@center.local")
            assert person is not None
            yield Center(built, clock, Caller(person))
    finally:
        built.ctx.db.dispose()


def _org(c: Center, *, role: Role = Role.MEMBER, org_class: OrgClass = OrgClass.SME
         ) -> Caller:
    org = org_svc.create_org(c.ctx, c.operator, f"Org {secrets.token_hex(3)}", org_class)
    return Caller(org_svc.add_person(c.ctx, c.operator, org.id, "M",
                                     f"m{secrets.token_hex(3)}@x.kr", role))


def _grant(c: Center, who: Caller, call_id: str, chips: dict[str, int], months: int = 6
           ) -> None:
    app = call_svc.apply(c.ctx, who, call_id, who.org_id, "LLM", chips, months, Decimal(1000))
    grant_svc.award(c.ctx, c.operator, app.id, Decimal(1000), without_review="reasons test")


def _submit(c: Center, who: Caller, chip: str, count: int, hours: float, **extra: Any) -> str:
    spec = {"name": f"j{count}x{chip[-4:]}", "command": "true", "max_duration": "30h",
            "estimated_duration": f"{int(hours * 3600)}s",
            "resources": [{"chip": chip, "count": count}],
            "env": {"SIM_WORK_H100_S": repr(hours * 3600 * count)}, **extra}
    job, _ = job_svc.submit(c.ctx, who, parse_job_spec(json.dumps(spec)))
    return job.id


def _domestic_dataset(c: Center, reader: Caller, tmp: Path) -> None:
    """A dataset tagged domestic and an agreement for ``reader`` to pre-train on it."""
    provider = _org(c, role=Role.DATA_PROVIDER, org_class=OrgClass.ENTERPRISE)
    source = tmp / "articles.jsonl"
    source.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in ARTICLES),
                      encoding="utf-8")
    dataset = dataset_svc.upload(c.ctx, provider, dataset_svc.UploadRequest(
        "daily-news", "articles.jsonl", licence_text="proprietary", domestic=True), source)
    today = c.clock.now().date()
    offer = licence_svc.create_offer(c.ctx, provider, dataset.id, {
        "purposes": ["pre-training"], "term_start": str(today - timedelta(days=1)),
        "term_end": str(today + timedelta(days=365)), "territory": ["KR"],
        "price": {"basis": "per-million-tokens", "amount": "1000"}})
    licence_svc.accept(c.ctx, reader, offer.id, "pre-training")


def test_each_pending_reason_through_the_api_and_the_cli(center: Center, cli,  # type: ignore[no-untyped-def]
                                                         tmp_path: Path) -> None:
    c = center
    op = c.operator
    pool_svc.add_pool(c.ctx, op, H200, 8, "haenam", "KR", pool_id="h200-kr")
    pool_svc.add_pool(c.ctx, op, H100, 8, "haenam", "KR", pool_id="h100-kr")
    pool_svc.add_pool(c.ctx, op, H100, 16, "virginia", "US", pool_id="h100-us")
    call = call_svc.open_call(c.ctx, op, call_svc.CallRequest(
        "AI infra call", frozenset(OrgClass) - {OrgClass.OPERATOR}, {H100: 64, H200: 64})).id
    # a one-month grant, and a job queued on it that no round placed before it ended
    short = _org(c)
    _grant(c, short, call, {H100: 8}, months=1)
    ended = _submit(c, short, H100, 4, 1.0)
    c.clock.advance(40 * 86400.0)
    attach_backend(c.ctx)  # the pools, on the virtual backend at the server's clock
    normal, capped, reader = _org(c), _org(c), _org(c)
    _grant(c, normal, call, {H200: 24})  # the running job and both waiting ones at once
    _grant(c, capped, call, {H100: 4})
    _grant(c, reader, call, {H100: 16})
    _domestic_dataset(c, reader, tmp_path)
    policy = make_policy(c.ctx)
    holder = _submit(c, normal, H200, 8, 2.0)
    run_round(c.ctx, policy)
    c.clock.advance(ROUND_S)
    first = _submit(c, normal, H200, 8, 10.0)
    c.clock.advance(1.0)
    second = _submit(c, normal, H200, 8, 10.0)
    cap_runs, cap_waits = _submit(c, capped, H100, 4, 5.0), _submit(c, capped, H100, 4, 5.0)
    abroad = _submit(c, reader, H100, 16, 1.0, datasets=["daily-news"])
    c.clock.advance(ROUND_S - 1.0)
    run_round(c.ctx, policy)
    with Client() as client:  # the API, as the operator sees every organisation's jobs
        assert client.get_job(holder).status == "running"
        cap = {j: client.get_job(j).status for j in (cap_runs, cap_waits)}
        assert sorted(cap.values()) == ["queued", "running"], cap  # 4 of its 4 H100 held
        cap_waits = next(j for j, s in cap.items() if s == "queued")
        want = {first: "Resources", second: "Priority", cap_waits: "ChipCapReached",
                ended: "QuotaExhausted", abroad: "Residency"}
        queued = {j.id: j.pending_reason for j in client.list_jobs(status="queued")}
        assert queued == want, queued
        for job_id, reason in want.items():
            shown = client.get_job(job_id)
            assert (shown.status, shown.pending_reason) == ("queued", reason)
        assert client.get_job(holder).pending_reason is None

    listed = cli("job", "list", "--status", "queued", "--format", "json")
    assert listed.code == 0, listed.err
    assert {j["id"]: j["pending_reason"] for j in json.loads(listed.out)} == want
    table = cli("job", "list", "--status", "queued", "--wide")  # whole ids
    assert table.code == 0, table.err
    for job_id, reason in want.items():
        line = next(line for line in table.out.splitlines() if job_id in line)
        assert reason in line, (reason, line)
        shown = cli("job", "show", job_id, "--format", "json")
        assert shown.code == 0, shown.err
        assert json.loads(shown.out)["pending_reason"] == reason
        assert reason in cli("job", "show", job_id).out
