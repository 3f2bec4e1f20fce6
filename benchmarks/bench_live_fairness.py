"""Benchmark: fairness of the live center over a busy hour, and how fast the chase team starts.

Run: .venv/bin/python benchmarks/bench_live_fairness.py [--policies finish_time_fair,fifo]
     [--minutes 60] [--chase-chips 4] [--database-url URL]

Everything goes through the live services (admission ``job.submit``, the scheduling loop's
``run_round``, shares set by ``share.set_share``) on the virtual backend and a manual clock
(one round a minute, metered every round), in a fresh database per scenario (SQLite in a
temporary directory, or a schema of its own in the PostgreSQL database ``--database-url``).

The center: two pools of 8 × nvidia-h100-sxm (16 H100e). Two organisations keep it busy for
the whole hour, each always with six jobs waiting: A runs 4-chip jobs of about 15 minutes and
submits its first dozen a round before B, which runs 2-chip jobs of about 10 minutes (so a
first-come queue would give A the head start). Printed per policy:

(a) A and B with equal guaranteed shares of 8 H100e each: the H100e-hours each used in the
    hour (usage records clipped to the hour) and the ratio larger/smaller;
(b) the same with equal shares of zero (no guarantees): fair share from decayed usage alone;
(c) the same center as (a) with a third organisation entitled to ``chase-team`` submitting a
    4-chip job (within the chase share, half of a pool) at minutes 20, 35 and 50 (right after
    a round): the seconds from each submission to its start (the engine's), and that in
    rounds.

Target (exit 1 if missed, for the default policy ``finish_time_fair`` only): ratio ≤ 1.10 in
(a), every chase-team job started within one round in (c). (b) is reported, not judged.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.database import fresh_database

from aicenter.domain.job import JobStatus, PriorityClass, parse_job_spec
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.domain.share import ShareHolder
from aicenter.server.runtime import attach_backend
from aicenter.services import call as call_svc
from aicenter.services import grant as grant_svc
from aicenter.services import job as job_svc
from aicenter.services import org as org_svc
from aicenter.services import pool as pool_svc
from aicenter.services import share as share_svc
from aicenter.services.clock import ManualClock
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.org import bootstrap_operator
from aicenter.services.scheduling import make_policy, run_round
from aicenter.settings import Settings
from aicenter.storage import Database

CHIP = "nvidia-h100-sxm"
ROUND_S = 60.0
BACKLOG = 6
"""Jobs each busy organisation keeps waiting."""
CHASE_AT_MIN = (20, 35, 50)
CHASE_CHIPS = 4
"""A chase-team job within the team's guaranteed share of one pool (``chase_share`` 0.5 of
8 chips): one larger than that is not guaranteed a start."""


@dataclass
class Tenant:
    name: str
    member: Caller
    org_id: str
    grant_id: str
    chips: int
    minutes: float
    priority: str = "normal"
    jobs: list[str] = field(default_factory=list)


@dataclass
class Center:
    ctx: ServiceContext
    clock: ManualClock
    operator: Caller
    busy: list[Tenant]


def open_center(db: Database, home: Path, policy: str) -> Center:
    clock = ManualClock()
    ctx = ServiceContext(db=db, settings=Settings(home=home, database_url=db.url), clock=clock)
    ctx.settings.backend = "virtual"
    ctx.settings.scheduler_policy = policy
    ctx.settings.scheduler_interval_s = ROUND_S
    ctx.settings.metering_interval_s = ROUND_S
    boot = bootstrap_operator(ctx)
    assert boot is not None
    operator = Caller(boot[0])
    pool_svc.add_pool(ctx, operator, CHIP, 8, "haenam", pool_id="h100-a")
    pool_svc.add_pool(ctx, operator, CHIP, 8, "gwangju", pool_id="h100-b")
    attach_backend(ctx)
    center = Center(ctx, clock, operator, [])
    center.busy = [tenant(center, "A", 4, 15.0), tenant(center, "B", 2, 10.0)]
    return center


def tenant(center: Center, name: str, chips: int, minutes: float,
           priority: str = "normal") -> Tenant:
    """An organisation with a member and a grant large enough never to run out."""
    ctx, operator = center.ctx, center.operator
    call = call_svc.open_call(ctx, operator, call_svc.CallRequest(
        f"call {secrets.token_hex(3)}", frozenset(OrgClass) - {OrgClass.OPERATOR}, {CHIP: 64}))
    org = org_svc.create_org(ctx, operator, f"Org {name}", OrgClass.SME)
    member = Caller(org_svc.add_person(ctx, operator, org.id, name,
                                       f"{name.lower()}{secrets.token_hex(3)}@x.kr",
                                       Role.MEMBER))
    app = call_svc.apply(ctx, member, call.id, org.id, "LLM", {CHIP: 16}, 6, Decimal(5000))
    grant = grant_svc.award(ctx, operator, app.id, Decimal(5000), without_review="benchmark")
    if priority != "normal":
        org_svc.entitle(ctx, operator, org.id, PriorityClass(priority))
    return Tenant(name, member, org.id, grant.grant.id, chips, minutes, priority)


def submit(center: Center, who: Tenant) -> str:
    # work in H100e-seconds: the job's minutes on its chips at one H100e a chip
    work = who.chips * who.minutes * 60
    spec = parse_job_spec(
        f"name: {who.name.lower()}\ncommand: 'true'\npriority: {who.priority}\n"
        f"resources: [{{chip: {CHIP}, count: {who.chips}}}]\nmax_duration: 2h\n"
        f"env: {{SIM_WORK_H100_S: '{work:g}'}}\n")
    job, _ = job_svc.submit(center.ctx, who.member, spec, grant_id=who.grant_id)
    who.jobs.append(job.id)
    return job.id


def top_up(center: Center, who: Tenant) -> None:
    with center.ctx.db.transaction(write=False) as tx:
        waiting = sum(1 for j in tx.jobs.list(statuses=[JobStatus.QUEUED])
                      if j.org_id == who.org_id)
    for _ in range(BACKLOG - waiting):
        submit(center, who)


def used_h100e_h(center: Center, who: Tenant, start: datetime, end: datetime) -> float:
    """H100e-hours of the organisation's usage records inside [start, end]."""
    with center.ctx.db.transaction(write=False) as tx:
        records = tx.usage.list(org_id=who.org_id)
    total = 0.0
    for r in records:
        span = (r.interval_end - r.interval_start).total_seconds()
        inside = (min(r.interval_end, end) - max(r.interval_start, start)).total_seconds()
        if span > 0 and inside > 0:
            total += float(r.h100e_seconds) * inside / span
    return total / 3600


def busy_hour(center: Center, minutes: int, chase: Tenant | None = None
              ) -> tuple[datetime, datetime, list[tuple[str, datetime]]]:
    """A and B keep the center busy for ``minutes`` (A's first dozen a round before B's);
    ``chase`` submits at CHASE_AT_MIN. Returns the hour's start, end and the chase jobs with
    their submission times."""
    first = center.busy[0]
    policy = make_policy(center.ctx)
    start = center.clock.now()
    for _ in range(12):
        submit(center, first)
    run_round(center.ctx, policy)
    chased: list[tuple[str, datetime]] = []
    for minute in range(1, minutes + 1):
        for who in center.busy:
            top_up(center, who)
        if chase is not None and minute in CHASE_AT_MIN:
            chased.append((submit(center, chase), center.clock.now()))
        center.clock.advance(ROUND_S)
        run_round(center.ctx, policy)
    end = center.clock.now()
    run_round(center.ctx, policy)  # the last minute's records (poll meters to now)
    return start, end, chased


def fairness(db: Database, home: Path, policy: str, minutes: int, share: int
             ) -> tuple[str, float]:
    center = open_center(db, home, policy)
    for who in center.busy:
        share_svc.set_share(center.ctx, center.operator, ShareHolder.ORG, who.org_id,
                            Decimal(share))
    start, end, _ = busy_hour(center, minutes)
    used = [used_h100e_h(center, who, start, end) for who in center.busy]
    ratio = max(used) / min(used) if min(used) > 0 else float("inf")
    capacity = 16 * minutes / 60
    return (f"shares {share}+{share} H100e: A {used[0]:.2f} h100e-h, B {used[1]:.2f} "
            f"h100e-h of {capacity:.0f} ({sum(used) / capacity:.0%} busy), ratio "
            f"{ratio:.3f}"), ratio


def chase_start(db: Database, home: Path, policy: str, minutes: int,
                chips: int = CHASE_CHIPS) -> tuple[str, float]:
    center = open_center(db, home, policy)
    for who in center.busy:
        share_svc.set_share(center.ctx, center.operator, ShareHolder.ORG, who.org_id,
                            Decimal(8))
    chase = tenant(center, "Chase", chips, 5.0, priority="chase-team")
    _, _, chased = busy_hour(center, minutes, chase)
    waits = []
    with center.ctx.db.transaction(write=False) as tx:
        for job_id, submitted in chased:
            job = tx.jobs.get(job_id)
            assert job is not None
            if job.started_at is None:
                print(f"    chase job {job.id}: {job.status}, {job.pending_reason}, "
                      f"{job.message!r}")
            waits.append(float("inf") if job.started_at is None
                         else (job.started_at - submitted).total_seconds())
    text = ", ".join(f"{w:.0f} s ({w / ROUND_S:.1f} rounds)" for w in waits) or "none"
    return (f"chase-team {chips}-chip jobs submitted at minutes "
            f"{', '.join(str(m) for m in CHASE_AT_MIN if m <= minutes)}: started after "
            f"{text}"), max(waits, default=0.0) / ROUND_S


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policies", default="finish_time_fair,fifo")
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--chase-chips", type=int, default=CHASE_CHIPS,
                        help="chips of each chase-team job in (c)")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL database (each scenario in a schema of its own); "
                        "default: SQLite in a temporary directory")
    args = parser.parse_args()
    failed = False
    for policy in args.policies.split(","):
        print(f"policy {policy}:", flush=True)
        for label in ("(a)", "(b)", "(c)"):
            with tempfile.TemporaryDirectory() as tmp, \
                    fresh_database(args.database_url, Path(tmp), prefix="bench") as db:
                home = Path(tmp) / "home"
                if label == "(c)":
                    line, figure = chase_start(db, home, policy, args.minutes,
                                               args.chase_chips)
                else:
                    line, figure = fairness(db, home, policy, args.minutes,
                                            8 if label == "(a)" else 0)
            print(f"  {label} {line}", flush=True)
            if policy == "finish_time_fair":
                failed |= (label == "(a)" and figure > 1.10) or (label == "(c)" and figure > 1)
    print("target (finish_time_fair): (a) ratio <= 1.10; (c) every chase-team job started "
          "within one round")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
