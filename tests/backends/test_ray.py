"""The ray backend against a real local Ray cluster (one per module: a head and a second
raylet on this host, two "nodes" of four fake H100s, the head also with four fake NPUs):
shared behaviour, chips per job and gangs over nodes, capacity from Ray, metering from the
real start, cancel of a waiting run, re-attachment after the submitting process was killed,
and the start-up errors of a cluster that cannot be reached or wants a token."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from aicenter.backends import (
    Backend,
    BackendUnavailableError,
    LaunchRequest,
    PoolTarget,
    RunHandle,
    RunState,
    StopReason,
    default_registry,
    read_whole_log,
    wait_until_finished,
)
from aicenter.backends.base import CenterSite, ChipCapacity
from aicenter.backends.ray.backend import (
    NETWORK_NOTE,
    RayBackend,
    build_plan,
    bundles_for,
    local_ray_head,
)
from aicenter.backends.ray.config import RayConfig
from aicenter.domain.errors import InputError
from aicenter.domain.job import JobStatus, parse_job_spec
from aicenter.server.runtime import attach_backend
from aicenter.services import job as job_svc
from aicenter.services import pool as pool_svc
from aicenter.services.clock import SystemClock
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.scheduling import make_policy, run_round
from aicenter.settings import Settings
from tests.services.fixtures import (  # noqa: F401
    clock_fixture,
    ctx_fixture,
    database_fixture,
    operator_fixture,
    seed_center,
)
from tests.services.test_job_flow import ledger_checks, run_until
from tests.support.ray_temp import short_ray_dir

from .behaviour import FINISH_S, BackendBehaviour, python, wait_for_log

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'ray[default]'")

HEAD_CHIPS = {"nvidia-h100-sxm": 4, "rebellions-atom": 4}
SECOND_NODE_CHIPS = {"nvidia-h100-sxm": 4}
NODE_POOLS = ("ray-a", "ray-b")
"""The center's pool each node belongs to (``pool:<id>`` declared), the head first."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A local Ray head and a second raylet: 1 CPU each, small object stores, one resource per
    chip type."""
    with short_ray_dir() as temp, local_ray_head(HEAD_CHIPS, temp_dir=temp,
                                                 more_nodes=[SECOND_NODE_CHIPS],
                                                 pools=NODE_POOLS) as address:
        yield address


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


def _backend(address: str, state_dir: Path) -> Backend:
    return default_registry().create("ray", RayConfig(address, state_dir, sys.executable))


class TestRayBehaviour(BackendBehaviour):
    @pytest.fixture
    def backend(self, ray_address: str, state_dir: Path) -> Backend:
        return _backend(ray_address, state_dir)

    @pytest.fixture
    def reopen(self, ray_address: str, state_dir: Path) -> Callable[[], Backend]:
        return lambda: _backend(ray_address, state_dir)


def test_a_run_waits_for_its_chips(ray_address: str, state_dir: Path, unique: str) -> None:
    """Ray reserves accel:<chip> for each run: a run wanting all 4 NPUs waits while 2 are held."""
    backend = _backend(ray_address, state_dir)
    holder = backend.launch(
        LaunchRequest(f"{unique}-a", python("print('holding', flush=True); import time; "
                                            "time.sleep(120)"), "rebellions-atom", 2)
    )
    wait_for_log(backend, holder, b"holding")
    waiter = backend.launch(
        LaunchRequest(f"{unique}-b", ("echo", "got all four"), "rebellions-atom", 4)
    )
    time.sleep(3)
    assert backend.status(waiter).state is RunState.PENDING
    assert backend.status(waiter).started_at is None  # waiting: nothing to meter
    backend.terminate(holder, StopReason.PREEMPT)
    held = wait_until_finished(backend, holder, FINISH_S)
    assert held.state is RunState.PREEMPTED
    done = wait_until_finished(backend, waiter, FINISH_S)
    assert done.state is RunState.SUCCEEDED
    assert read_whole_log(backend, waiter) == b"got all four\n"
    # metering starts when Ray gave the chips, after the holder let go, not at submission
    assert held.ended_at is not None and done.started_at is not None
    assert done.started_at >= held.ended_at - timedelta(seconds=1)


def _env_of(log: bytes) -> dict[str, str]:
    return dict(line.split("=", 1) for line in log.decode().split() if "=" in line)


SHOW = ("/bin/sh", "-c", "echo RBLN=$RBLN_DEVICES CUDA=$CUDA_VISIBLE_DEVICES "
        "IDS=$AICENTER_DEVICE_IDS NODE=$AICENTER_RAY_NODE_ID RANK=$RANK WORLD=$WORLD_SIZE "
        "LOCAL=$LOCAL_RANK MASTER=$MASTER_ADDR:$MASTER_PORT; sleep 3")


def test_two_runs_on_one_node_never_see_each_others_chips(
    ray_address: str, state_dir: Path, unique: str
) -> None:
    """Both runs hold 2 of the head's 4 NPUs at once: each gets its own indices in the
    vendor's variable (RBLN_DEVICES), together all four."""
    backend = _backend(ray_address, state_dir)
    handles = [backend.launch(LaunchRequest(f"{unique}-{i}", SHOW, "rebellions-atom", 2))
               for i in range(2)]
    envs = []
    for handle in handles:
        assert wait_until_finished(backend, handle, FINISH_S).state is RunState.SUCCEEDED
        envs.append(_env_of(read_whole_log(backend, handle)))
    assert envs[0]["NODE"] == envs[1]["NODE"]  # only the head has NPUs
    first, second = ({int(i) for i in env["RBLN"].split(",")} for env in envs)
    assert len(first) == len(second) == 2 and first | second == {0, 1, 2, 3}
    assert all(env["IDS"] == env["RBLN"] for env in envs)


def test_a_gang_of_eight_chips_runs_over_two_four_chip_nodes(
    ray_address: str, state_dir: Path, unique: str
) -> None:
    backend = _backend(ray_address, state_dir)
    handle = backend.launch(LaunchRequest(unique, SHOW, "nvidia-h100-sxm", 8))
    final = wait_until_finished(backend, handle, FINISH_S)
    assert final.state is RunState.SUCCEEDED, final
    lines = read_whole_log(backend, handle).decode().splitlines()
    ranks = {}
    for line in lines:
        env = _env_of(line.removeprefix("[rank 1] ").encode())
        ranks[env["RANK"]] = env
    assert sorted(ranks) == ["0", "1"] and any(x.startswith("[rank 1] ") for x in lines)
    assert ranks["0"]["NODE"] != ranks["1"]["NODE"]  # STRICT_SPREAD: one worker per node
    for env in ranks.values():
        assert env["CUDA"] == "0,1,2,3" and env["WORLD"] == "2" and env["LOCAL"] == "0"
        assert env["MASTER"] == ranks["0"]["MASTER"] and not env["MASTER"].endswith(":0")


def test_gang_shapes_and_plans() -> None:
    assert bundles_for(8, 4) == [4, 4] and bundles_for(3, 4) == [3]
    assert bundles_for(6, 4) == [3, 3] and bundles_for(7, 4) == [4, 3]
    assert bundles_for(2, 0) == [2]  # no node has the chip: one bundle, which waits
    request = LaunchRequest("r", ("python", "train.py"), "nvidia-h100-sxm", 8,
                            working_dir=Path("/data/p"), max_duration_s=3600, grace_period_s=2.5)
    plan = build_plan(request, 4)
    assert plan["bundles"] == [4, 4] and plan["strategy"] == "STRICT_SPREAD"
    assert plan["command"] == ["timeout", "--kill-after=3s", "3600.000s", "python", "train.py"]
    assert plan["visible"]["variables"] == ["CUDA_VISIBLE_DEVICES"]
    assert build_plan(LaunchRequest("r", ("x",), "furiosa-rngd", 2), 8)["visible"][
        "item_prefix"] == "npu:"


def test_capacity_is_what_the_clusters_nodes_advertise(ray_address: str, state_dir: Path) -> None:
    found = _backend(ray_address, state_dir).chip_capacity()
    assert set(found) == {"nvidia-h100-sxm", "rebellions-atom"}
    assert (found["nvidia-h100-sxm"].total, found["nvidia-h100-sxm"].per_node) == (8, 4)
    assert (found["rebellions-atom"].total, found["rebellions-atom"].per_node) == (4, 4)
    assert all(0 <= c.available <= c.total for c in found.values())
    assert isinstance(found["nvidia-h100-sxm"], ChipCapacity)


def test_a_cancelled_waiting_run_never_starts(
    ray_address: str, state_dir: Path, unique: str, tmp_path: Path
) -> None:
    """A run waiting for chips is PENDING (nothing metered); cancelled, it ends CANCELLED and
    its command never runs, even once the chips free up."""
    backend = _backend(ray_address, state_dir)
    holder = backend.launch(LaunchRequest(f"{unique}-h", python(
        "print('holding', flush=True); import time; time.sleep(120)"), "rebellions-atom", 4))
    wait_for_log(backend, holder, b"holding")
    marker = tmp_path / "started"
    waiter = backend.launch(LaunchRequest(f"{unique}-w", ("touch", str(marker)),
                                          "rebellions-atom", 2))
    time.sleep(4)
    waiting = backend.status(waiter)
    assert waiting.state is RunState.PENDING and waiting.started_at is None
    backend.terminate(waiter, StopReason.CANCEL)
    final = wait_until_finished(backend, waiter, FINISH_S)
    assert final.state is RunState.CANCELLED and final.started_at is None
    backend.terminate(holder, StopReason.CANCEL)
    wait_until_finished(backend, holder, FINISH_S)
    time.sleep(3)
    assert not marker.exists()


def test_submit_to_running_latency_on_an_idle_cluster(
    ray_address: str, state_dir: Path, unique: str
) -> None:
    """The figure the README quotes: seconds from launch to RUNNING (the chips held)."""
    backend = _backend(ray_address, state_dir)
    latencies = []
    for i in range(3):
        began = time.monotonic()
        handle = backend.launch(LaunchRequest(f"{unique}-{i}", python(
            "import time; time.sleep(1)"), "nvidia-h100-sxm", 2))
        while backend.status(handle).state is not RunState.RUNNING:
            assert time.monotonic() - began < FINISH_S
            time.sleep(0.05)
        latencies.append(time.monotonic() - began)
        wait_until_finished(backend, handle, FINISH_S)
    print(f"\nray submit-to-running: {', '.join(f'{s:.2f}' for s in latencies)} s")
    assert max(latencies) < FINISH_S


DRIVER = """
import sys, time
from pathlib import Path
from aicenter.backends import LaunchRequest
from aicenter.backends.ray.backend import RayBackend
backend = RayBackend(sys.argv[1], Path(sys.argv[2]), python=sys.executable)
code = "import time\\nfor i in range(20):\\n    print(i, flush=True); time.sleep(0.2)"
handle = backend.launch(LaunchRequest(sys.argv[3], (sys.executable, "-u", "-c", code),
                                      "nvidia-h100-sxm", 4))
print(handle, flush=True)
time.sleep(600)
"""


def test_runs_survive_kill_9_of_the_submitting_process(
    ray_address: str, state_dir: Path, unique: str
) -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", DRIVER, ray_address, str(state_dir), unique],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert server.stdout is not None
    text = server.stdout.readline().decode().strip()
    server.kill()
    server.wait()
    handle = RunHandle.parse(text)
    restarted = _backend(ray_address, state_dir)
    assert handle in restarted.list_runs()
    final = wait_until_finished(restarted, handle, FINISH_S)
    assert (final.state, final.exit_code) == (RunState.SUCCEEDED, 0)
    assert read_whole_log(restarted, handle) == b"".join(f"{i}\n".encode() for i in range(20))


def test_an_unreachable_cluster_is_reported_as_unavailable_not_lost(tmp_path: Path) -> None:
    backend = RayBackend(f"http://127.0.0.1:{_free_port()}", tmp_path)
    handle = RunHandle("ray", "some-run", backend.address)
    with pytest.raises(BackendUnavailableError, match="unreachable"):
        backend.status(handle)
    with pytest.raises(BackendUnavailableError):
        backend.list_runs()


def test_a_zero_grace_period_still_kills_at_the_max_duration() -> None:
    request = LaunchRequest("r", ("sleep", "9"), "nvidia-h100-sxm", 1, max_duration_s=5,
                            grace_period_s=0)
    assert build_plan(request, 4)["command"] == ["timeout", "--kill-after=1s", "5.000s",
                                                 "sleep", "9"]


def test_a_run_that_should_have_no_network_says_it_had_the_network(
        ray_address: str, state_dir: Path, unique: str) -> None:
    """Ray cannot cut a job's network: a ``no_network`` run says so in its log (first line)
    and its final message; a plain run says nothing of it."""
    backend = _backend(ray_address, state_dir)
    cut = backend.launch(LaunchRequest(unique, python("print('ran', flush=True)"),
                                       "nvidia-h100-sxm", 0, no_network=True))
    plain = backend.launch(LaunchRequest(f"{unique}-p", python("print('ran', flush=True)"),
                                         "nvidia-h100-sxm", 0))
    final = wait_until_finished(backend, cut, FINISH_S)
    assert final.state is RunState.SUCCEEDED
    assert final.message == f"exit code 0; {NETWORK_NOTE}"
    assert read_whole_log(backend, cut).decode() == f"aicenter: {NETWORK_NOTE}\nran\n"
    final = wait_until_finished(backend, plain, FINISH_S)
    assert final.message == "exit code 0"
    assert read_whole_log(backend, plain) == b"ran\n"


class _Refusing(http.server.BaseHTTPRequestHandler):
    """A job server with token authentication, given no token: 401 to everything."""

    def do_GET(self) -> None:
        body = b"Unauthorized: Missing authentication token"
        self.send_response(401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_cluster() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _start(address: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url=None, backend="ray", ray_address=address,
                        unsafe_allow_weak_isolation=True)
    default_registry().from_settings(settings, CenterSite(tmp_path))


def test_the_start_says_in_one_line_when_the_cluster_wants_a_token(
        refusing_cluster: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="needs authentication") as caught:
        _start(refusing_cluster, tmp_path)
    assert "\n" not in str(caught.value) and "RAY_AUTH_TOKEN" in str(caught.value)


@pytest.mark.parametrize("kind", ["unreachable", "token"])
def test_serve_with_a_cluster_it_cannot_use_exits_2_with_one_line(
        kind: str, refusing_cluster: str, tmp_path: Path) -> None:
    address = refusing_cluster if kind == "token" else f"http://127.0.0.1:{_free_port()}"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AICENTER_RAY_ADDRESS": address,
           "AICENTER_UNSAFE_ALLOW_WEAK_ISOLATION": "true"}
    done = subprocess.run(
        [sys.executable, "-c", "from aicenter.cli.main import run; run()", "serve", "--backend",
         "ray", "--home", str(tmp_path / "home"), "--port", str(_free_port())],
        capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    expected = "needs authentication" if kind == "token" else "cannot be reached"
    assert lines[0].startswith("error: ") and "the Ray cluster at" in lines[0]
    assert expected in lines[0]


# -- pools: a run placed on one of the center's pools goes to that pool's nodes ----------

def _pool(pool_id: str) -> PoolTarget:
    return PoolTarget(pool_id, 4)


def test_a_run_placed_on_a_pool_runs_on_its_nodes_only(
    ray_address: str, state_dir: Path, unique: str
) -> None:
    """Two pools of H100, one node each: with pool ray-b's node full, a run placed on ray-b
    waits although ray-a's node has four free H100s; a run placed on ray-a runs on the head;
    each run's status names its pool; a pool no node declares is refused."""
    backend = _backend(ray_address, state_dir)
    hold = backend.launch(LaunchRequest(f"{unique}-hold", ("/bin/sh", "-c", "echo NODE="
                                        "$AICENTER_RAY_NODE_ID; echo holding; sleep 120"),
                                        "nvidia-h100-sxm", 4, pool=_pool("ray-b")))
    try:
        wait_for_log(backend, hold, b"holding")
        held_on = _env_of(read_whole_log(backend, hold))["NODE"]
        waiter = backend.launch(LaunchRequest(f"{unique}-wait", SHOW, "nvidia-h100-sxm", 1,
                                              pool=_pool("ray-b")))
        placed = backend.launch(LaunchRequest(f"{unique}-a", SHOW, "nvidia-h100-sxm", 2,
                                              pool=_pool("ray-a")))
        final = wait_until_finished(backend, placed, FINISH_S)
        assert final.state is RunState.SUCCEEDED and final.pool_id == "ray-a", final
        assert _env_of(read_whole_log(backend, placed))["NODE"] != held_on
        waiting = backend.status(waiter)
        assert waiting.state is RunState.PENDING and waiting.pool_id == "ray-b", waiting
    finally:
        backend.terminate(hold, StopReason.CANCEL)
        wait_until_finished(backend, hold, FINISH_S)
    done = wait_until_finished(backend, waiter, FINISH_S)
    assert done.state is RunState.SUCCEEDED and done.pool_id == "ray-b"
    assert _env_of(read_whole_log(backend, waiter))["NODE"] == held_on
    with pytest.raises(InputError, match="no node of the Ray cluster declares pool ray-c") \
            as refused:
        backend.launch(LaunchRequest(f"{unique}-c", ("true",), "nvidia-h100-sxm", 1,
                                     pool=_pool("ray-c")))
    assert refused.value.field == "pool"


def test_plans_ask_for_the_pools_resource() -> None:
    request = LaunchRequest("r", ("true",), "nvidia-h100-sxm", 2, pool=_pool("ray-a"))
    plan = build_plan(request, 4, "pool:ray-a")
    assert plan["pool_resource"] == "pool:ray-a" and 0 < plan["pool_share"] < 1
    assert build_plan(request, 4)["pool_resource"] is None


# -- metering at the services level: a job that waits in Ray's queue ----------------------

def test_a_job_waiting_in_rays_queue_is_billed_from_rays_start(
    ray_address: str, ctx: ServiceContext, operator: Caller,
    monkeypatch: pytest.MonkeyPatch, unique: str
) -> None:
    """The center's pool ray-b is Ray's second node; another user of the cluster holds its
    four H100s. The scheduler (which sees the cluster's four free H100s, on the head) places
    a job on ray-b and launches it; Ray keeps it waiting on ray-b's node, so the job runs
    with nothing metered until the holder ends. Its usage starts at Ray's start of the run,
    seconds after the launch, and covers only the run's own seconds."""
    monkeypatch.setenv("AICENTER_RAY_PYTHON", sys.executable)
    ctx.clock = SystemClock()
    ctx.settings.backend = "ray"
    ctx.settings.ray_address = ray_address
    ctx.settings.unsafe_allow_weak_isolation = True
    ctx.settings.metering_interval_s = 0.5
    pool_svc.add_pool(ctx, operator, "nvidia-h100-sxm", 4, "haenam", pool_id="ray-b")
    _org, member, grant = seed_center(ctx, operator, budget="100",
                                      pools={"rebellions-atom": 4},
                                      chips={"nvidia-h100-sxm": 4})
    attach_backend(ctx)
    assert isinstance(ctx.backend, RayBackend)
    holder = ctx.backend.launch(LaunchRequest(f"{unique}-outsider", python(
        "print('holding', flush=True); import time; time.sleep(120)"), "nvidia-h100-sxm", 4,
        pool=_pool("ray-b")))
    try:
        wait_for_log(ctx.backend, holder, b"holding")
        spec = parse_job_spec("name: queued-in-ray\ncommand: 'echo ran; sleep 2'\n"
                              "resources: [{chip: nvidia-h100-sxm, count: 2}]\n"
                              "max_duration: 2m\n")
        job, _ = job_svc.submit(ctx, member, spec)
        launched = run_until(ctx, job.id, {JobStatus.RUNNING}, timeout_s=60)
        launched_by = datetime.now(UTC)  # the launch happened before this instant
        assert launched.pool_id == "ray-b"
        policy = make_policy(ctx)
        for _ in range(10):  # 4 s in Ray's queue: rounds meter nothing
            run_round(ctx, policy)
            time.sleep(0.4)
        waiting = job_svc.get_job(ctx, member, job.id)
        assert waiting.status is JobStatus.RUNNING and waiting.started_at is None
        assert ctx.backend.status(RunHandle.parse(waiting.handle or "")).state is \
            RunState.PENDING
        with ctx.db.transaction(write=False) as tx:
            assert tx.usage.list(job_id=job.id) == []
    finally:
        ctx.backend.terminate(holder, StopReason.CANCEL)
    freed = wait_until_finished(ctx.backend, holder, FINISH_S)
    assert freed.ended_at is not None and freed.ended_at - launched_by > timedelta(seconds=3)
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED}, timeout_s=120)
    assert done.status is JobStatus.SUCCEEDED, done.message
    engine = ctx.backend.status(RunHandle.parse(done.handle or ""))
    assert engine.started_at is not None and engine.ended_at is not None
    assert engine.started_at >= freed.ended_at - timedelta(seconds=1)  # Ray's own start
    with ctx.db.transaction(write=False) as tx:
        records = tx.usage.list(job_id=job.id)
    assert records and min(r.interval_start for r in records) == engine.started_at
    assert max(r.interval_end for r in records) == engine.ended_at
    chip_seconds = sum((r.chip_seconds for r in records), Decimal(0))
    run_s = Decimal(str((engine.ended_at - engine.started_at).total_seconds()))
    assert abs(chip_seconds - 2 * run_s) < Decimal("0.01")  # the run's seconds, no more
    waited_s = Decimal(str((engine.started_at - launched_by).total_seconds()))
    assert waited_s > 3  # ... and the seconds it waited in Ray's queue were not billed
    ledger_checks(ctx, grant.grant.id, job.id, Decimal(100))
