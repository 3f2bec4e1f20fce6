"""Deadline, queueing-delay and identical-schedule metrics; deadlines from each trace format;
the fractions reused by time-independent policies give the same schedule as recomputing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from aicenter.scheduler import (
    ChipDemand,
    Job,
    Pool,
    SchedulerConfig,
    Snapshot,
    ThroughputMatrix,
    build_policy,
)
from aicenter.scheduler.lp import FloatArray
from aicenter.scheduler.policies.fifo import FifoObjective
from aicenter.scheduler.problem import Problem
from aicenter.scheduler.rounds import RoundScheduler
from aicenter.simulator.cluster import parse_cluster
from aicenter.simulator.engine import SimulationResult, simulate
from aicenter.simulator.gavel import read_gavel_throughputs, read_gavel_trace
from aicenter.simulator.metrics import identical_schedules, summarize
from aicenter.simulator.sacct import read_sacct
from aicenter.simulator.trace import Trace
from tests.conftest import EXAMPLES
from tests.simulator.test_readers import GOOD, gavel_line, sacct_matrix, write

MATRIX = ThroughputMatrix({("m", "gpu", 1): 1.0})
ONE_CHIP = Snapshot((Pool("gpu", "gpu", 1, 1),))


def job(jid: str, work: float, arrival: float = 0.0, deadline: float | None = None) -> Job:
    return Job(jid, "t", "m", (ChipDemand("gpu", 1),), work, arrival, deadline_s=deadline)


def run(*jobs: Job, policy: str = "fifo") -> SimulationResult:
    config = SchedulerConfig()
    return simulate(Trace("t", jobs), ONE_CHIP, build_policy(policy, MATRIX, config), MATRIX,
                    config)


def test_queueing_delay_and_deadlines_on_one_chip() -> None:
    # FIFO on one chip: a runs 0-720 s, b waits and runs 720-1440 s.
    result = run(job("a", 720.0, deadline=1000.0), job("b", 720.0, deadline=1000.0))
    s = summarize(result, MATRIX)
    assert [r.queue_delay_s for r in result.jobs] == [0.0, 720.0]
    assert s["queue_delay_p50_hours"] == pytest.approx(360.0 / 3600.0)
    assert s["queue_delay_p99_hours"] == pytest.approx(0.99 * 720.0 / 3600.0)
    assert s["deadline_jobs"] == 2
    assert s["deadline_misses"] == 1
    assert s["deadline_miss_rate"] == pytest.approx(0.5)
    assert s["mean_tardiness_hours"] == pytest.approx((0.0 + 440.0) / 2 / 3600.0)
    assert s["deadline_unfinished"] == 0


def test_no_deadlines_means_no_deadline_figures() -> None:
    s = summarize(run(job("a", 100.0)), MATRIX)
    assert s["deadline_jobs"] == 0
    assert s["deadline_misses"] is None and s["mean_tardiness_hours"] is None


def test_gavel_slo_becomes_a_deadline(tmp_path: Path) -> None:
    matrix = read_gavel_throughputs()
    text = "\n".join([gavel_line(slo="2.0", arrival="100.0"), gavel_line(arrival="200.0")])
    trace = read_gavel_trace(write(tmp_path, "t.trace", text), matrix)
    steps = float(GOOD.split("\t")[5])
    v100_s = steps / matrix.rate("ResNet-18 (batch size 64)", "v100", 1)
    assert trace.jobs[0].deadline_s == pytest.approx(100.0 + 2.0 * v100_s)
    assert trace.jobs[1].deadline_s is None  # slo -1: none


def test_sacct_deadline_column(tmp_path: Path) -> None:
    header = "JobID|User|Account|Submit|Start|End|AllocTRES|Deadline"
    text = "\n".join([
        header,
        "1|u|a|2024-05-01T09:00:00|2024-05-01T09:00:00|2024-05-01T10:00:00|gres/gpu:a100=1|"
        "2024-05-01T12:00:00",
        "2|u|a|2024-05-01T09:30:00|2024-05-01T09:30:00|2024-05-01T10:00:00|gres/gpu:a100=1|"
        "Unknown",
    ])
    trace = read_sacct(write(tmp_path, "s.txt", text), sacct_matrix(), ["a100", "v100"])
    assert [j.deadline_s for j in trace.jobs] == [3 * 3600.0, None]


def test_identical_schedules_are_grouped() -> None:
    # One job alone: every policy places it the same way in every round.
    jobs = (job("a", 1000.0),)
    results = [run(*jobs, policy=p) for p in ("fifo", "fair_share", "max_min_agnostic")]
    assert identical_schedules(results) == [["fifo", "fair_share", "max_min_agnostic"]]
    different = run(job("a", 1000.0), job("b", 500.0, arrival=10.0))
    assert different.schedule_digest != results[0].schedule_digest


@dataclass
class AlwaysRecomputed:
    """FIFO's objective declared time-dependent: its fractions are computed every round."""

    inner: FifoObjective
    resolve_every_round: bool = True
    depends_on_time: bool = True
    calls: int = 0

    def fractions(self, problem: Problem) -> FloatArray:
        self.calls += 1
        return self.inner.fractions(problem)


@dataclass
class Counted(AlwaysRecomputed):
    depends_on_time: bool = False


def test_reused_fractions_give_the_same_schedule_on_a_gavel_trace() -> None:
    matrix = read_gavel_throughputs()
    trace = read_gavel_trace(EXAMPLES / "traces" / "gavel" / "physical_las.trace", matrix)
    snapshot = parse_cluster("v100=8,p100=16,k80=24", matrix.chip_types)
    config = SchedulerConfig()
    digests, calls = [], []
    for objective in (AlwaysRecomputed(FifoObjective()), Counted(FifoObjective())):
        policy = RoundScheduler("fifo", objective, matrix, config)
        result = simulate(trace, snapshot, policy, matrix, config)
        digests.append(result.schedule_digest)
        calls.append(objective.calls)
    assert digests[0] == digests[1]
    assert calls[1] < calls[0]  # the cache applied
