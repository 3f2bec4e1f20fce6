"""A job on a local Ray cluster (one custom resource per chip type): placed by the scheduler,
run as a Ray job, its log read back, its usage charged to the grant exactly."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path

import pytest

from aicenter.domain.job import JobStatus, parse_job_spec
from aicenter.server.runtime import attach_backend
from aicenter.services import job as job_svc
from aicenter.services.clock import SystemClock
from aicenter.services.context import Caller, ServiceContext
from tests.services.fixtures import seed_center
from tests.services.test_job_flow import ledger_checks, run_until
from tests.support.live_server import free_port
from tests.support.ray_temp import short_ray_dir

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'ray[default]'")

CLUSTER_CHIPS = {"nvidia-h100-sxm": 8, "rebellions-atom": 4}


@pytest.fixture(autouse=True)
def ray_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local head's nodes run each run's driver with this interpreter (it has Ray)."""
    monkeypatch.setenv("AICENTER_RAY_PYTHON", sys.executable)


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local Ray head on loopback with one resource per chip type of the center's pools."""
    from aicenter.backends.ray.backend import chip_resource, wait_for_job_server

    stack = ExitStack()

    temp = stack.enter_context(short_ray_dir())
    context = ray.init(
        num_cpus=1,
        resources={chip_resource(chip): float(n) for chip, n in CLUSTER_CHIPS.items()},
        include_dashboard=True, dashboard_host="127.0.0.1", dashboard_port=free_port(),
        object_store_memory=80 * 1024 * 1024, _temp_dir=str(temp),
        logging_level="ERROR", log_to_driver=False,
    )
    address = f"http://{context.dashboard_url}"
    wait_for_job_server(address)
    _warm_up(address, tmp_path_factory.mktemp("ray-warm-up"))
    yield address
    ray.shutdown()
    stack.close()


def _warm_up(address: str, state_dir: Path) -> None:
    """Run one trivial Ray job first: a loaded machine can take a while to have a job agent."""
    import time

    from aicenter.backends import LaunchRequest, wait_until_finished
    from aicenter.backends.ray.backend import RayBackend

    backend = RayBackend(address, state_dir=state_dir, python=sys.executable)
    deadline = time.monotonic() + 180
    while True:
        try:
            handle = backend.launch(LaunchRequest(f"warm-up-{time.time_ns()}", ("true",),
                                                  "nvidia-h100-sxm", 0))
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    wait_until_finished(backend, handle, 180)


def test_job_runs_on_ray_and_is_charged(ctx: ServiceContext, operator: Caller,
                                        ray_address: str, tmp_path: Path) -> None:
    ctx.clock = SystemClock()
    ctx.settings.backend = "ray"
    ctx.settings.ray_address = ray_address
    ctx.settings.unsafe_allow_weak_isolation = True  # Ray cannot contain jobs
    ctx.settings.metering_interval_s = 0.5
    _, member, grant = seed_center(ctx, operator, budget="100", pools=CLUSTER_CHIPS,
                                   chips={"rebellions-atom": 4})
    attach_backend(ctx)
    spec = parse_job_spec(
        "name: npu-infer\nworkload: inference\ncommand: |\n"
        "  echo \"on $AICENTER_CHIP_TYPE x$AICENTER_CHIP_COUNT\"\n  sleep 1\n  echo end\n"
        "resources: [{chip: rebellions-atom, count: 2}]\nmax_duration: 2m\n")
    job, _ = job_svc.submit(ctx, member, spec)
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED}, timeout_s=180)
    assert done.status is JobStatus.SUCCEEDED, done.message
    assert done.handle is not None and done.handle.startswith("ray:")
    log = job_svc.logs(ctx, member, job.id).text
    assert "on rebellions-atom x2" in log and "end" in log
    charged = ledger_checks(ctx, grant.grant.id, job.id, Decimal(100))
    ratio = Decimal(str(ctx.performance.ratio("rebellions-atom", spec.workload)))
    with ctx.db.transaction(write=False) as tx:
        records = tx.usage.list(job_id=job.id)
    chip_seconds = sum((r.chip_seconds for r in records), Decimal(0))
    assert chip_seconds >= 2  # 2 NPUs for at least a second
    assert abs(charged - chip_seconds * ratio / 3600) <= len(records) * Decimal("1e-6")


def test_cli_job_on_ray(ray_address: str, tmp_path: Path, cli,  # type: ignore[no-untyped-def]
                        live_center, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI submits a job to a server whose backend is Ray; logs stream; usage is charged."""
    import json

    from aicenter.client import Client

    live_center(backend="ray", ray_address=ray_address, scheduler_interval_s=0.2,
                metering_interval_s=0.5, unsafe_allow_weak_isolation=True)
    with Client() as op:
        op.add_pool("nvidia-h100-sxm", 8)
        call = op.open_call("call", ["startup"], {"nvidia-h100-sxm": 64})
        org = op.create_org("Ray Startup", "startup")
        admin = op.add_person(org.id, "Lim", "lim@rs.kr", "org-admin")
        token = op.create_token(admin.id, "cli").secret or ""
        app = op.apply(call.id, "x", {"nvidia-h100-sxm": 8}, 1, 10, org_id=org.id)
        op.review(app.id, 7, 7, 7)
        grant = op.award_grant(app.id, 10)
    monkeypatch.setenv("AICENTER_TOKEN", token)
    spec = tmp_path / "job.yaml"
    spec.write_text("name: ray-cli\ncommand: |\n  echo hello ray $AICENTER_CHIP_TYPE\n"
                    "  sleep 1\n  echo bye\nresources: [{chip: nvidia-h100-sxm, count: 2}]\n"
                    "max_duration: 2m\n")
    submitted = cli("job", "submit", str(spec), "--format", "json")
    assert submitted.code == 0, submitted.err
    job_id = json.loads(submitted.out)["id"]
    with Client() as me:
        me.wait_for_job(job_id, 180)
    followed = cli("job", "logs", job_id, "-f")
    assert "hello ray nvidia-h100-sxm" in followed.out and "bye" in followed.out
    with Client() as me:
        job = me.wait_for_job(job_id, 60)
        assert job.status == "succeeded"
        used = sum(Decimal(u.h100e_h) for u in me.list_usage(job_id=job_id))
        after = me.get_grant(grant.id)
    assert used > 0
    assert Decimal(after.available_h100e_h) == Decimal(10) - used


def test_licensed_job_on_ray_reads_metered_and_billed(ctx: ServiceContext, operator: Caller,
                                                      ray_address: str, tmp_path: Path) -> None:
    """Compute-to-data on Ray: the job reads through the center's reader inside the Ray job
    (in-process reader: Ray runs no gateway sidecar), its reads are metered, and the royalty
    booked equals the metered tokens."""
    import json
    from datetime import timedelta

    from aicenter.domain.org import OrgClass
    from aicenter.domain.person import Role
    from aicenter.exchange.meter import read_log, usage_by_job_dataset
    from aicenter.services import dataset as dataset_svc
    from aicenter.services import licence as licence_svc
    from aicenter.services import org as org_svc
    from aicenter.services import royalty as royalty_svc
    from tests.services.test_exchange_flow import ARTICLES, READER

    ctx.clock = SystemClock()
    ctx.settings.backend = "ray"
    ctx.settings.ray_address = ray_address
    ctx.settings.unsafe_allow_weak_isolation = True  # Ray cannot contain jobs
    ctx.settings.metering_interval_s = 0.5
    _, member, _grant = seed_center(ctx, operator, budget="100", pools=CLUSTER_CHIPS)
    news = org_svc.create_org(ctx, operator, "Ray News", OrgClass.ENTERPRISE)
    provider = Caller(org_svc.add_person(ctx, operator, news.id, "P", "p@raynews.kr",
                                         Role.DATA_PROVIDER))
    source = tmp_path / "articles.jsonl"
    source.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in ARTICLES),
                      encoding="utf-8")
    dataset_svc.upload(ctx, provider, dataset_svc.UploadRequest(
        "daily-news", "articles.jsonl", licence_text="proprietary"), source)
    today = ctx.clock.now().date()
    offer = licence_svc.create_offer(ctx, provider, "daily-news", {
        "purposes": ["pre-training"], "term_start": str(today - timedelta(days=1)),
        "term_end": str(today + timedelta(days=30)),
        "price": {"basis": "per-million-tokens", "amount": "1000000"}})
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    attach_backend(ctx)
    spec = parse_job_spec(json.dumps({
        "name": "ray-reader", "command": READER, "max_duration": "2m",
        "resources": [{"chip": "nvidia-h100-sxm", "count": 1}], "datasets": ["daily-news"]}))
    job, _ = job_svc.submit(ctx, member, spec)
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED}, timeout_s=180)
    log = job_svc.logs(ctx, member, job.id).text
    assert done.status is JobStatus.SUCCEEDED and done.handle.startswith("ray:"), log
    assert f"read {len(ARTICLES)}" in log
    # job_network cannot be honoured on Ray: said in the log and the message, not pretended
    assert "ran WITH the network of its Ray node" in done.message
    assert log.startswith("aicenter: the ray backend cannot cut a job's network"), log
    metered = usage_by_job_dataset(read_log(royalty_svc.meter_log_path(ctx, job.id)).meters)
    tokens = metered[(job.id, "daily-news")].tokens
    with ctx.db.transaction(write=False) as tx:
        receivable = tx.ledger.flow(f"receivable:{member.org_id}", "KRW", "royalty")
        assert tx.ledger.unbalanced_transactions() == []
        assert tx.ledger.balance_drift() == []  # running balances = postings
    assert receivable == tokens > 0  # 1 KRW per token



def test_the_center_refuses_ray_unless_the_operator_accepts_uncontained_jobs(
        ctx: ServiceContext, ray_address: str) -> None:
    """Ray cannot contain jobs (issue 11 item 7): without the loud setting, no backend."""
    from aicenter.domain.errors import InputError

    ctx.settings.backend = "ray"
    ctx.settings.ray_address = ray_address
    with pytest.raises(InputError, match="AICENTER_UNSAFE_ALLOW_WEAK_ISOLATION"):
        attach_backend(ctx)
