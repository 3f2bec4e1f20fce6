"""Egress for jobs (``aicenter.backends.local.egress``): real network namespaces, veth pairs and
nftables rules, no mocks. A "test host" network namespace of the test's own stands for the
outside world; job namespaces are made the way the isolation wrapper makes them (a root
process that unshares its network namespace and calls ``plumb``, then drops to ``nobody``).

The host rules the tests install (table ``inet aicenter``, ``net.ipv4.ip_forward=1``) are
removed and put back as they were afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aicenter.backends.local import egress

IP = shutil.which("ip") or "/usr/sbin/ip"


def _kernel_problem() -> str | None:
    """Why this machine cannot run the tests (not root, no network namespaces, no veth), or
    ``None``. Only what the kernel or the privileges rule out skips; a missing nft fails."""
    if os.geteuid() != 0:
        return "the egress tests need root (network namespaces of the host, veth pairs)"
    if not os.path.exists(IP):
        return "no ip command (iproute2) to make the test host"
    done = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    if done.returncode != 0:
        return f"no network namespaces here: {done.stderr.decode().strip()}"
    return egress._veth_problem()


pytestmark = pytest.mark.skipif(bool(_kernel_problem()), reason=str(_kernel_problem()))


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IP, *args], capture_output=True, text=True, check=check)


def _link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def _free_slot() -> int:
    while True:
        slot = random.randint(50000, egress.MAX_SLOT)
        if not _link_exists(egress.host_link(slot)):
            return slot


# The test host's server: says who connected (so masquerading shows), on every address.
TEST_HOST_SERVER = textwrap.dedent("""
    import socket, sys
    server = socket.create_server(('0.0.0.0', 0))
    print(server.getsockname()[1], flush=True)
    while True:
        conn, peer = server.accept()
        with conn:
            conn.sendall(f'hello {peer[0]}\\n'.encode())
""")

# A job: unshares its network namespace as root, gets egress, drops to nobody, then either
# tries each target (``probe``) or serves on its own address until its stdin closes (``serve``).
JOB = textwrap.dedent("""
    import ctypes, encodings.idna, json, os, socket, subprocess, sys  # idna: before setuid
    from aicenter.backends.local import egress
    config = json.loads(sys.argv[1])
    host_fd = os.open('/proc/self/ns/net', os.O_RDONLY)
    if ctypes.CDLL(None, use_errno=True).unshare(0x40000000) != 0:
        sys.exit('unshare(CLONE_NEWNET) failed')
    subprocess.run([config['ip'], 'link', 'set', 'lo', 'up'], check=True)
    egress.TABLE = config.get('table', egress.TABLE)
    try:
        egress.plumb(config['slot'], host_fd)
        said = {'plumbed': True}
    except egress.EgressError as error:
        said = {'plumbed': False, 'error': str(error)}
    os.close(host_fd)
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
    said['links'] = sorted(n.split(':')[0].strip() for n in open('/proc/net/dev') if ':' in n)
    with open('/proc/net/if_inet6') as lines:
        said['ipv6'] = [line.split()[-1] for line in lines]
    said['change'] = subprocess.run([config['ip'], 'addr', 'add', '100.64.0.99/30', 'dev', 'eth0'],
                                    capture_output=True).returncode
    def connect(host, port):
        try:
            conn = socket.create_connection((host, port), timeout=1.5)
        except OSError as error:
            return 'failed ' + type(error).__name__
        with conn:  # the test host's server says hello, a job's server nothing
            conn.settimeout(0.5 if port == config.get('port') else 3)
            try:
                return ('connected ' + conn.recv(100).decode()).strip()
            except TimeoutError:
                return 'connected'
    if config['mode'] == 'serve':
        server = socket.create_server(('0.0.0.0', config['port']))
        own = egress.slot_addresses(config['slot'])[1].ip
        said['self'] = connect(str(own), config['port']) if said['plumbed'] else None
        print(json.dumps(said), flush=True)
        sys.stdin.read()
    else:
        said['targets'] = {name: connect(host, port) for name, host, port in config['targets']}
        print(json.dumps(said), flush=True)
""")


def _job_config(slot: int, mode: str, **more: Any) -> str:
    return json.dumps({"slot": slot, "mode": mode, "ip": IP, **more})


def run_job(slot: int, targets: list[tuple[str, str, int]], **more: Any) -> dict[str, Any]:
    """Start a job that tries ``targets`` (name, host, port); what it saw."""
    done = subprocess.run([sys.executable, "-c", JOB, _job_config(slot, "probe",
                                                                  targets=targets, **more)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@contextlib.contextmanager
def serving_job(slot: int, port: int) -> Iterator[dict[str, Any]]:
    """A job that serves on ``port`` of its own addresses while the block runs."""
    job = subprocess.Popen([sys.executable, "-c", JOB, _job_config(slot, "serve", port=port)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert job.stdout is not None
        said: dict[str, Any] = json.loads(job.stdout.readline() or "{}")
        yield said
    finally:
        if job.stdin:
            job.stdin.close()
        job.wait(timeout=30)


def wait_gone(link: str, timeout_s: float = 15.0) -> bool:
    """Whether ``link`` disappears (a network namespace is torn down asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while _link_exists(link):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@dataclass(frozen=True)
class OutsideHost:
    """The outside world: a network namespace behind a veth, a server on all its addresses,
    and a second address ``control`` that stands for a control-plane host (denied)."""

    netns: str
    host_link: str
    host_side: str
    address: str
    control: str
    port: int


@pytest.fixture(scope="module")
def test_host() -> Iterator[OutsideHost]:
    tag = secrets.token_hex(3)
    n = random.randint(0, 255)
    host = OutsideHost(netns=f"aicjtest-{tag}", host_link=f"aict{tag}", host_side=f"100.127.{n}.1",
                    address=f"100.127.{n}.2", control=f"100.126.{n}.1", port=0)
    server: subprocess.Popen[str] | None = None
    try:
        _ip("netns", "add", host.netns)
        _ip("link", "add", host.host_link, "type", "veth", "peer", "name", "th0", "netns",
            host.netns)
        _ip("addr", "add", f"{host.host_side}/30", "dev", host.host_link)
        _ip("link", "set", host.host_link, "up")
        _ip("-n", host.netns, "addr", "add", f"{host.address}/30", "dev", "th0")
        _ip("-n", host.netns, "addr", "add", f"{host.control}/32", "dev", "lo")
        _ip("-n", host.netns, "link", "set", "th0", "up")
        _ip("-n", host.netns, "link", "set", "lo", "up")
        _ip("route", "add", f"{host.control}/32", "via", host.address)
        server = subprocess.Popen([IP, "netns", "exec", host.netns, sys.executable, "-c",
                                   TEST_HOST_SERVER], stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        port = int(server.stdout.readline())
        yield OutsideHost(**{**host.__dict__, "port": port})
    finally:
        if server is not None:
            server.kill()
            server.wait()
        _ip("route", "del", f"{host.control}/32", check=False)
        _ip("netns", "del", host.netns, check=False)
        _ip("link", "del", host.host_link, check=False)


@pytest.fixture(scope="module")
def host_rules(test_host: OutsideHost) -> Iterator[list[str]]:
    """The host rules, denying the test host's control-plane network; put back as found."""
    if egress._nft() is None:
        pytest.fail("nftables is not installed (apt-get install nftables): egress cannot be "
                    "tested, nor given")
    forward = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    listed = subprocess.run(["nft", "list", "table", "inet", egress.TABLE],
                            capture_output=True, text=True, check=False)
    deny = [test_host.control.rsplit(".", 1)[0] + ".0/24"]
    try:
        egress.ensure_host_rules(deny)
    except egress.EgressError as error:
        if "Operation not supported" in str(error) or "Protocol not supported" in str(error):
            pytest.skip(f"the kernel has no nf_tables: {error}")
        raise
    try:
        yield deny
    finally:
        if listed.returncode == 0:  # the server's own, as it was
            subprocess.run(["nft", "-f", "-"], input=f"table inet {egress.TABLE}\ndelete table "
                           f"inet {egress.TABLE}\n{listed.stdout}", text=True, check=True)
        else:
            subprocess.run(["nft", "delete", "table", "inet", egress.TABLE], check=False)
        Path("/proc/sys/net/ipv4/ip_forward").write_text(forward)


@pytest.fixture
def host_server() -> Iterator[int]:
    """A TCP server of the host on all its addresses (127.0.0.1, the jobs' host sides, the
    test host's host side...): the control plane, which no job may reach."""
    with socket.create_server(("0.0.0.0", 0)) as server:
        yield server.getsockname()[1]


def _host_addresses() -> list[str]:
    lines = _ip("-4", "-o", "addr", "show", "scope", "global").stdout.splitlines()
    return [line.split()[3].split("/")[0] for line in lines]


# -- pure parts ------------------------------------------------------------------------------


def test_slot_addresses_are_the_slots_slash_30() -> None:
    host, job = egress.slot_addresses(0)
    assert (str(host), str(job)) == ("100.64.0.1/30", "100.64.0.2/30")
    host, job = egress.slot_addresses(egress.MAX_SLOT)
    assert (str(host), str(job)) == ("100.67.255.253/30", "100.67.255.254/30")
    assert str(egress.slot_addresses(3, "10.200.0.0/24")[1]) == "10.200.0.14/30"
    for slot, subnet, said in [(64, "10.200.0.0/24", "does not fit"),
                               (-1, egress.DEFAULT_SUBNET, "not in 0..65535"),
                               (0, "fd00::/64", "must be IPv4"), (0, "nonsense", "not a network")]:
        with pytest.raises(egress.EgressError, match=said):
            egress.slot_addresses(slot, subnet)
    assert len(egress.host_link(egress.MAX_SLOT)) <= 15


def test_data_jobs_never_get_egress() -> None:
    allowed = {"orgs": ["org-a"], "priority_classes": ["chase-team"]}
    assert egress.egress_allowed("listed", reads_data=False, org_id="org-a",
                                 priority_class="normal", **allowed)
    assert egress.egress_allowed("listed", reads_data=False, org_id="org-b",
                                 priority_class="chase-team", **allowed)
    assert not egress.egress_allowed("listed", reads_data=False, org_id="org-b",
                                     priority_class="normal", **allowed)
    assert egress.egress_allowed("all", reads_data=False, org_id="x", priority_class="normal")
    for mode in egress.MODES:
        assert not egress.egress_allowed(mode, reads_data=True, org_id="org-a",
                                         priority_class="chase-team", **allowed)
    assert not egress.egress_allowed("none", reads_data=False, org_id="org-a",
                                     priority_class="chase-team", **allowed)
    with pytest.raises(egress.EgressError, match="job_egress must be"):
        egress.egress_allowed("some", reads_data=False, org_id="x", priority_class="normal")


def test_ruleset_merges_the_deny_list_and_always_denies_link_local() -> None:
    script = egress.ruleset(["10.9.0.0/16", "10.9.1.0/24", "10.10.0.5", "fd00::/8"])
    assert "elements = { 10.9.0.0/16, 10.10.0.5/32, 169.254.0.0/16 }" in script
    with pytest.raises(egress.EgressError, match="not a network"):
        egress.ruleset(["10.0.0.0/33"])


def test_control_plane_cidrs_name_the_database_host() -> None:
    assert egress.control_plane_cidrs(None, ["10.0.0.0/8"]) == ["10.0.0.0/8"]
    assert egress.control_plane_cidrs("sqlite:////var/lib/aicenter/a.db") == []
    assert egress.control_plane_cidrs(
        "postgresql+psycopg://u:p@10.1.2.3:5432/aicenter") == ["10.1.2.3/32"]


# -- real namespaces -------------------------------------------------------------------------


def test_host_rules_are_idempotent_and_probed(host_rules: list[str]) -> None:
    egress.ensure_host_rules(host_rules)
    egress.ensure_host_rules(host_rules)
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True,
                            check=True).stdout
    assert tables.count(f"table inet {egress.TABLE}\n") == 1
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "1"
    assert egress.probe() is None
    subprocess.run(["nft", "flush", "chain", "inet", egress.TABLE, "input"], check=True)
    try:
        assert "chain input of table inet aicenter has 0 rules" in str(egress.probe())
    finally:
        egress.ensure_host_rules(host_rules)
    assert egress.probe() is None


def test_a_job_reaches_the_outside_but_not_the_control_plane_nor_other_jobs(
        host_rules: list[str], test_host: OutsideHost, host_server: int) -> None:
    first, second = _free_slot(), _free_slot()
    first_host = str(egress.slot_addresses(first)[0].ip)
    second_host, second_job = (str(a.ip) for a in egress.slot_addresses(second))
    # the control: the host's server does answer on a host address (for a non-job link)
    with socket.create_connection((test_host.host_side, host_server), timeout=5):
        pass
    with serving_job(second, 8000) as other:
        assert other["plumbed"], other
        assert other["self"] == "connected", other  # it does serve on its own address
        assert _link_exists(egress.host_link(second))
        targets = [
            ("test host", test_host.address, test_host.port),
            ("control plane", test_host.control, test_host.port),
            ("host 127.0.0.1", "127.0.0.1", host_server),
            ("host side of own link", first_host, host_server),
            ("host side of the test host's link", test_host.host_side, host_server),
            ("other job", second_job, 8000),
            ("host side of the other job's link", second_host, host_server),
            *[(f"host address {a}", a, host_server) for a in _host_addresses()],
        ]
        said = run_job(first, targets)
        # the same slot twice (a bug of the caller) is refused, the live job's link kept
        twice = run_job(second, [])
        assert not twice["plumbed"] and "exists already" in twice["error"], twice
        assert _link_exists(egress.host_link(second))
    assert said["plumbed"], said
    seen = said["targets"]
    # egress works, through the host's forwarding, masqueraded to the host's address
    assert seen.pop("test host") == f"connected hello {test_host.host_side}", said
    assert all(result.startswith("failed") for result in seen.values()), seen
    assert said["links"] == ["eth0", "lo"]
    assert not [name for name in said["ipv6"] if name == "eth0"], said  # no IPv6 on eth0
    assert said["change"] != 0  # the job cannot change its network
    for slot in (first, second):
        assert wait_gone(egress.host_link(slot)), f"{egress.host_link(slot)} left on the host"


def test_nothing_reaches_a_job_from_outside(host_rules: list[str], test_host: OutsideHost
                                            ) -> None:
    slot = _free_slot()
    job_address = str(egress.slot_addresses(slot)[1].ip)
    with serving_job(slot, 8001) as job:
        assert job["self"] == "connected", job
        from_host = subprocess.run(
            [sys.executable, "-c", "import socket, sys; socket.create_connection("
             f"({job_address!r}, 8001), timeout=1.5)"], capture_output=True, check=False)
        from_test_host = subprocess.run(
            [IP, "netns", "exec", test_host.netns, sys.executable, "-c",
             f"import socket; socket.create_connection(({job_address!r}, 8001), timeout=1.5)"],
            capture_output=True, check=False)
        # the test host has no route to the job: give it one, through the host
        _ip("-n", test_host.netns, "route", "add", f"{job_address}/32", "via",
            test_host.host_side)
        routed = subprocess.run(
            [IP, "netns", "exec", test_host.netns, sys.executable, "-c",
             f"import socket; socket.create_connection(({job_address!r}, 8001), timeout=1.5)"],
            capture_output=True, check=False)
        _ip("-n", test_host.netns, "route", "del", f"{job_address}/32")
    assert from_host.returncode != 0, "a process of the host reached a job"
    assert from_test_host.returncode != 0 and routed.returncode != 0, "the outside reached a job"
    assert wait_gone(egress.host_link(slot))


def test_no_egress_without_the_host_rules(host_rules: list[str]) -> None:
    slot = _free_slot()
    said = run_job(slot, [], table="aicjtest_missing")
    assert not said["plumbed"]
    assert "no egress for slot" in said["error"] and "aicjtest_missing" in said["error"]
    assert said["links"] == ["lo"]
    assert not _link_exists(egress.host_link(slot))


def test_plumb_refuses_the_host_namespace() -> None:
    fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        with pytest.raises(egress.EgressError, match="job's own network namespace"):
            egress.plumb(_free_slot(), fd)
    finally:
        os.close(fd)


EGRESS_JOB = textwrap.dedent("""
    import socket, sys
    for name, host, port in zip(sys.argv[1::3], sys.argv[2::3], map(int, sys.argv[3::3])):
        try:
            with socket.create_connection((host, port), timeout=3) as conn:
                said = conn.recv(64).decode(errors='replace').split()[:1]
                print(name, 'connected', said, flush=True)
        except OSError as exc:
            print(name, 'failed', exc.errno, flush=True)
""")


def test_a_contained_job_allowed_egress_reaches_the_outside_only(
        host_rules: list[str], test_host: OutsideHost, host_server: int, tmp_path: Path) -> None:
    """End to end through the local backend's contained box: a job with ``egress`` reaches
    the test host, and neither the host (127.0.0.1, its addresses) nor the denied network; a
    job that reads data (``no_network``) gets no network even when egress is asked."""
    from aicenter.backends import LaunchRequest, read_whole_log, wait_until_finished
    from aicenter.backends.local import LocalBackend
    from aicenter.backends.local.isolation import JobIsolation, probe_contained

    if probe_contained(200_000, 200_000) is not None:
        pytest.skip(f"jobs cannot be contained here: {probe_contained(200_000, 200_000)}")
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    backend = LocalBackend(home / "runs", {"nvidia-h100-sxm": 8},
                           JobIsolation("namespace", (home,)))
    targets = [("outside", test_host.address, str(test_host.port)),
               ("control", test_host.control, str(test_host.port)),
               ("loopback", "127.0.0.1", str(host_server)),
               *[(f"host-{a}", a, str(host_server)) for a in _host_addresses()]]
    argv = (sys.executable, "-c", EGRESS_JOB, *[part for t in targets for part in t])
    logs = {}
    for run_id, no_network in (("egress-1", False), ("egress-data-1", True)):
        handle = backend.launch(LaunchRequest(run_id, argv, "nvidia-h100-sxm", 1, egress=True,
                                              no_network=no_network))
        assert wait_until_finished(backend, handle, 60).exit_code == 0
        logs[run_id] = read_whole_log(backend, handle).decode()
    lines = dict(line.split(" ", 1) for line in logs["egress-1"].splitlines())
    assert lines.pop("outside") == "connected ['hello']", logs
    assert all(said.startswith("failed") for said in lines.values()), logs
    assert "connected" not in logs["egress-data-1"], logs
