"""Jobs without network in the weak box of the local backend (``LaunchRequest.no_network``;
the contained box is tried by ``tests/escape``): real processes,
real namespaces, a real TCP server of the test on the host's 127.0.0.1 and the machine's
PostgreSQL (127.0.0.1:5432 and its Unix socket under /run), when it runs here."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aicenter.backends import RunState, read_whole_log, wait_until_finished
from aicenter.backends.local import LocalBackend
from aicenter.backends.local.isolation import JobIsolation, probe_network

from .behaviour import (
    FINISH_S,
    BackendBehaviour,
    python,
    run_where_namespaces_run_out,
    with_note,
)

SLOTS = {"nvidia-h100-sxm": 8}

pytestmark = pytest.mark.skipif(
    subprocess.run(["unshare", "-Urmpn", "--fork", "true"], capture_output=True,
                   check=False).returncode != 0,
    reason="no user or network namespaces on this machine")

PG_SOCKET = "/run/postgresql/.s.PGSQL.5432"


def _pg_listens() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
        return True
    except OSError:
        return False


# Tries each way out and reports it; then uses its own loopback.
PROBE = textwrap.dedent("""
    import os, socket, sys
    port, pg_socket, side = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    def tcp(name, port):
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
                said = s.recv(5).decode() if name == 'test-server' else ''
                print(name, 'CONNECTED', said, flush=True)
        except OSError as exc:
            print(name, 'refused', type(exc).__name__, exc.errno, flush=True)
    tcp('test-server', port)
    tcp('postgres-tcp', 5432)
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(pg_socket)
        print('postgres-unix CONNECTED', flush=True)
    except OSError as exc:
        print('postgres-unix refused', type(exc).__name__, flush=True)
    names = sorted(line.split(':')[0].strip() for line in open('/proc/net/dev') if ':' in line)
    print('interfaces', names, flush=True)
    with socket.create_server(('127.0.0.1', 0)) as own:
        c = socket.create_connection(own.getsockname(), timeout=5)
        conn, _ = own.accept()
        conn.sendall(b'pong')
        print('own loopback', c.recv(4).decode(), flush=True)
        c.close(); conn.close()
    s = socket.socket(socket.AF_UNIX)
    s.connect(side)
    print('sidecar', s.recv(100).decode(), flush=True)
    print('host tmp visible', os.path.exists(sys.argv[4]), flush=True)
    open('/tmp/job-dropped-' + sys.argv[5], 'w').write('records')
    print('done', flush=True)
""")

SIDECAR = textwrap.dedent("""
    import os, signal, socket, sys
    path = sys.argv[1]
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(1)
    print('ready', flush=True)
    signal.signal(signal.SIGTERM, lambda *a: (os.unlink(path), sys.exit(0)))
    while True:
        conn, _ = s.accept()
        conn.sendall(b'served')
        conn.close()
""")


def _backend(tmp_path: Path, mode: str = "namespace", sockets: Path | None = None
             ) -> LocalBackend:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    read_only = (sockets,) if sockets is not None else ()
    return LocalBackend(home / "runs", SLOTS,
                        JobIsolation(mode, (home,), read_only=read_only,  # type: ignore[arg-type]
                                     uid_range=None, allow_weak=True))


def _run(backend: LocalBackend, run_id: str, command: tuple[str, ...], **kw: object
         ) -> tuple[RunState, str, str]:
    handle = backend.launch(BackendBehaviour().request(run_id, command, **kw))
    final = wait_until_finished(backend, handle, FINISH_S)
    return final.state, read_whole_log(backend, handle).decode(), final.message


def test_the_network_probe_finds_network_isolation_working_here() -> None:
    assert probe_network() is None


def test_a_job_without_network_reaches_only_its_loopback_and_its_sidecar(
        tmp_path: Path, tcp_server: int) -> None:
    sockets = tmp_path / "sockets"  # under /tmp, like the gateway's socket directory
    sockets.mkdir(mode=0o700)
    side = sockets / "side.sock"
    seen = tmp_path / "host-file"
    seen.write_text("x")
    backend = _backend(tmp_path, sockets=sockets)
    marker = f"{tmp_path.name}-{secrets.token_hex(4)}"  # unique: /tmp outlives the test run
    state, log, message = _run(
        backend, "nonet-1",
        (*python(PROBE), str(tcp_server), PG_SOCKET, str(side), str(seen), marker),
        sidecar=(sys.executable, "-c", SIDECAR, str(side)), no_network=True)
    weak = backend.isolation_note  # the network is cut: only the weak box is said
    assert (state, message) == (RunState.SUCCEEDED, with_note("exit code 0", weak)), log
    assert weak is not None and log.startswith(f"aicenter: {weak}\n") and log.count(weak) == 1
    assert "CONNECTED" not in log, log
    assert "test-server refused ConnectionRefusedError" in log or \
        "test-server refused OSError 101" in log, log  # refused or network unreachable
    assert "postgres-tcp refused" in log
    assert "postgres-unix refused FileNotFoundError" in log  # /run is covered
    assert "interfaces ['lo']" in log
    assert "own loopback pong" in log  # its own servers on 127.0.0.1 work
    assert "sidecar served" in log  # the gateway's Unix socket keeps working
    assert "host tmp visible False" in log  # /tmp is a private one
    assert not Path(f"/tmp/job-dropped-{marker}").exists()  # and stays in the job
    assert "done" in log


@pytest.mark.skipif(not _pg_listens(), reason="no PostgreSQL on 127.0.0.1:5432 here")
def test_postgres_is_reachable_from_the_host_the_contrast(tmp_path: Path, tcp_server: int) -> None:
    """The same probe with the network: everything the isolated job was refused is there
    (so the refusals above are the namespace's doing, not an absent server)."""
    sockets = tmp_path / "sockets"
    sockets.mkdir(mode=0o700)
    backend = _backend(tmp_path, sockets=sockets)
    marker = f"{tmp_path.name}-{secrets.token_hex(4)}"
    state, log, _ = _run(
        backend, "net-1",
        (*python(PROBE), str(tcp_server), PG_SOCKET, str(sockets / "s.sock"), str(tmp_path / "x"),
         marker),
        sidecar=(sys.executable, "-c", SIDECAR, str(sockets / "s.sock")))
    assert state is RunState.SUCCEEDED, log
    assert "test-server CONNECTED hello" in log
    assert "postgres-tcp CONNECTED" in log
    if Path(PG_SOCKET).exists():
        assert "postgres-unix CONNECTED" in log
    Path(f"/tmp/job-dropped-{marker}").unlink()


CONNECT = ("import socket, sys\n"
           "try:\n"
           "    s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)\n"
           "    print('CONNECTED', s.recv(5).decode())\n"
           "except OSError as exc:\n"
           "    print('refused', exc)\n")


def test_a_job_with_network_reaches_the_test_server(tmp_path: Path, tcp_server: int) -> None:
    state, log, _ = _run(_backend(tmp_path), "net-2", (*python(CONNECT), str(tcp_server)))
    assert state is RunState.SUCCEEDED and "CONNECTED hello" in log, log


@pytest.mark.parametrize("mode", ["none", "library"])
def test_without_isolation_a_job_that_should_have_no_network_says_so(
        tmp_path: Path, tcp_server: int, mode: str) -> None:
    """Isolation off (or a backend without isolation): the job runs with the host network,
    and its log and message say so; a job not asked to be cut off says nothing of it."""
    if mode == "none":
        backend = _backend(tmp_path, "none")
    else:
        backend = LocalBackend(tmp_path / "runs", SLOTS)
    state, log, message = _run(backend, "off-1", (*python(CONNECT), str(tcp_server)),
                               no_network=True)
    assert state is RunState.SUCCEEDED, log
    assert "CONNECTED hello" in log  # not pretended: it had the network
    said = "should have had no network, but it ran WITH the host's network"
    assert log.startswith("aicenter: ") and said in log.splitlines()[0]
    assert said in message
    _state, log, message = _run(backend, "off-2", (*python(CONNECT), str(tcp_server)))
    assert "network" not in message and "network" not in log


UNAVAILABLE = textwrap.dedent("""
    import sys
    from pathlib import Path
    from aicenter.backends import LaunchRequest, wait_until_finished, read_whole_log
    from aicenter.backends.local.isolation import JobIsolation
    from aicenter.backends.local import LocalBackend
    home, port = Path(sys.argv[1]), sys.argv[2]
    backend = LocalBackend(home / 'runs', {'nvidia-h100-sxm': 8},
                           JobIsolation('namespace', (home,), uid_range=None,
                                        allow_weak=True))
    connect = ['python3', '-c', 'import socket, sys; '
               'socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5); '
               'print("CONNECTED")', port]
    handle = backend.launch(LaunchRequest('n-1', tuple(connect), 'nvidia-h100-sxm', 1,
                                          no_network=True))
    final = wait_until_finished(backend, handle, 60)
    print(backend.isolation_note)
    print(backend.isolated, final.state.value, final.message)
    print(read_whole_log(backend, handle).decode())
""")


def test_network_isolation_unavailable_is_said_not_pretended(tmp_path: Path,
                                                              tcp_server: int) -> None:
    """A server where network namespaces are exhausted (max_net_namespaces = 0 in its own
    user namespace) but file isolation works: a job that should have no network runs
    isolated from the center's files, with the host network, and says so."""
    home = tmp_path / "home"
    home.mkdir()
    script = tmp_path / "server.py"
    script.write_text(UNAVAILABLE)
    weak, rest = run_where_namespaces_run_out("net", script, str(home), str(tcp_server))
    first, log = rest.split("\n", 1)
    assert weak.startswith("UNSAFE: ") and "weak box" in weak  # said once, before the network
    unavailable = ("network isolation is unavailable on this machine (aicenter: job "
                   "isolation failed: unshare(user, mount, network)")
    assert first.startswith(f"True succeeded exit code 0; {weak}; {unavailable}"), first
    assert "ran WITH the host's network" in first
    assert log.startswith(f"aicenter: {weak}; {unavailable}")
    assert log.count(weak) == 1 and first.count(weak) == 1
    assert "CONNECTED" in log  # the truth: it had the network
