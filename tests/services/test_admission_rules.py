"""Launch never blocks the queue (issue 11 item 5), on SQLite and PostgreSQL.

Everything a backend would refuse is answered at submission with 422 naming the field, and
nothing is stored or held; a job whose launch still fails ends with the reason, its hold
released, and the round goes on with the others. Real database, real HTTP app, real local
backend and processes."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aicenter.api.app import create_app
from aicenter.backends import BackendUnavailableError, LaunchRequest, RunHandle, StopReason
from aicenter.backends.local import LocalBackend
from aicenter.domain.errors import InputError
from aicenter.domain.job import Job, JobStatus, spec_from_mapping
from aicenter.domain.token import Scope
from aicenter.ledger import H100E, accounts, hold_transaction
from aicenter.server.runtime import attach_backend
from aicenter.services import job as job_svc
from aicenter.services import org as org_svc
from aicenter.services.admission import Admitted, Submission, admit
from aicenter.services.clock import SystemClock
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.services.scheduling import RoundReport, make_policy, run_round
from tests.services.fixtures import seed_center

GOOD: dict[str, Any] = {
    "name": "ok", "command": "echo ok", "max_duration": "36s",
    "resources": [{"chip": "nvidia-h100-sxm", "count": 1}],
}
"""1 H100 × 36 s: a hold of 0.01 h100e-h."""
BUDGET = Decimal(1)


def _spec(**fields: Any) -> dict[str, Any]:
    return {**GOOD, **fields}


# (what is wrong, the spec, the field the 422 names)
BAD: list[tuple[str, dict[str, Any], str]] = [
    ("name with =", _spec(env={"A=B": "1"}), "env.A=B"),
    ("name with NUL", _spec(env={"A\x00": "1"}), "env.A\\x00"),
    ("name starting with a digit", _spec(env={"1X": "1"}), "env.1X"),
    ("empty name", _spec(env={"": "1"}), "env."),
    ("AICENTER_*", _spec(env={"AICENTER_TOKEN": "aic_x"}), "env.AICENTER_TOKEN"),
    ("job id", _spec(env={"AICENTER_JOB_ID": "j"}), "env.AICENTER_JOB_ID"),
    ("CUDA devices", _spec(env={"CUDA_VISIBLE_DEVICES": "0,1"}), "env.CUDA_VISIBLE_DEVICES"),
    ("ROCm devices", _spec(env={"ROCR_VISIBLE_DEVICES": "0"}), "env.ROCR_VISIBLE_DEVICES"),
    ("Rebellions devices", _spec(env={"RBLN_DEVICES": "0"}), "env.RBLN_DEVICES"),
    ("Furiosa devices", _spec(env={"FURIOSA_DEVICES": "npu:0"}), "env.FURIOSA_DEVICES"),
    ("LD_PRELOAD", _spec(env={"LD_PRELOAD": "/tmp/x.so"}), "env.LD_PRELOAD"),
    ("LD_AUDIT", _spec(env={"LD_AUDIT": "/tmp/x.so"}), "env.LD_AUDIT"),
    ("LD_LIBRARY_PATH", _spec(env={"LD_LIBRARY_PATH": "/tmp"}), "env.LD_LIBRARY_PATH"),
    ("NUL in a value", _spec(env={"A": "x\x00y"}), "env.A"),
    ("list as a value", _spec(env={"A": [1, 2]}), "env.A"),
    ("value over 32 KiB", _spec(env={"BIG": "x" * (32 * 1024 + 1)}), "env.BIG"),
    ("257 variables", _spec(env={f"V{i}": "1" for i in range(257)}), "env"),
    ("env over 256 KiB", _spec(env={f"V{i}": "x" * 32 * 1024 for i in range(9)}), "env"),
    ("NUL in the command", _spec(command="echo a\x00b"), "command"),
    ("NUL in a command line", _spec(command=["echo a", "echo \x00"]), "command[1]"),
    ("lone surrogate", _spec(command="echo \ud800"), "command"),
    ("command over 64 KiB", _spec(command="#" * (64 * 1024 + 1)), "command"),
    ("NUL in the name", _spec(name="ok\x00"), "name"),
    ("NUL in a chip", _spec(resources=[{"chip": "nvidia\x00", "count": 1}]),
     "resources[0].chip"),
    ("NUL in a dataset", _spec(datasets=["news\x00"]), "datasets[0]"),
    ("NUL in the workdir", _spec(workdir="a\x00"), "workdir"),
    ("workdir /etc", _spec(workdir="/etc"), "workdir"),
    ("workdir /", _spec(workdir="/"), "workdir"),
    ("workdir ../..", _spec(workdir="../.."), "workdir"),
    ("workdir a/../../b", _spec(workdir="a/../../b"), "workdir"),
    ("workdir over PATH_MAX", _spec(workdir="a/" * 2049), "workdir"),
    ("memory above the cap", _spec(limits={"memory": "4TiB"}), "limits.memory"),
    ("cpus above the cap", _spec(limits={"cpus": 257}), "limits.cpus"),
    ("pids above the cap", _spec(limits={"pids": 4097}), "limits.pids"),
    ("memory in GB", _spec(limits={"memory": "8GB"}), "limits.memory"),
    ("fractional millicpu", _spec(limits={"cpus": "0.0005"}), "limits.cpus"),
    ("unknown limit", _spec(limits={"gpus": 8}), "limits.gpus"),
]


def _token(ctx: ServiceContext, operator: Caller, member: Caller) -> str:
    return org_svc.create_token(ctx, operator, member.person.id, "t",
                                frozenset({Scope.WRITE}), None)[1]


def _nothing_admitted(ctx: ServiceContext, grant_id: str) -> None:
    with ctx.db.transaction(write=False) as tx:
        assert tx.jobs.count() == 0
        assert tx.ledger.balance(accounts.grant(grant_id), H100E) == BUDGET
        assert tx.ledger.prefix_balance(accounts.holds_of(grant_id), H100E) == 0


def test_what_a_backend_would_refuse_is_a_422_naming_the_field(
        ctx: ServiceContext, operator: Caller) -> None:
    """Every case through the API's submit path; none is stored and none holds budget."""
    _org, member, grant = seed_center(ctx, operator, budget=str(BUDGET))
    headers = {"Authorization": f"Bearer {_token(ctx, operator, member)}"}
    with TestClient(create_app(ctx)) as http:
        for what, spec, where in BAD:
            # escaped JSON, as a client would send a lone surrogate
            response = http.post("/api/v1/jobs", content=json.dumps({"spec": spec}),
                                 headers={**headers, "Content-Type": "application/json"})
            assert response.status_code == 422, (what, response.text)
            body = response.json()
            assert body["error"] == "invalid-input", what
            assert body["detail"].startswith(f"field '{where}': "), (what, body["detail"])
            assert "\x00" not in body["detail"], what
        _nothing_admitted(ctx, grant.grant.id)
        ok = http.post("/api/v1/jobs", json={"spec": _spec(env={"PYTHONPATH": "src"})},
                       headers=headers)
        assert ok.status_code == 201, ok.text  # PYTHONPATH stays allowed


def test_the_messages_say_what_to_do(ctx: ServiceContext, operator: Caller) -> None:
    _org, member, _grant = seed_center(ctx, operator, budget=str(BUDGET))

    def refused(spec: dict[str, Any]) -> str:
        with pytest.raises(InputError) as err:
            job_svc.submit(ctx, member, spec_from_mapping(spec))
        return str(err.value)

    assert refused(_spec(workdir="/etc")) == (
        "field 'workdir': '/etc' is outside the job's area: use a relative path inside the "
        "job's work directory, or a path inside your organisation's project space "
        "<root>/<org> (project spaces are off on this center)")
    assert "set by the center to the devices the job was given" in \
        refused(_spec(env={"CUDA_VISIBLE_DEVICES": "0"}))
    assert "export LD_PRELOAD=" in refused(_spec(env={"LD_PRELOAD": "x.so"}))
    assert refused(_spec(limits={"memory": "4TiB"})) == (
        "field 'limits.memory': 4TiB is more than this center allows one job (2TiB)")


def test_project_spaces(ctx: ServiceContext, operator: Caller, tmp_path: Path) -> None:
    """With a project root an organisation may work in its own space, never another's."""
    org, member, grant = seed_center(ctx, operator, budget=str(BUDGET))
    other, _member, _grant = seed_center(ctx, operator, budget=str(BUDGET))
    root = tmp_path / "projects"
    ctx.settings.project_root = root
    mine = job_svc.submit(ctx, member, spec_from_mapping(_spec(workdir=f"{root}/{org.id}/x")))
    assert mine[0].spec.workdir == f"{root}/{org.id}/x"
    job_svc.submit(ctx, member, spec_from_mapping(_spec(workdir=f"{root}/{org.id}")))
    job_svc.submit(ctx, member, spec_from_mapping(_spec(workdir="runs/./a")))
    for workdir in (f"{root}/{other.id}/x", f"{root}/{org.id}/../{other.id}", str(root),
                    f"{root}/{org.id}x", "/etc"):
        with pytest.raises(InputError) as err:
            job_svc.submit(ctx, member, spec_from_mapping(_spec(workdir=workdir)))
        assert err.value.field == "workdir", workdir
        assert f"project space {root}/{org.id}" in str(err.value), workdir
    with ctx.db.transaction(write=False) as tx:
        assert tx.jobs.count() == 3
        assert tx.ledger.balance(accounts.grant(grant.grant.id), H100E) == \
            BUDGET - 3 * Decimal("0.01")


def test_a_bad_submission_does_not_disturb_its_batch(ctx: ServiceContext,
                                                     operator: Caller) -> None:
    """Refused at admission (workdir, limits, a NUL the database could not store) beside a
    good submission of the same batch, which is admitted."""
    _org, member, grant = seed_center(ctx, operator, budget=str(BUDGET))
    good = spec_from_mapping(GOOD)
    outcomes = admit(ctx, [
        Submission(spec_from_mapping(_spec(workdir="/etc")), caller=member),
        Submission(good, caller=member),
        Submission(spec_from_mapping(_spec(limits={"cpus": 1000})), caller=member),
        Submission(good, caller=member, org_id="org\x00"),
        Submission(good, caller=member, grant_id="g\x00"),
        Submission(good, caller=member, idempotency_key="k\x00"),
        Submission(good, caller=member, idempotency_key="k"),
    ])
    fields = [o.field if isinstance(o, InputError) else None for o in outcomes]
    assert fields == ["workdir", None, "limits.cpus", "org_id", "grant_id",
                      "idempotency_key", None]
    admitted = [o for o in outcomes if isinstance(o, Admitted)]
    assert len(admitted) == 2 and all(a.created for a in admitted)
    with ctx.db.transaction(write=False) as tx:
        assert tx.jobs.count() == 2
        assert tx.ledger.balance(accounts.grant(grant.grant.id), H100E) == \
            BUDGET - 2 * Decimal("0.01")


# -- launch ---------------------------------------------------------------------------------

@pytest.fixture
def live(ctx: ServiceContext, operator: Caller, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The center's settings enable project spaces, but its local backend was configured
    without them (a misconfiguration): admission accepts a workdir in the project space and
    the backend refuses that launch for good."""
    ctx.clock = SystemClock()
    ctx.settings.project_root = tmp_path / "projects"
    _org, member, grant = seed_center(ctx, operator, budget=str(BUDGET),
                                      pools={"nvidia-h100-sxm": 8})
    attach_backend(ctx)
    ctx.backend.isolation = replace(ctx.backend.isolation, project_root=None)
    return ctx, member, grant


def _job(ctx: ServiceContext, job_id: str) -> Job:
    with ctx.db.transaction(write=False) as tx:
        job: Job = tx.jobs.get(job_id)
    return job


def _round(ctx: ServiceContext) -> RoundReport:
    return run_round(ctx, make_policy(ctx))


def _wait_for(ctx: ServiceContext, job_id: str, statuses: set[JobStatus]) -> Job:
    deadline = time.monotonic() + 30
    while (job := _job(ctx, job_id)).status not in statuses:
        assert time.monotonic() < deadline, job
        _round(ctx)
        time.sleep(0.1)
    return job


def _held(ctx: ServiceContext, grant_id: str) -> Decimal:
    with ctx.db.transaction(write=False) as tx:
        held: Decimal = tx.ledger.prefix_balance(accounts.holds_of(grant_id), H100E)
    return held


def test_a_launch_the_backend_refuses_fails_that_job_only(live) -> None:  # type: ignore[no-untyped-def]
    ctx, member, grant = live
    space = ctx.settings.project_root / member.org_id / "code"
    refused, _ = job_svc.submit(ctx, member, spec_from_mapping(_spec(
        name="in-space", workdir=str(space))))
    fine, _ = job_svc.submit(ctx, member, spec_from_mapping(_spec(command="sleep 1")))
    report = _round(ctx)
    failed = _job(ctx, refused.id)
    assert failed.status is JobStatus.FAILED, failed
    assert failed.message.startswith("launch failed: ") and "no project spaces" in \
        failed.message, failed.message
    assert report.finished == [refused.id] and report.launched == [fine.id]
    assert _job(ctx, fine.id).status is JobStatus.RUNNING  # the same round
    with ctx.db.transaction(write=False) as tx:  # the failed job's hold is back
        assert tx.ledger.balance(accounts.hold(grant.grant.id, refused.id), H100E) == 0
    assert _held(ctx, grant.grant.id) == fine.hold_h100e_h
    done = _wait_for(ctx, fine.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is JobStatus.SUCCEEDED
    with ctx.db.transaction(write=False) as tx:
        used = BUDGET - tx.ledger.balance(accounts.grant(grant.grant.id), H100E)
        assert tx.ledger.unbalanced_transactions() == [] and tx.ledger.balance_drift() == []
    assert _held(ctx, grant.grant.id) == 0 and 0 < used < fine.hold_h100e_h


def test_a_job_admitted_before_the_rules_fails_at_launch(live) -> None:  # type: ignore[no-untyped-def]
    """A job stored with an env name no process can have (admitted before these checks)
    used to be retried every round for ever, holding its budget."""
    ctx, member, grant = live
    old_spec = replace(spec_from_mapping(GOOD), env={"A=B": "1"})
    now = ctx.clock.now()
    old = Job(new_id("job"), member.org_id, member.person.id, grant.grant.id, old_spec,
              JobStatus.QUEUED, None, Decimal("0.01"), now)
    with ctx.db.transaction() as tx:
        tx.jobs.add_many([old])
        tx.ledger.book_many([hold_transaction(old.id, grant.grant.id, old.hold_h100e_h, now)])
    fine, _ = job_svc.submit(ctx, member, spec_from_mapping(GOOD))
    report = _round(ctx)
    failed = _job(ctx, old.id)
    assert failed.status is JobStatus.FAILED
    assert failed.message.startswith("launch failed: ") and "A=B" in failed.message
    assert report.launched == [fine.id]
    _wait_for(ctx, fine.id, {JobStatus.SUCCEEDED})
    assert _held(ctx, grant.grant.id) == 0


def test_a_workdir_no_longer_allowed_at_launch_fails_the_job(live, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The operator turned project spaces off while the job waited."""
    ctx, member, grant = live
    ctx.settings.project_root = tmp_path / "projects"
    job, _ = job_svc.submit(ctx, member, spec_from_mapping(
        _spec(workdir=f"{tmp_path}/projects/{member.org_id}/run")))
    ctx.settings.project_root = None
    _round(ctx)
    failed = _job(ctx, job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.message.startswith("launch failed: field 'workdir': ")
    assert "project spaces are off" in failed.message
    assert _held(ctx, grant.grant.id) == 0


def test_no_free_slots_keeps_the_job_queued(live) -> None:  # type: ignore[no-untyped-def]
    """The backend's slots are taken by a run the scheduler does not know of (as while a
    preempted run finishes its grace period): the job waits, then launches."""
    ctx, member, grant = live
    busy = ctx.backend.launch(LaunchRequest(run_id="other-1", command=("sleep", "30"),
                                            chip_type="nvidia-h100-sxm", chip_count=8))
    try:
        job, _ = job_svc.submit(ctx, member, spec_from_mapping(GOOD))
        _round(ctx)
        waiting = _job(ctx, job.id)
        assert waiting.status is JobStatus.QUEUED and waiting.message.startswith(
            "launch failed: ")
        assert _held(ctx, grant.grant.id) == job.hold_h100e_h
    finally:
        ctx.backend.terminate(busy, StopReason.CANCEL, 0)
    deadline = time.monotonic() + 20
    while not ctx.backend.status(busy).is_final:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert _wait_for(ctx, job.id, {JobStatus.SUCCEEDED}).attempts == 1


class _BrokenLaunches(LocalBackend):
    """The center's own local backend, except that launching a job named in ``failing``
    raises what the test puts there (as a full disk or a vanished binary would)."""

    failing: dict[str, Exception]

    @classmethod
    def of(cls, backend: LocalBackend, failing: dict[str, Exception]) -> _BrokenLaunches:
        broken = cls(backend.root, backend.slots_by_chip, backend.isolation)
        broken.failing = failing
        return broken

    def launch(self, request: LaunchRequest) -> RunHandle:
        error = self.failing.get(request.env.get("AICENTER_JOB_NAME", ""))
        if error is not None:
            raise error
        return super().launch(request)


def test_a_launch_that_keeps_failing_fails_the_job_after_its_retries(live) -> None:  # type: ignore[no-untyped-def]
    """An unforeseen error of the backend's launch (not a refusal, not busy) used to leave
    the job queued for ever, holding its budget: it is tried ``launch_retries`` more times,
    one round each, then fails with the reason and its hold is released; the other jobs of
    each round launch as usual."""
    ctx, member, grant = live
    ctx.settings.launch_retries = 2
    ctx.backend = _BrokenLaunches.of(ctx.backend, {
        "broken": OSError(28, "No space left on device")})
    broken, _ = job_svc.submit(ctx, member, spec_from_mapping(_spec(name="broken")))
    fines = []
    for tries in (1, 2, 3):  # one round each; in each, another job launches beside it
        fine, _ = job_svc.submit(ctx, member, spec_from_mapping(_spec(command="true")))
        fines.append(fine)
        report = _round(ctx)
        assert report.launched == [fine.id]
        if tries == 3:
            break
        waiting = _job(ctx, broken.id)
        assert waiting.status is JobStatus.QUEUED and waiting.launch_failures == tries
        assert waiting.message == (f"launch failed ({tries} of 3 tries), tried again next "
                                   "round: OSError: [Errno 28] No space left on device")
        assert broken.id not in report.finished
        assert _held(ctx, grant.grant.id) >= broken.hold_h100e_h
    failed = _job(ctx, broken.id)
    assert failed.status is JobStatus.FAILED and broken.id in report.finished
    assert failed.message == ("launch failed 3 times in a row (launch_retries 2): OSError: "
                              "[Errno 28] No space left on device")
    for fine in fines:
        _wait_for(ctx, fine.id, {JobStatus.SUCCEEDED})
    with ctx.db.transaction(write=False) as tx:
        assert tx.ledger.balance(accounts.hold(grant.grant.id, broken.id), H100E) == 0
        assert tx.ledger.unbalanced_transactions() == []
    assert _held(ctx, grant.grant.id) == 0


def test_a_launch_that_fails_then_works_starts_counting_afresh(live) -> None:  # type: ignore[no-untyped-def]
    """Failures count in a row: a launch that succeeds clears them. An unreachable backend
    (BackendUnavailableError) is not the job's failure: it waits, however long, uncounted."""
    ctx, member, _grant = live
    ctx.settings.launch_retries = 1
    failing: dict[str, Exception] = {"flaky": RuntimeError("engine hiccup")}
    ctx.backend = _BrokenLaunches.of(ctx.backend, failing)
    flaky, _ = job_svc.submit(ctx, member, spec_from_mapping(_spec(name="flaky",
                                                                   command="true")))
    _round(ctx)
    assert _job(ctx, flaky.id).launch_failures == 1
    del failing["flaky"]
    _round(ctx)
    launched = _job(ctx, flaky.id)
    assert launched.status is JobStatus.RUNNING and launched.launch_failures == 0
    _wait_for(ctx, flaky.id, {JobStatus.SUCCEEDED})

    failing["away"] = BackendUnavailableError("engine unreachable")
    away, _ = job_svc.submit(ctx, member, spec_from_mapping(_spec(name="away")))
    for _ in range(4):
        _round(ctx)
    waiting = _job(ctx, away.id)
    assert waiting.status is JobStatus.QUEUED and waiting.launch_failures == 0
    assert waiting.message == "launch failed: engine unreachable"
    job_svc.cancel(ctx, member, away.id)


def test_effective_limits_are_the_spec_s_else_the_default_per_chip_within_the_caps(
        ctx: ServiceContext) -> None:
    from aicenter.domain.limits import GIB, ResourceLimits
    from aicenter.services.admission import limit_policy

    policy = limit_policy(ctx.settings)  # 32 GiB and 8 CPUs a chip, 4096 pids, 2 TiB, 256
    assert policy.effective(None, 2) == ResourceLimits(64 * GIB, 16_000, 4096)
    assert policy.effective(None, 128) == ResourceLimits(2048 * GIB, 256_000, 4096)
    asked = spec_from_mapping(_spec(limits={"memory": "1.5GiB", "cpus": 0.25})).limits
    assert policy.effective(asked, 8) == ResourceLimits(3 * GIB // 2, 250, 4096)
    assert spec_from_mapping(_spec(limits={"memory": 1536 * 1024 * 1024})).to_dict()[
        "limits"] == {"memory": "1536MiB"}


def test_a_job_that_can_never_fit_is_refused_and_a_waiting_job_says_why(
        ctx: ServiceContext, operator: Caller) -> None:
    """Issue 12 item 6: 16 × H100 on a center whose H100 pools have 8 each can never start
    (a gang runs in one pool): 422. A job that fits but finds the pool full waits with the
    reason ``Resources``, shown by the API; once it runs the reason is gone."""
    _org, member, _grant = seed_center(ctx, operator, budget="100",
                                       chips={"nvidia-h100-sxm": 16})
    attach_backend(ctx)
    with pytest.raises(InputError, match="can never start.*16 × nvidia-h100-sxm "
                                         r"\(largest pool: 8\)"):
        job_svc.submit(ctx, member, spec_from_mapping(
            _spec(resources=[{"chip": "nvidia-h100-sxm", "count": 16}])))
    busy = spec_from_mapping(_spec(command="sleep 30", max_duration="60s",
                                   resources=[{"chip": "nvidia-h100-sxm", "count": 8}]))
    first, _ = job_svc.submit(ctx, member, busy)
    second, _ = job_svc.submit(ctx, member, busy)
    policy = make_policy(ctx)
    run_round(ctx, policy)
    states = {j.id: job_svc.get_job(ctx, member, j.id) for j in (first, second)}
    running = [j for j in states.values() if j.status is JobStatus.RUNNING]
    waiting = next(j for j in states.values() if j.status is JobStatus.QUEUED)
    assert len(running) == 1 and running[0].pending_reason is None
    assert waiting.pending_reason == "Resources"  # one pool of 8, held by the other
    with TestClient(create_app(ctx)) as http:
        seen = http.get(f"/api/v1/jobs/{waiting.id}", headers={
            "Authorization": f"Bearer {_token(ctx, operator, member)}"}).json()
    assert seen["pending_reason"] == "Resources"
    for job in (first, second):
        job_svc.cancel(ctx, member, job.id)
    run_round(ctx, policy)
