"""The weak box (an unprivileged server, run only with the operator's consent) and sidecars on
the local backend, with real processes and namespaces. The contained box, every production
job's, is tried by the escape suite (``tests/escape``).

The shared backend behaviour (exit codes, SIGTERM and grace, max duration, re-attach) must
hold unchanged when every job runs inside the isolation wrapper."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from aicenter.backends import Backend, RunState, read_whole_log, wait_until_finished
from aicenter.backends.local import LocalBackend
from aicenter.backends.local.isolation import JobIsolation, probe
from aicenter.domain.errors import InputError

from .behaviour import (
    FINISH_S,
    BackendBehaviour,
    job_output,
    notes_before,
    python,
    run_where_namespaces_run_out,
    with_note,
)

SLOTS = {"nvidia-h100-sxm": 8}

# skip only where the kernel refuses user namespaces, not when our own wrapper fails
pytestmark = pytest.mark.skipif(
    subprocess.run(["unshare", "-Urmp", "--fork", "true"], capture_output=True,
                   check=False).returncode != 0, reason="no user namespaces on this machine")


def test_the_probe_finds_isolation_working_here() -> None:
    assert probe() is None


def _private(tmp_path: Path) -> Path:
    """A stand-in for the center's HOME: a secret file, and the backend's state inside."""
    home = tmp_path / "home"
    (home / "datasets").mkdir(parents=True, exist_ok=True)
    (home / "datasets" / "part.parquet").write_text("SECRET RECORDS")
    return home


def _isolated(tmp_path: Path) -> LocalBackend:
    home = _private(tmp_path)
    return LocalBackend(home / "runs", SLOTS, weak((home,)))


def weak(hide: tuple[Path, ...], **kw: object) -> JobIsolation:
    """The weak box: the server's own uid, covers in user namespaces (operator consented)."""
    return JobIsolation("namespace", hide, uid_range=None, allow_weak=True, **kw)  # type: ignore[arg-type]


class TestIsolatedBehaviour(BackendBehaviour):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Backend:
        return _isolated(tmp_path)

    @pytest.fixture
    def reopen(self, tmp_path: Path) -> Callable[[], Backend]:
        return lambda: _isolated(tmp_path)


def _run(backend: LocalBackend, run_id: str, command: tuple[str, ...], **kw: object
         ) -> tuple[RunState, int | None, str, str]:
    handle = backend.launch(BackendBehaviour().request(run_id, command, **kw))
    final = wait_until_finished(backend, handle, FINISH_S)
    return final.state, final.exit_code, read_whole_log(backend, handle).decode(), final.message


def test_the_weak_box_opens_every_log_with_its_note_and_offsets_count_it(tmp_path: Path
                                                                         ) -> None:
    """The operator's consent to the weak box is said in each job's log, before the job's
    own output (whose offsets start after it) and in its exit message, once."""
    backend = _isolated(tmp_path)
    said = f"aicenter: {backend.isolation_note}\n".encode()
    assert b"weak box" in said
    for run_id in ("noted-1", "noted-2"):
        handle = backend.launch(BackendBehaviour().request(run_id, ("echo", run_id)))
        final = wait_until_finished(backend, handle, FINISH_S)
        assert final.message == with_note("exit code 0", backend.isolation_note)
        log = read_whole_log(backend, handle)
        assert log == said + f"{run_id}\n".encode()
        assert notes_before(log) == len(said) and job_output(log) == f"{run_id}\n".encode()
        assert backend.read_log(handle, len(said)).data == f"{run_id}\n".encode()


PROBE = textwrap.dedent("""
    import os, subprocess, sys
    home = sys.argv[1]
    for path in (home + '/datasets/part.parquet', home + '/runs/probe-1/request.json'):
        try:
            print(path, 'LEAK', open(path).read())
        except OSError as exc:
            print(path, 'denied', type(exc).__name__)
    print('under the cover', os.listdir(home), os.listdir(home + '/runs/probe-1'))
    print('cwd', os.getcwd())
    open('scratch.txt', 'w').write('mine')
    print('pids', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))
    print('caps', [l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')])
    for argv in (['umount', home], ['unshare', '-Urm', 'umount', home]):
        done = subprocess.run(argv, capture_output=True)
        print(' '.join(argv[:2]), 'exit', done.returncode)
    print('still hidden', not os.path.exists(home + '/datasets/part.parquet'))
""")


def test_job_cannot_see_or_uncover_the_private_paths(tmp_path: Path) -> None:
    backend = _isolated(tmp_path)
    home = tmp_path / "home"
    state, code, log, message = _run(backend, "probe-1", (*python(PROBE), str(home)))
    said = backend.isolation_note
    assert said is not None and said.startswith("UNSAFE: ")  # the weak box says so, once
    assert (state, code, message) == (RunState.SUCCEEDED, 0, with_note("exit code 0", said)), log
    assert log.startswith(f"aicenter: {said}\n") and log.count(said) == 1, log
    assert "LEAK" not in log, log
    assert f"{home}/datasets/part.parquet denied FileNotFoundError" in log
    assert "request.json denied FileNotFoundError" in log  # its run dir holds its env
    assert "under the cover ['runs'] ['work']" in log  # only the path to the work dir
    run_dir = home / "runs" / "probe-1"
    assert f"cwd {run_dir / 'work'}\n" in log  # its own work dir, bound back
    assert (run_dir / "work" / "scratch.txt").read_text() == "mine"
    assert "pids [1, 2" in log  # its own PID namespace: nothing of the server is visible
    assert "caps ['0000000000000000']" in log
    assert f"umount {home} exit 32" in log  # not permitted: no capability
    assert "unshare -Urm exit 1" in log  # a nested namespace: the covers are locked
    assert "still hidden True" in log


WRITER = textwrap.dedent("""
    import errno, os, sys
    import aicenter
    for path in (aicenter.__file__, sys.executable, '/etc/ld.so.preload', sys.argv[1] + '/x',
                 sys.argv[2] + '/x', '/tmp/aicenter-isolation-test-' + sys.argv[3], 'here'):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.close(fd)
            print('wrote', path)
        except OSError as exc:
            print('refused', path, errno.errorcode[exc.errno])
""")


def test_job_writes_only_its_work_dir_and_the_scratch_dirs(tmp_path: Path) -> None:
    """Nothing the server or a sidecar will run (the package, the interpreter, /etc) can be
    changed from inside; nor a read-only directory under /tmp (the gateway's sockets)."""
    home = _private(tmp_path)
    sockets = tmp_path / "sockets"
    sockets.mkdir()
    backend = LocalBackend(home / "runs", SLOTS,
                           weak((home,), read_only=(sockets,)))
    state, code, log, _ = _run(backend, "w-1", (*python(WRITER), str(tmp_path), str(sockets),
                                                tmp_path.name))
    assert (state, code) == (RunState.SUCCEEDED, 0), log
    import aicenter

    assert f"refused {aicenter.__file__} EROFS" in log
    assert f"refused {sys.executable} E" in log  # EROFS, or ETXTBSY: not writable either way
    assert "refused /etc/ld.so.preload EROFS" in log
    assert f"refused {sockets}/x EROFS" in log
    assert f"wrote {tmp_path}/x" in log  # /tmp stays writable (scratch)
    assert "wrote here" in log and (home / "runs" / "w-1" / "work" / "here").exists()
    Path(f"/tmp/aicenter-isolation-test-{tmp_path.name}").unlink()


def test_a_working_directory_holding_the_center_code_is_refused(tmp_path: Path) -> None:
    import aicenter

    backend = _isolated(tmp_path)
    with pytest.raises(InputError, match="center's own code"):
        backend.launch(BackendBehaviour().request(
            "wd-2", ("true",), working_dir=Path(aicenter.__file__).parent))


def test_job_environment_never_reaches_the_wrapper(tmp_path: Path) -> None:
    """PYTHONPATH (or LD_PRELOAD) of the job applies to the command only, never to code that
    runs before the covers are in place."""
    evil = tmp_path / "evil" / "aicenter"
    evil.mkdir(parents=True)
    marker = tmp_path / "evil-ran"
    (evil / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    backend = _isolated(tmp_path)
    state, code, log, _ = _run(backend, "env-1", ("/bin/sh", "-c", "echo $PYTHONPATH"),
                               env={"PYTHONPATH": str(evil.parent)})
    assert (state, code) == (RunState.SUCCEEDED, 0), log
    assert log.strip().endswith(str(evil.parent)) and not marker.exists()


def test_a_working_directory_inside_the_private_paths_is_refused(tmp_path: Path) -> None:
    backend = _isolated(tmp_path)
    with pytest.raises(InputError, match="private files"):
        backend.launch(BackendBehaviour().request("wd-1", ("true",),
                                                  working_dir=tmp_path / "home" / "datasets"))


def test_isolation_off_is_said_in_the_log_and_the_message(tmp_path: Path) -> None:
    home = _private(tmp_path)
    backend = LocalBackend(home / "runs", SLOTS, JobIsolation("none", (home,), allow_weak=True))
    state, _code, log, message = _run(backend, "off-1",
                                      ("cat", str(home / "datasets" / "part.parquet")))
    assert state is RunState.SUCCEEDED
    assert log.startswith("aicenter: job isolation is off (job_isolation = none)")
    assert "SECRET RECORDS" in log and "WITHOUT isolation" in message


UNAVAILABLE = textwrap.dedent("""
    import sys
    from pathlib import Path
    from aicenter.backends import LaunchRequest, wait_until_finished, read_whole_log
    from aicenter.backends.local.isolation import JobIsolation
    from aicenter.backends.local import LocalBackend
    home = Path(sys.argv[1])
    backend = LocalBackend(home / 'runs', {'nvidia-h100-sxm': 8},
                           JobIsolation('namespace', (home,), uid_range=None,
                                        allow_weak=True))
    handle = backend.launch(LaunchRequest('u-1', ('true',), 'nvidia-h100-sxm', 1))
    final = wait_until_finished(backend, handle, 60)
    print(backend.isolated, final.state.value, final.message)
    print(read_whole_log(backend, handle).decode())
""")


def test_isolation_unavailable_is_said_not_pretended(tmp_path: Path) -> None:
    """A server where user namespaces are exhausted (max_user_namespaces = 0 in its own user
    namespace): the backend notices at start and every job says it ran without isolation."""
    home = _private(tmp_path)
    server = tmp_path / "server.py"
    server.write_text(UNAVAILABLE)
    first, log = run_where_namespaces_run_out("user", server, str(home))
    assert first.startswith("False succeeded exit code 0; job isolation 'namespace' is "
                            "unavailable on this machine (aicenter: job isolation failed: "
                            "unshare(user, mount)"), first
    assert "WITHOUT isolation" in first
    assert log.startswith("aicenter: job isolation 'namespace' is unavailable")


# --- sidecars ------------------------------------------------------------------------------

SIDECAR = textwrap.dedent("""
    import os, signal, socket, sys, time
    path = sys.argv[1]
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(1)
    print('ready', flush=True)
    signal.signal(signal.SIGTERM, lambda *a: (os.unlink(path), sys.exit(0)))
    while True:
        conn, _ = s.accept()
        conn.sendall(b'served by ' + str(os.getpid()).encode())
        conn.close()
""")

CLIENT = ("import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
          "print(s.recv(100).decode())")


def test_sidecar_serves_the_isolated_job_and_ends_with_it(tmp_path: Path) -> None:
    backend = _isolated(tmp_path)
    sock = tmp_path / "side.sock"  # outside the private paths
    state, code, log, _ = _run(backend, "side-1", (*python(CLIENT), str(sock)),
                               sidecar=(sys.executable, "-c", SIDECAR, str(sock)))
    assert (state, code) == (RunState.SUCCEEDED, 0), log
    assert "served by " in log
    assert not sock.exists()  # the runner stopped the sidecar (SIGTERM) after the job


CRASHING_SIDECAR = SIDECAR.replace(  # dies after serving once; a restart binds the path again
    "    conn.close()\n", "    conn.close()\n    os._exit(3)\n").replace(
    "s.bind(path)", "os.path.exists(path) and os.unlink(path)\ns.bind(path)")
assert "os._exit(3)" in CRASHING_SIDECAR

RETRYING_CLIENT = textwrap.dedent("""
    import socket, sys, time
    for attempt in range(2):
        deadline = time.monotonic() + 20
        while True:
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(sys.argv[1])
                print(s.recv(100).decode(), flush=True)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
""")


def test_a_sidecar_that_dies_mid_job_is_restarted(tmp_path: Path) -> None:
    backend = _isolated(tmp_path)
    sock = tmp_path / "crash.sock"
    state, code, log, _ = _run(backend, "side-3", (*python(RETRYING_CLIENT), str(sock)),
                               sidecar=(sys.executable, "-c", CRASHING_SIDECAR, str(sock)))
    assert (state, code) == (RunState.SUCCEEDED, 0), log
    pids = {line.split()[-1] for line in log.splitlines() if line.startswith("served by")}
    assert len(pids) == 2  # the second read was served by a new sidecar
    assert "the data gateway exited (code 3); restarting it (1 of 3)" in log


def test_a_sidecar_that_never_gets_ready_fails_the_run(tmp_path: Path) -> None:
    backend = _isolated(tmp_path)
    marker = tmp_path / "job-ran"
    state, code, log, message = _run(
        backend, "side-2", ("touch", str(marker)),
        sidecar=(sys.executable, "-c", "import sys; sys.exit('cannot open the store')"))
    assert state is RunState.FAILED and code is None
    assert "the data gateway did not start: cannot open the store" in message
    assert message in log and not marker.exists()



@pytest.mark.skipif(os.getuid() != 0 or shutil.which("setpriv") is None
                    or not Path("/usr/bin/python3").exists(),
                    reason="needs root (to become an unprivileged user), setpriv and a system "
                    "Python that user can run")
def test_the_wrapper_works_for_an_unprivileged_server() -> None:
    """The same wrapper run by uid 65534, as an unprivileged server would run it (the wrapper
    is standard library only, so the system's Python runs the file itself): the covers hold,
    the command runs with that uid and no capability."""
    import aicenter.backends.local.isolation as wrapper

    root = Path(tempfile.mkdtemp(prefix="aicenter-unprivileged-"))
    try:
        (root / "home" / "datasets").mkdir(parents=True)
        (root / "home" / "datasets" / "part.parquet").write_text("SECRET")
        (root / "home" / "run" / "work").mkdir(parents=True)
        package = root / "pkg" / "aicenter" / "backends" / "local"
        package.mkdir(parents=True)
        for name in ("__init__.py", "../__init__.py", "../../__init__.py"):
            (package / name).write_text("")
        for module in ("isolation.py", "isolation_sys.py"):
            shutil.copy(Path(wrapper.__file__).with_name(module), package / module)
        (root / "home" / "run" / "request.json").write_text(json.dumps({
            "command": ["/bin/sh", "-c", f"id -u; cat {root}/home/datasets/part.parquet; "
                        "grep CapEff /proc/self/status; touch made"],
            "env": {"PATH": "/usr/bin:/bin"},
            "isolation": {"hide": [str(root / "home")], "keep": [str(root / "home/run/work")],
                          "writable": [str(root / "home/run/work")],
                          "cwd": str(root / "home/run/work")}}))
        subprocess.run(["chown", "-R", "65534:65534", str(root)], check=True)
        root.chmod(0o755)
        done = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             "/usr/bin/python3", "-I", "-c",
             f"import sys; sys.path.insert(0, {str(root / 'pkg')!r}); "
             "from aicenter.backends.local.isolation import main; main()",
             str(root / "home" / "run")],
            capture_output=True, text=True, timeout=60, env={}, check=False)
        assert done.returncode == 0, done.stderr  # the last command (touch) succeeded
        assert done.stdout.splitlines() == ["65534", "CapEff:\t0000000000000000"], done
        assert "No such file or directory" in done.stderr and "SECRET" not in done.stdout
        assert (root / "home" / "run" / "work" / "made").exists()
    finally:
        shutil.rmtree(root, ignore_errors=True)
