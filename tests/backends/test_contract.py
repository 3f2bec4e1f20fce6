"""The backend contract's value types, the visible-devices table, the registry, and every
registered backend's declared capabilities (each claim shown true)."""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aicenter.backends import (
    Backend,
    BackendRegistry,
    Capabilities,
    CenterSite,
    JobLimits,
    LaunchRequest,
    RunHandle,
    RunState,
    StopReason,
    accelerator_env,
    default_registry,
    read_whole_log,
    wait_until_finished,
)
from aicenter.backends.base import ChipCapacity, PoolTarget, pool_device_ranges
from aicenter.backends.devices import VISIBLE_DEVICES_RULES
from aicenter.backends.local import LocalBackend, LocalConfig
from aicenter.backends.local.cgroups import detect
from aicenter.backends.local.isolation import JobIsolation, probe_contained
from aicenter.backends.ray.config import RayConfig
from aicenter.backends.slurm.config import SlurmConfig
from aicenter.backends.virtual import VirtualConfig
from aicenter.catalog import Catalog
from aicenter.domain.errors import InputError
from aicenter.settings import Settings

from .slurm.conftest import JOB_USER, TEST_GRES, _slurm_problem


def test_handle_round_trips_through_its_text_form() -> None:
    for handle in (
        RunHandle("local", "job-1.try-2", "/var/lib/aicenter/runs/job-1.try-2"),
        RunHandle("ray", "job_7", "http://10.0.0.5:8265"),
    ):
        assert RunHandle.parse(str(handle)) == handle


@pytest.mark.parametrize("text", ["", "local", "local:run", "local:@/x", "local:a b@/x", ":r@x"])
def test_malformed_handles_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        RunHandle.parse(text)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"run_id": "../etc"}, "run_id"),
        ({"command": ()}, "command"),
        ({"chip_count": -1}, "chip_count"),
        ({"device_ids": (0,)}, "device_ids"),
        ({"device_ids": (1, 1)}, "device_ids"),
        ({"max_duration_s": 0.0}, "max_duration_s"),
        ({"grace_period_s": -1.0}, "grace_period_s"),
        ({"env": {"A=B": "x"}}, "env"),
        ({"pool": PoolTarget("p", 1)}, "pool"),  # 2 chips do not fit in a pool of 1
        ({"pool": "p"}, "pool"),
    ],
)
def test_bad_launch_requests_name_the_field(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {
        "run_id": "r1", "command": ("true",), "chip_type": "nvidia-h100-sxm", "chip_count": 2
    }
    base.update(kwargs)
    with pytest.raises(InputError) as caught:
        LaunchRequest(**base)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_final_states_and_stop_reasons() -> None:
    assert {s for s in RunState if not s.is_final} == {RunState.PENDING, RunState.RUNNING}
    assert StopReason.CANCEL.final_state is RunState.CANCELLED
    assert StopReason.PREEMPT.final_state is RunState.PREEMPTED


@pytest.mark.parametrize(
    ("chip", "ids", "expected"),
    [
        ("nvidia-h200", (2, 5), {"CUDA_VISIBLE_DEVICES": "2,5"}),
        ("amd-mi355x", (0,), {"HIP_VISIBLE_DEVICES": "0", "ROCR_VISIBLE_DEVICES": "0"}),
        ("intel-gaudi3", (1, 2), {"HABANA_VISIBLE_MODULES": "1,2"}),
        ("google-tpu-v5p", (0, 1, 2, 3), {"TPU_VISIBLE_CHIPS": "0,1,2,3"}),
        ("aws-trainium1", (1,), {"NEURON_RT_VISIBLE_CORES": "2,3"}),
        ("aws-trainium2", (0, 2), {"NEURON_RT_VISIBLE_CORES": "0,1,2,3,8,9,10,11"}),
        ("huawei-ascend-910b", (7,), {"ASCEND_RT_VISIBLE_DEVICES": "7"}),
        ("rebellions-rebel-quad", (0, 1), {"RBLN_DEVICES": "0,1"}),
        ("furiosa-rngd", (3,), {"FURIOSA_DEVICES": "npu:3"}),
        ("tenstorrent-blackhole-p150", (0,), {"TT_VISIBLE_DEVICES": "0"}),
    ],
)
def test_vendor_visible_devices_variables(
    chip: str, ids: tuple[int, ...], expected: dict[str, str]
) -> None:
    env = accelerator_env("r", chip, len(ids), ids)
    vendor_vars = {k: v for k, v in env.items() if not k.startswith("AICENTER_")}
    assert vendor_vars == expected
    assert env["AICENTER_DEVICE_IDS"] == ",".join(map(str, ids))
    assert env["AICENTER_CHIP_TYPE"] == chip and env["AICENTER_CHIP_COUNT"] == str(len(ids))


def test_every_catalog_vendor_family_has_a_rule(catalog: Catalog) -> None:
    assert {chip.vendor_family for chip in catalog} <= set(VISIBLE_DEVICES_RULES)


def test_without_device_ids_only_chip_type_and_count_are_named() -> None:
    assert accelerator_env("r", "nvidia-h100-sxm", 4, ()) == {
        "AICENTER_RUN_ID": "r",
        "AICENTER_CHIP_TYPE": "nvidia-h100-sxm",
        "AICENTER_CHIP_COUNT": "4",
    }


def test_registry_creates_backends_by_name_and_explains_unknown_names(tmp_path: Path) -> None:
    registry = default_registry()
    assert registry.names() == ["local", "ray", "slurm", "virtual"]
    backend = registry.create("local", LocalConfig(tmp_path / "local", {"nvidia-h100-sxm": 8}))
    assert isinstance(backend, LocalBackend) and isinstance(backend, Backend)
    assert backend.name == "local" and backend.root == (tmp_path / "local").resolve()
    with pytest.raises(InputError, match=r"unknown backend 'loacl'.*did you mean 'local'"):
        registry.create("loacl", LocalConfig(tmp_path))
    with pytest.raises(InputError, match="configured with a RayConfig, not a LocalConfig"):
        registry.create("ray", LocalConfig(tmp_path))
    with pytest.raises(InputError, match="needs a Ray address"):
        RayConfig("")
    with pytest.raises(ValueError, match="already registered"):
        registry.register(registry.entry("local"))


def test_settings_map_to_each_backends_own_config(tmp_path: Path) -> None:
    registry = default_registry()
    site = CenterSite(tmp_path / "runs", {"nvidia-h100-sxm": 4}, hidden=(tmp_path,))
    settings = Settings(home=tmp_path, database_url=None, backend="local",
                        ray_address="http://10.0.0.5:8265", unsafe_allow_weak_isolation=True)
    local = registry.entry("local").from_settings(settings, site)
    assert isinstance(local, LocalConfig) and local.root == tmp_path / "runs" / "local"
    assert local.slots_by_chip == {"nvidia-h100-sxm": 4}
    assert local.isolation is not None and local.isolation.hide == (tmp_path,)
    assert local.isolation.allow_weak
    ray = registry.entry("ray").from_settings(settings, site)
    assert ray == RayConfig("http://10.0.0.5:8265", tmp_path / "runs" / "ray",
                            check_at_start=True)  # the server checks the cluster at start


def test_a_backend_that_cannot_contain_jobs_needs_the_operators_consent(tmp_path: Path) -> None:
    registry = default_registry()
    settings = Settings(home=tmp_path, database_url=None, backend="ray",
                        ray_address="http://127.0.0.1:1")
    with pytest.raises(InputError, match="AICENTER_UNSAFE_ALLOW_WEAK_ISOLATION"):
        registry.from_settings(settings, CenterSite(tmp_path))
    settings.unsafe_allow_weak_isolation = True  # then the server's start checks the cluster
    with pytest.raises(InputError, match=r"Ray cluster at http://127\.0\.0\.1:1 cannot be reached"):
        registry.from_settings(settings, CenterSite(tmp_path))


def test_a_registry_accepts_a_new_backend(tmp_path: Path) -> None:
    registry = BackendRegistry()
    local = default_registry().entry("local")
    registry.register(replace(local, name="mine"))
    assert registry.names() == ["mine"]
    assert registry.create("mine", LocalConfig(tmp_path / "mine")).name == "local"
    assert registry.capabilities("mine") == local.capabilities


def test_work_dirs_are_where_the_backend_keeps_them(tmp_path: Path) -> None:
    registry = default_registry()
    assert registry.work_dir(RunHandle("local", "r1", str(tmp_path / "r1"))) == (
        tmp_path / "r1" / "work")
    assert registry.work_dir(RunHandle("ray", "r1", "http://10.0.0.5:8265")) is None
    assert registry.work_dir(RunHandle("gone", "r1", "x")) is None


def test_every_protocol_member_is_documented_and_implemented_by_every_backend() -> None:
    from aicenter.backends.ray.backend import RayBackend
    from aicenter.backends.slurm.backend import SlurmBackend
    from aicenter.backends.virtual.backend import VirtualBackend

    members = [name for name in vars(Backend) if not name.startswith("_")]
    assert set(members) >= {"name", "capabilities", "set_slots", "launch", "status",
                            "read_log", "terminate", "list_runs", "forget"}
    for name in members:
        member = vars(Backend)[name]
        doc = (member.fget if isinstance(member, property) else member).__doc__
        assert doc and doc.strip(), f"Backend.{name} has no docstring"
        for implementation in (LocalBackend, RayBackend, SlurmBackend, VirtualBackend):
            assert hasattr(implementation, name), f"{implementation.__name__} lacks {name}"


def test_capacity_without_an_engine_count_is_the_slots_less_live_runs(tmp_path: Path) -> None:
    """local: its slots less the devices live runs hold; virtual: no count of its own."""
    local = default_registry().create("local", _sample("local", tmp_path))
    assert local.chip_capacity() == {CHIP: ChipCapacity(2, 2, 2)}
    handle = local.launch(LaunchRequest("cap-hold", _py("import time; time.sleep(30)"), CHIP, 1))
    try:
        assert local.chip_capacity() == {CHIP: ChipCapacity(2, 1, 2)}
    finally:
        local.terminate(handle, StopReason.CANCEL, 0)
        wait_until_finished(local, handle, 30)
    assert local.chip_capacity() == {CHIP: ChipCapacity(2, 2, 2)}
    virtual = default_registry().create("virtual", _sample("virtual", tmp_path))
    assert virtual.chip_capacity() == {}


def test_importing_the_backends_and_their_registry_does_not_import_ray() -> None:
    code = ("import sys, aicenter.backends as b; r = b.default_registry(); "
            "[e.capabilities for e in r.entries()]; print('ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.strip() == "False"


# -- capabilities: declared by every backend, and true ------------------------------------


def _sample(name: str, tmp_path: Path, *, contained: bool = False) -> Any:
    """A config of each registered backend, built without outside services; ``contained``:
    ask for the kernel box (a backend that claims ``contains_jobs`` boxes with it)."""
    if name == "local":
        isolation = None
        if contained:
            isolation = JobIsolation("namespace", (tmp_path / "private",),
                                     uid_range=(200_000, 200_009))
        return LocalConfig(tmp_path / "local", {CHIP: 2}, isolation)
    if name == "ray":
        return RayConfig("http://127.0.0.1:1", tmp_path / "ray")  # connects on first use only
    if name == "virtual":
        return VirtualConfig(tmp_path / "virtual", lambda: datetime.now(UTC))
    if name == "slurm":  # runs Slurm commands on first use only; jobs' users reach its root
        return SlurmConfig(_searchable(tmp_path) / "slurm", partition="aicenter",
                           gres=TEST_GRES, default_user=JOB_USER,
                           pool_nodes={"pa": "node1", "pb": "node2"})
    raise AssertionError(f"backend {name!r} has no sample config in test_contract.py: add one")


_SEARCHABLE: dict[Path, Path] = {}


def _searchable(tmp_path: Path) -> Path:
    """A directory every user can enter, one per test directory: the slurm backend refuses
    run directories its jobs' users cannot reach (pytest's own are private to their user)."""
    if tmp_path not in _SEARCHABLE:
        path = Path(tempfile.mkdtemp(prefix="aicenter-contract-", dir="/tmp"))
        path.chmod(0o755)
        _SEARCHABLE[tmp_path] = path
    return _SEARCHABLE[tmp_path]


@pytest.fixture(autouse=True, scope="module")
def _remove_searchable() -> Iterator[None]:
    yield
    for path in _SEARCHABLE.values():
        shutil.rmtree(path, ignore_errors=True)


def test_every_registered_backend_declares_its_capabilities(tmp_path: Path) -> None:
    for entry in default_registry().entries():
        assert isinstance(entry.capabilities, Capabilities), entry.name
        assert dataclasses.is_dataclass(entry.config_type), entry.name
        assert entry.config_type.__dataclass_params__.frozen, entry.name  # type: ignore[attr-defined]
        assert (entry.config_type.__doc__ or "").strip(), f"{entry.name}: config undocumented"
        backend = entry.create(_sample(entry.name, tmp_path / entry.name))
        assert isinstance(backend, Backend) and backend.name == entry.name
        assert backend.capabilities == entry.capabilities, entry.name


CHIP = "nvidia-h100-sxm"


def _run(backend: Backend, request: LaunchRequest, timeout_s: float = 60) -> tuple[str, str]:
    handle = backend.launch(request)
    final = wait_until_finished(backend, handle, timeout_s)
    return final.state.value, read_whole_log(backend, handle).decode()


JOB_PYTHON = {"slurm": "/usr/bin/python3"}
"""The jobs' Python where they run as another user (this venv's is under /root)."""
_python = sys.executable


def _py(code: str) -> tuple[str, ...]:
    return (_python, "-c", code)


def _check_runs_code(backend: Backend, tmp_path: Path) -> None:
    state, log = _run(backend, LaunchRequest("c-code", _py("print('ran here')"), CHIP, 1))
    assert state == "succeeded" and "ran here" in log, log


def _check_owns_devices(backend: Backend, tmp_path: Path) -> None:
    backend.set_slots({CHIP: 2})
    code = "import os; print(os.environ['CUDA_VISIBLE_DEVICES'], os.environ['AICENTER_DEVICE_IDS'])"
    state, log = _run(backend, LaunchRequest("c-dev", _py(code), CHIP, 2))
    assert state == "succeeded" and "0,1 0,1" in log, log
    with pytest.raises(InputError):
        backend.launch(LaunchRequest("c-dev-3", ("true",), CHIP, 3))


def _check_graceful_stop(backend: Backend, tmp_path: Path) -> None:
    code = ("import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, lambda *a: (print('checkpoint', flush=True), "
            "sys.exit(0)))\nprint('up', flush=True)\ntime.sleep(60)")
    handle = backend.launch(LaunchRequest("c-stop", _py(code), CHIP, 1, grace_period_s=20))
    deadline = time.monotonic() + 60
    while b"up" not in read_whole_log(backend, handle):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    backend.terminate(handle, StopReason.PREEMPT)
    final = wait_until_finished(backend, handle, 60)
    assert final.state is RunState.PREEMPTED
    assert b"checkpoint" in read_whole_log(backend, handle)


def _check_runs_sidecars(backend: Backend, tmp_path: Path) -> None:
    mark = tmp_path / "sidecar-was-here"
    sidecar = _py(f"import pathlib, time; pathlib.Path({str(mark)!r}).write_text('1'); "
                  "print('ready', flush=True); time.sleep(60)")
    code = f"import os; print('sidecar first:', os.path.exists({str(mark)!r}))"
    state, log = _run(backend, LaunchRequest("c-side", _py(code), CHIP, 1, sidecar=sidecar))
    assert state == "succeeded" and "sidecar first: True" in log, log


def _check_enforces_limits(backend: Backend, tmp_path: Path) -> None:
    if not detect().usable:
        pytest.skip(f"cgroups unusable here: {detect().reason}")
    state, log = _run(backend, LaunchRequest("c-lim", ("cat", "/proc/self/cgroup"), CHIP, 1,
                                             limits=JobLimits(pids=64)))
    assert state == "succeeded" and "aicenter-jobs/c-lim" in log, log


def _contained(tmp_path: Path, name: str) -> Backend:
    reason = probe_contained(200_000, 200_000)
    if reason is not None:
        pytest.skip(f"jobs cannot be contained here: {reason}")
    return default_registry().create(name, _sample(name, tmp_path, contained=True))


def _check_contains_jobs(backend: Backend, tmp_path: Path) -> None:
    boxed = _contained(tmp_path / "box", backend.name)
    state, log = _run(boxed, LaunchRequest("c-box", _py("import os; print('uid', os.getuid())"),
                                           CHIP, 1))
    assert state == "succeeded" and "uid 2000" in log, log


def _check_cuts_network(backend: Backend, tmp_path: Path) -> None:
    boxed = _contained(tmp_path / "net", backend.name)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = ("import socket\ntry:\n    socket.create_connection(('127.0.0.1', "
                f"{port}), timeout=3)\n    print('CONNECTED')\nexcept OSError as e:\n"
                "    print('refused', e)")
        state, log = _run(boxed, LaunchRequest("c-net", _py(code), CHIP, 1, no_network=True))
    assert state == "succeeded" and "refused" in log and "CONNECTED" not in log, log


@contextlib.contextmanager
def _slurm_drain_node2() -> Iterator[None]:
    """Slurm's node2 drained (as an operator would for maintenance), resumed after."""
    subprocess.run(["scontrol", "update", "nodename=node2", "state=drain",
                    "reason=aicenter contract test"], check=True)
    try:
        yield
    finally:
        subprocess.run(["scontrol", "update", "nodename=node2", "state=resume"], check=True)


NODE_LOSS: dict[str, tuple[Callable[[], contextlib.AbstractContextManager[None]], int]] = {
    "slurm": (_slurm_drain_node2, 4),
}
"""Per engine: how to take one node's chips away, and how many chips of CHIP that is."""


def _check_reports_capacity(backend: Backend, tmp_path: Path) -> None:
    before = backend.chip_capacity()[CHIP]
    assert 0 < before.per_node <= before.total and 0 < before.available <= before.total
    handle = backend.launch(LaunchRequest(
        "c-cap", _py("import time; print('up', flush=True); time.sleep(60)"), CHIP, 1))
    try:
        deadline = time.monotonic() + 60
        while b"up" not in read_whole_log(backend, handle):  # holds its chip, task started
            assert time.monotonic() < deadline
            time.sleep(0.1)
        held = backend.chip_capacity()[CHIP]
        assert (held.total, held.available) == (before.total, before.available - 1)
    finally:
        backend.terminate(handle, StopReason.CANCEL, 0)
        wait_until_finished(backend, handle, 60)
    if backend.name not in NODE_LOSS:
        return
    lose_node, chips = NODE_LOSS[backend.name]
    with lose_node():  # a drained node's chips are neither there nor available
        lost = backend.chip_capacity()[CHIP]
        assert (lost.total, lost.available) == (before.total - chips, before.available - chips)
    deadline = time.monotonic() + 30  # the engine takes the node back
    while backend.chip_capacity()[CHIP] != before:
        assert time.monotonic() < deadline, backend.chip_capacity()
        time.sleep(0.2)


POOL_CHIPS = {"local": 1, "virtual": 1, "slurm": 4}
"""Chips of each of the two pools of CHIP the places_pools check makes (slurm: a node
each, node1 and node2 of the CI cluster, as the sample config maps them)."""
WHERE = ("import os; print('node', os.environ.get('SLURMD_NODENAME'), 'devices', "
         "os.environ.get('AICENTER_DEVICE_IDS'), flush=True)")


def _wait_running(backend: Backend, handle: RunHandle, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while backend.status(handle).state is not RunState.RUNNING:
        assert time.monotonic() < deadline, backend.status(handle)
        time.sleep(0.1)


def _check_places_pools(backend: Backend, tmp_path: Path) -> None:
    """Two pools of one chip type, the first full: a second run placed on it never runs on
    the other's free chips (it waits in the engine, or is refused as busy), a run placed on
    the other runs there, and each run's status names its pool."""
    chips = POOL_CHIPS[backend.name]
    first, second = pool_device_ranges([("pa", CHIP, chips), ("pb", CHIP, chips)]).values()
    backend.set_slots({CHIP: 2 * chips})
    work = {"SIM_WORK_H100_S": "36000"}  # the virtual backend's runs: an hour of work
    hold = backend.launch(LaunchRequest("c-pool-hold", _py(
        "import time; print('holding', flush=True); time.sleep(120)"), CHIP, chips, env=work,
        pool=first, grace_period_s=1))
    waiter = None
    try:
        _wait_running(backend, hold)
        assert backend.status(hold).pool_id == "pa"
        try:
            waiter = backend.launch(LaunchRequest("c-pool-wait", _py(WHERE), CHIP, 1, env=work,
                                                  pool=first))
        except InputError as exc:  # the local backend: no free device of pool pa now
            assert exc.field == "chip_count" and "pool pa" in str(exc), exc
        else:
            time.sleep(3)
            assert backend.status(waiter).state is RunState.PENDING, backend.status(waiter)
            assert backend.status(waiter).pool_id == "pa"
        placed = backend.launch(LaunchRequest("c-pool-b", _py(WHERE), CHIP, 1,
                                              env={"SIM_WORK_H100_S": "1"}, pool=second))
        final = wait_until_finished(backend, placed, 60)
        assert final.state is RunState.SUCCEEDED and final.pool_id == "pb", final
        log = read_whole_log(backend, placed).decode()
        if backend.capabilities.runs_code:  # where it ran: node2 on Slurm, device 1 here
            expected = "node node2" if backend.name == "slurm" else \
                f"devices {second.first_device}"
            assert expected in log, log
    finally:
        for handle in (hold, waiter):
            if handle is not None:
                backend.terminate(handle, StopReason.CANCEL, 0)
                wait_until_finished(backend, handle, 60)
    if backend.name == "slurm":  # a pool the configuration does not map is refused
        with pytest.raises(InputError, match="pool pc has no Slurm partition") as caught:
            backend.launch(LaunchRequest("c-pool-c", ("true",), CHIP, 1,
                                         pool=PoolTarget("pc", 4)))
        assert caught.value.field == "pool"


def _check_elsewhere(where: str) -> Callable[[Backend, Path], None]:
    def check(backend: Backend, tmp_path: Path) -> None:
        pytest.skip(f"checked with real host rules by {where}")

    return check


CHECKS: dict[str, Callable[[Backend, Path], None]] = {
    "runs_code": _check_runs_code,
    "owns_devices": _check_owns_devices,
    "graceful_stop": _check_graceful_stop,
    "runs_sidecars": _check_runs_sidecars,
    "enforces_limits": _check_enforces_limits,
    "contains_jobs": _check_contains_jobs,
    "cuts_network": _check_cuts_network,
    "gives_egress": _check_elsewhere("tests/backends/test_egress.py (nftables, veth)"),
    "multi_node": _check_elsewhere("tests/backends/slurm/test_slurm_live.py (a gang over two "
                                   "slurmd), tests/backends/test_ray.py (a gang over two "
                                   "raylets)"),
    "reports_capacity": _check_reports_capacity,
    "places_pools": _check_places_pools,
}
"""How each claim is shown true. A capability without a check here fails the test below
once a backend claims it: a new claim comes with its proof."""

OUTSIDE_SERVICES = {"ray": "tests/backends/test_ray.py runs BackendBehaviour and shows each "
                           "claim on a Ray head and a second raylet"}
"""Backends whose claims need a service this test does not start, and where they are shown."""

LIVE_ENGINES: dict[str, Callable[[], str | None]] = {"slurm": _slurm_problem}
"""Backends whose claims are checked here on the engine CI starts (.ci/slurm-up), skipped
with the reason where it is not up."""

CLAIMS = [(entry.name, claim) for entry in default_registry().entries()
          for claim in entry.capabilities.claimed()]


@pytest.mark.parametrize(("name", "claim"), CLAIMS, ids=[f"{n}-{c}" for n, c in CLAIMS])
def test_every_claimed_capability_holds(name: str, claim: str, tmp_path: Path) -> None:
    assert claim in CHECKS, f"{name} claims {claim}, which test_contract.py cannot check yet"
    if name in OUTSIDE_SERVICES:
        pytest.skip(OUTSIDE_SERVICES[name])
    if name in LIVE_ENGINES and (problem := LIVE_ENGINES[name]()) is not None:
        pytest.skip(problem)
    global _python
    backend = default_registry().create(name, _sample(name, tmp_path))
    _python = JOB_PYTHON.get(name, sys.executable)
    try:
        CHECKS[claim](backend, tmp_path)
    finally:
        _python = sys.executable
