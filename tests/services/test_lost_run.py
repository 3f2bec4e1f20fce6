"""A run the backend reports LOST (the local runner killed with SIGKILL, so no exit is ever
recorded) goes back to the queue, runs again to its end, and is charged once: usage records
of the two attempts never overlap, the lost attempt is metered up to the round that noticed
the loss, and nothing of the lost run keeps running (or using its chips) unbilled."""

from __future__ import annotations

import itertools
import os
import signal
import time
from decimal import Decimal
from pathlib import Path

from aicenter.backends import RunHandle, RunState
from aicenter.backends.local.rundir import LAUNCH, LOG, RUNNER, is_same_process_alive, read_json
from aicenter.domain.job import JobStatus
from aicenter.services import job as job_svc
from aicenter.services.scheduling import RoundReport, make_policy, poll_running, run_round
from tests.services.test_job_flow import ledger_checks, live, run_until, spec  # noqa: F401

SLEEP_S = 4.0


def wait_for(path: Path, text: str | None = None, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and (text is None or text in path.read_text()):
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never showed {text!r}")


def test_lost_run_is_requeued_runs_again_and_is_charged_once(live) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    ctx, member, grant = live
    command = f"echo start $AICENTER_JOB_ID; sleep {SLEEP_S}; echo end"
    job, _ = job_svc.submit(ctx, member, spec(retries=0, command=command))
    first = run_until(ctx, job.id, {JobStatus.RUNNING})
    first_dir = Path(RunHandle.parse(first.handle).locator)
    wait_for(first_dir / LOG, "start")
    wait_for(first_dir / RUNNER)
    time.sleep(0.6)  # at least one metering interval of the first attempt
    policy = make_policy(ctx)
    run_round(ctx, policy)
    first = job_svc.get_job(ctx, member, job.id)  # the engine's start, seen by that poll
    assert first.started_at is not None

    runner = read_json(first_dir / LAUNCH)
    started = read_json(first_dir / RUNNER)
    assert runner is not None and started is not None
    os.kill(runner["runner_pid"], signal.SIGKILL)  # no exit.json will ever be written
    killed_at = time.time()
    deadline = time.monotonic() + 10
    while is_same_process_alive(runner["runner_pid"], runner["runner_ticks"]):
        assert time.monotonic() < deadline, "runner survived SIGKILL"
        time.sleep(0.02)
    assert ctx.backend.status(RunHandle.parse(first.handle)).state is RunState.LOST

    report = RoundReport()
    poll_running(ctx, report)
    noticed_at = time.time()
    assert report.requeued == [job.id] and report.finished == []
    # max_retries is 0: a lost run is not a failed attempt, it goes back to the queue
    requeued = job_svc.get_job(ctx, member, job.id)
    assert requeued.status is JobStatus.QUEUED and requeued.attempts == 1
    assert "requeued after lost run 1" in requeued.message
    # the lost run's command is gone too: it must not go on using the chips unbilled
    deadline = time.monotonic() + 1  # well before the command would end by itself
    while is_same_process_alive(started["child_pid"], started["child_ticks"]):
        assert time.monotonic() < deadline, "the lost run's command still runs"
        time.sleep(0.05)

    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED}, timeout_s=60)
    assert done.status is JobStatus.SUCCEEDED and done.attempts == 2 and done.exit_code == 0
    second_dir = Path(RunHandle.parse(done.handle).locator)
    assert second_dir != first_dir
    assert (second_dir / LOG).read_text().count("end") == 1
    assert "end" not in (first_dir / LOG).read_text()  # the lost command never finished
    assert f"start {job.id}" in job_svc.logs(ctx, member, job.id).text

    with ctx.db.transaction(write=False) as tx:
        records = sorted(tx.usage.list(job_id=job.id), key=lambda r: r.interval_start)
    assert records[0].interval_start == first.started_at
    for before, after in itertools.pairwise(records):
        assert after.interval_start >= before.interval_end  # no interval counted twice
    lost = [r for r in records if r.interval_end <= done.started_at]
    second = [r for r in records if r.interval_start >= done.started_at]
    assert len(lost) + len(second) == len(records) and lost and second
    for part in (lost, second):  # each attempt metered without gaps
        for before, after in itertools.pairwise(part):
            assert after.interval_start == before.interval_end
    lost_s = lost[-1].interval_end.timestamp() - lost[0].interval_start.timestamp()
    # the lost attempt is charged up to the round that noticed the loss, no further
    assert killed_at - lost[0].interval_start.timestamp() - 0.5 <= lost_s
    assert lost[-1].interval_end.timestamp() <= noticed_at
    second_s = sum((r.chip_seconds for r in second), Decimal(0)) / 2
    assert Decimal(SLEEP_S) - Decimal("0.2") <= second_s <= Decimal(SLEEP_S) + 4
    ledger_checks(ctx, grant.grant.id, job.id, Decimal(100))  # one charge per record


def test_a_job_whose_runs_keep_getting_lost_fails(live) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """After ``max_lost_runs`` requeues the next lost run fails the job (with the reason)
    instead of requeueing it forever; its hold is released."""
    ctx, member, grant = live
    ctx.settings.max_lost_runs = 1
    job, _ = job_svc.submit(ctx, member, spec(retries=0, command="sleep 30"))
    for attempt in (1, 2):
        running = run_until(ctx, job.id, {JobStatus.RUNNING})
        assert running.attempts == attempt
        run_dir = Path(RunHandle.parse(running.handle).locator)
        wait_for(run_dir / RUNNER)
        runner = read_json(run_dir / LAUNCH)
        assert runner is not None
        os.kill(runner["runner_pid"], signal.SIGKILL)
        while is_same_process_alive(runner["runner_pid"], runner["runner_ticks"]):
            time.sleep(0.02)
        report = RoundReport()
        poll_running(ctx, report)
        if attempt == 1:
            assert report.requeued == [job.id]
            assert job_svc.get_job(ctx, member, job.id).lost_runs == 1
    assert report.finished == [job.id]
    failed = job_svc.get_job(ctx, member, job.id)
    assert failed.status is JobStatus.FAILED and "lost" in failed.message
    assert "max_lost_runs 1" in failed.message
    ledger_checks(ctx, grant.grant.id, job.id, Decimal(100))
