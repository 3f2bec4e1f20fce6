"""Benchmark: the live server replays a synthetic trace and is compared with the simulator.

Run: .venv/bin/python benchmarks/bench_live_replay.py [--jobs 80] [--jobs-per-hour 12]
     [--seed 7] [--policy fifo,finish_time_fair] [--database-url URL]

For each policy, a fresh center (SQLite in a temporary directory, or a schema of its own in
the PostgreSQL database ``--database-url``) with pools of 8 × nvidia-h100-sxm, amd-mi300x and
nvidia-a100-80gb runs Gavel's synthetic trace (Poisson arrivals, Philly durations scaled by
0.05 and rounded to whole seconds on the H100, gangs of 1/2/4/8, dense and MoE training; each
job's spec states its duration as ``estimated_duration``) on the virtual backend and a
manual clock, driven as the simulator drives its own
(see ``tests/services/test_live_replay.py``); then ``simulate()`` replays the same jobs on the
same cluster with the same policy. Printed per policy: jobs, mean and max |ΔJCT| (seconds),
average JCT on both sides (hours), virtual time covered and the wall time of the live replay.

Target (exit 1 if missed): max |ΔJCT| ≤ 1 ms for every policy asked for (the tolerance of
the test: both sides do the same arithmetic, the live side rounds times to the microsecond).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# The replay driver and the fresh database are the tests' own (tests/services/test_live_replay.py,
# tests/support/database.py): importing them keeps the benchmark and the test one program.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.services.test_live_replay import (
    JCT_TOLERANCE_S,
    REPLAY_POOLS,
    replay_and_compare,
    synthetic_jobs,
)
from tests.support.database import fresh_database

from aicenter.scheduler import ThroughputMatrix
from aicenter.services.clock import ManualClock
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.org import bootstrap_operator
from aicenter.settings import Settings
from aicenter.storage import Database


def run(policy: str, jobs: int, jobs_per_hour: float, seed: int, url: str | None,
        home: Path) -> str:
    """One live replay and its comparison; the printed line (and whether it is in target)."""
    with fresh_database(url, home, prefix="bench") as db:
        return _replay(db, policy, jobs, jobs_per_hour, seed, home)


def _replay(db: Database, policy: str, jobs: int, jobs_per_hour: float, seed: int,
            home: Path) -> str:
    ctx = ServiceContext(db=db, settings=Settings(home=home / "home", database_url=db.url),
                         clock=ManualClock())
    boot = bootstrap_operator(ctx)
    assert boot is not None
    matrix = ThroughputMatrix.from_performance(ctx.performance)
    trace = synthetic_jobs(jobs, seed, matrix, jobs_per_hour)
    started = time.perf_counter()
    result = replay_and_compare(ctx, Caller(boot[0]), policy, trace, REPLAY_POOLS)
    wall = time.perf_counter() - started
    ok = result.max_abs_s <= JCT_TOLERANCE_S
    return (f"{result.line()}, {result.rounds_s / 3600:.1f} h of virtual time in {wall:.1f} s"
            f" — {'ok' if ok else 'OUT OF TOLERANCE'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=80)
    parser.add_argument("--jobs-per-hour", type=float, default=12.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--policy", default="fifo,finish_time_fair")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL database (each policy in a schema of its own) or "
                        "an empty SQLite one (default: SQLite in a temp dir)")
    args = parser.parse_args()
    failed = False
    for policy in args.policy.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            line = run(policy, args.jobs, args.jobs_per_hour, args.seed, args.database_url,
                       Path(tmp))
        print(line, flush=True)
        failed |= not line.endswith("ok")
    print(f"tolerance: max |ΔJCT| ≤ {JCT_TOLERANCE_S * 1000:g} ms per job")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
