"""Escape attempts by a tenant's job, each run as a real job of a real center (SQLite and
PostgreSQL), each asserted to fail. See ``conftest.py``; add every new escape here."""

from __future__ import annotations

import ast
import os
import textwrap
from pathlib import Path

import aicenter
from aicenter.backends.local.isolation import runtime_dirs
from aicenter.domain.job import JobStatus
from aicenter.services.scheduling import make_policy, run_round
from tests.escape.conftest import Center

TRY_OPEN = textwrap.dedent("""
    import errno, sys
    mode = sys.argv[1]
    for path in sys.argv[2:]:
        try:
            with open(path, mode) as handle:
                if mode == 'r':
                    handle.read(1)
            print('ESCAPED', mode, path, flush=True)
        except OSError as exc:
            print('refused', mode, path, errno.errorcode.get(exc.errno, exc.errno), flush=True)
""")


def _refused(log: str, mode: str, paths: list[str]) -> None:
    assert "ESCAPED" not in log, log
    for path in paths:
        assert f"refused {mode} {path} " in log, log


def test_a_job_runs_as_its_own_unprivileged_uid_and_owns_what_it_writes(center: Center
                                                                         ) -> None:
    code = ("import os; open('made.txt', 'w').write('x'); "
            "print('ids', os.getuid(), os.geteuid(), os.getgid(), os.getgroups(), flush=True); "
            "print('caps', [l.split()[1] for l in open('/proc/self/status') "
            "if l.startswith(('CapEff', 'CapPrm', 'CapBnd'))]); "
            "print('init caps', [l.split()[1] for l in open('/proc/1/status') "
            "if l.startswith(('CapEff', 'CapPrm'))])")
    job, log = center.run(code)
    assert job.status is JobStatus.SUCCEEDED, log
    uid = int(log.split("ids ")[1].split()[0])
    assert 200_000 <= uid <= 265_535 and uid != os.getuid(), log
    assert "caps ['0000000000000000', '0000000000000000', '0000000000000000']" in log
    assert "init caps ['0000000000000000', '0000000000000000']" in log  # not even its init
    made = next(center.home.glob("runs/local/*/work/made.txt"))
    assert made.stat().st_uid == uid  # on the host: the job's uid, never the server's


def test_a_job_cannot_write_the_system_or_the_center_code(center: Center) -> None:
    package = Path(aicenter.__file__).parent
    targets = ["/etc/ld.so.preload", "/etc/passwd", str(package / "__init__.py"),
               str(package / "escape.py"), "/usr/lib/escape", "/escape"]
    job, log = center.run(TRY_OPEN, "a", *targets)
    assert job.status is JobStatus.SUCCEEDED, log
    _refused(log, "a", targets)
    assert not (package / "escape.py").exists() and not Path("/escape").exists()


def _database_file(center: Center) -> Path:
    """Where this center's database is on the host: the SQLite file its URL names, or a file
    of the PostgreSQL server's data directory (which the server names itself)."""
    url = center.ctx.db.url
    if url.startswith("sqlite"):
        return Path(url.split(":///", 1)[1])
    from sqlalchemy import text

    with center.ctx.db.engine.connect() as conn:
        data = conn.execute(text("SHOW data_directory")).scalar_one()
    return Path(data) / "global" / "pg_control"


def test_a_job_cannot_read_shadow_the_database_the_token_or_datasets(center: Center) -> None:
    home = center.home
    database = _database_file(center)
    assert database.is_file(), database  # the attempt is on the database's real file
    targets = ["/etc/shadow", str(home / "operator-token"), str(database),
               str(home / "datasets" / "part-0.parquet"), "/proc/1/root/etc/shadow",
               f"/proc/{os.getpid()}/environ", "/root/.bash_history"]
    job, log = center.run(TRY_OPEN, "r", *targets)
    assert job.status is JobStatus.SUCCEEDED, log
    _refused(log, "r", targets)
    assert "refused r /etc/shadow EACCES" in log  # the system is there, its secrets are not


LISTING = textwrap.dedent("""
    import os, sys
    for path in ('/', '/home', '/root', '/srv', '/var', '/run', '/tmp', '/dev'):
        try:
            print('ls', path, sorted(os.listdir(path)), flush=True)
        except OSError as exc:
            print('ls', path, 'refused', exc.errno, flush=True)
    code = sys.argv[1:]  # the center's code dirs: /home or /root may lead to them, nothing else
    inside = lambda d: any(d == c or d.startswith(c + '/') for c in code)
    below = lambda d: not inside(d) and any(c.startswith(d + '/') for c in code)
    stack = ['/home', '/root']
    while stack:
        path = stack.pop()
        try:
            entries = sorted(os.listdir(path))
        except OSError as exc:
            print('walk', path, 'refused', exc.errno, flush=True)
            continue
        print('walk', path, entries, flush=True)
        stack += [os.path.join(path, e) for e in entries if below(os.path.join(path, e))]
""")


def test_nothing_outside_the_allow_list_is_visible(center: Center) -> None:
    code = runtime_dirs()
    job, log = center.run(LISTING, *code)
    assert job.status is JobStatus.SUCCEEDED, log
    # /home and /root hold nothing of the host's (homes, keys, histories): at most the path
    # down to the center's Python, when it is installed there (a pyenv under /root)
    walked = [line.split(" ", 2)[1:] for line in log.splitlines() if line.startswith("walk ")]
    assert {path for path, _ in walked} >= {"/home", "/root"}, log
    for path, entries in walked:
        if entries.startswith("refused"):
            assert entries == "refused 2", (path, entries)  # absent: nothing there at all
            continue
        for entry in ast.literal_eval(entries):
            inner = f"{path}/{entry}"
            assert any(c == inner or c.startswith(inner + "/") for c in code), \
                f"{inner} is visible to the job and is not the center's code"
    top = ast.literal_eval(log.split("ls / ")[1].splitlines()[0])
    # the center's code is bound where it lives (a checkout under /work, /check, /srv...)
    code_tops = {Path(p).parts[1] for p in runtime_dirs()}
    assert set(top) <= {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "dev",
                        "proc", "sys", "tmp", "var", "root", "home", *code_tops}, top
    assert "ls /run refused 2" in log  # services' sockets (PostgreSQL's) are not there
    devices = ast.literal_eval(log.split("ls /dev ")[1].splitlines()[0])
    assert set(devices) <= {"null", "zero", "full", "random", "urandom", "tty", "fd", "stdin",
                            "stdout", "stderr", "ptmx", "pts", "shm"}, devices


PEEK = textwrap.dedent("""
    import glob, os, sys
    other_run = sys.argv[1]
    for path in (other_run, other_run + '/output.log', other_run + '/request.json',
                 other_run + '/work/secret.txt'):
        try:
            print('ESCAPED', path, open(path).read() if os.path.isfile(path)
                  else os.listdir(path), flush=True)
        except OSError as exc:
            print('refused', path, exc.errno, flush=True)
    print('tmp', os.listdir('/tmp'), 'shm', os.listdir('/dev/shm'), flush=True)
""")

HOLDER = textwrap.dedent("""
    import ctypes, os, time
    open('secret.txt', 'w').write('TENANT-A-SECRET')
    open('/tmp/drop.txt', 'w').write('TENANT-A-SECRET')
    open('/dev/shm/drop', 'w').write('TENANT-A-SECRET')
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    shm = libc.shmget(0x41494331, 4096, 0o1000 | 0o666)  # IPC_CREAT
    address = libc.shmat(shm, None, 0)
    ctypes.memmove(address, b'TENANT-A-SECRET', 15)
    print('holding', shm, flush=True)
    time.sleep(120)
""")

SYSV = textwrap.dedent("""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    shm = libc.shmget(0x41494331, 0, 0)
    print('sysv', shm, ctypes.get_errno(), flush=True)
""")


def test_another_jobs_run_dir_tmp_and_shared_memory_are_out_of_reach(center: Center) -> None:
    holder = center.submit(_python(HOLDER))
    running = center.wait(holder.id, {JobStatus.RUNNING})
    run_dir = Path(str(running.handle).split("@", 1)[1])
    import time

    deadline = time.monotonic() + 30
    while "holding" not in center.log(holder.id):  # every drop made, the segment written
        assert time.monotonic() < deadline, center.log(holder.id)
        time.sleep(0.1)
    for who in (center.other, center.tenant):  # another tenant's job, and the same tenant's
        job, log = center.run(PEEK, str(run_dir), who=who)
        assert job.status is JobStatus.SUCCEEDED, log
        assert "ESCAPED" not in log and "TENANT-A-SECRET" not in log, log
        assert "drop" not in log.split("tmp ")[1] and "shm []" in log, log  # private /tmp, shm
        job, log = center.run(SYSV, who=who)
        assert "sysv -1 2" in log, log  # ENOENT: the segment is in the holder's IPC namespace
    center.ctx.backend.terminate(_handle(running), _cancel())
    center.wait(holder.id)


GATEWAY_HOLDER = textwrap.dedent("""
    import time
    from aicenter.exchange.reader import open_dataset
    records = iter(open_dataset('escape-news'))
    next(records)
    print('holding', flush=True)
    time.sleep(120)
""")

GATEWAY_PEEK = textwrap.dedent("""
    import json, os, socket, sys
    target = sys.argv[1]  # the licensed job's gateway socket, as the host names it
    sockets, victim = os.path.dirname(os.path.dirname(target)), os.path.dirname(target)
    own = os.environ.get('AICENTER_DATA_SOCKET')
    print('own socket', own is not None, flush=True)
    try:
        print('listing', sorted(os.listdir(sockets)), flush=True)
    except OSError as exc:
        print('listing refused', exc.errno, flush=True)
    paths = [target]
    if own:  # from its own socket directory, one step up and into the victim's
        paths.append(os.path.join(os.path.dirname(own), '..', os.path.basename(victim),
                                  'gateway.sock'))
    for path in paths:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            token = os.environ.get('AICENTER_DATA_TOKEN', 'guess')
            s.sendall(json.dumps({'token': token, 'op': 'open', 'dataset': 'escape-news'})
                      .encode() + b'\\n')
            print('ESCAPED connected', path, s.recv(200), flush=True)
        except OSError as exc:
            print('refused connect', exc.errno, flush=True)
""")


def _licensed_dataset(center: Center, tmp_path: Path) -> None:
    """A provider's dataset ``escape-news`` offered for pre-training, which both tenants
    license."""
    import json
    from datetime import timedelta

    from aicenter.domain.org import OrgClass
    from aicenter.domain.person import Role
    from aicenter.services import dataset as dataset_svc
    from aicenter.services import licence as licence_svc
    from aicenter.services import org as org_svc
    from aicenter.services.context import Caller

    ctx = center.ctx
    with ctx.db.transaction(write=False) as tx:
        operator = Caller(next(p for p in tx.people.list() if p.role is Role.OPERATOR))
    news = org_svc.create_org(ctx, operator, "Escape News", OrgClass.ENTERPRISE)
    provider = Caller(org_svc.add_person(ctx, operator, news.id, "P", "p@escape.kr",
                                         Role.DATA_PROVIDER))
    source = tmp_path / "articles.jsonl"
    source.write_text("".join(json.dumps({"text": f"licensed article {i} " + "word " * 40,
                                          "url": f"https://e.kr/{i}"}) + "\n"
                              for i in range(20)))
    dataset = dataset_svc.upload(ctx, provider, dataset_svc.UploadRequest(
        "escape-news", "articles.jsonl", licence_text="proprietary"), source)
    today = ctx.clock.now().date()
    offer = licence_svc.create_offer(ctx, provider, dataset.id, {
        "purposes": ["pre-training"], "term_start": str(today - timedelta(days=1)),
        "term_end": str(today + timedelta(days=365)), "territory": ["KR"],
        "price": {"basis": "per-million-tokens", "amount": "1000"}})
    for tenant in (center.tenant, center.other):
        licence_svc.accept(ctx, tenant, offer.id, "pre-training")


def test_a_job_cannot_reach_another_jobs_data_gateway(center: Center, tmp_path: Path) -> None:
    """A licensed job's gateway (a Unix socket on the host, in a directory of the run's own,
    bound read-only into that job alone) is out of reach of every other job: another
    tenant's job without data, another tenant's data job with a gateway of its own, and a
    data job of the same organisation (whose gid the socket's group is)."""
    import time

    from aicenter.exchange.gateway import SOCKET_NAME, socket_dir

    _licensed_dataset(center, tmp_path)
    data = {"datasets": ["escape-news"], "purpose": "pre-training"}
    holder = center.submit(_python(GATEWAY_HOLDER), **data)
    running = center.wait(holder.id, {JobStatus.RUNNING, JobStatus.FAILED})
    output = Path(_handle(running).locator) / "output.log"  # held from the tenant while it runs
    deadline = time.monotonic() + 60
    while "holding" not in (output.read_text() if output.exists() else ""):
        assert time.monotonic() < deadline, output.read_text()
        assert center.wait(holder.id, {JobStatus.RUNNING, JobStatus.FAILED}).status is \
            JobStatus.RUNNING, output.read_text()
        time.sleep(0.2)  # then its gateway serves it
    target = socket_dir() / _handle(running).run_id / SOCKET_NAME
    assert target.is_socket(), target  # the victim's gateway, live on the host
    attempts = [(center.other, {}), (center.other, data), (center.tenant, data)]
    for who, spec in attempts:
        job, log = center.run(GATEWAY_PEEK, str(target), who=who, **spec)
        assert job.status is JobStatus.SUCCEEDED, log
        assert "ESCAPED" not in log, log
        assert log.count("refused connect 2\n") == (2 if spec else 1), log  # ENOENT
        if spec:  # its own gateway's directory alone, not the victim's
            assert "own socket True" in log, log
            listing = ast.literal_eval(log.split("listing ")[1].splitlines()[0])
            assert len(listing) == 1 and listing[0] != target.parent.name, log
        else:
            assert "listing refused 2" in log, log
    assert center.wait(holder.id, {JobStatus.RUNNING}).status is JobStatus.RUNNING
    center.ctx.backend.terminate(_handle(running), _cancel())
    center.wait(holder.id)


NETWORK = textwrap.dedent("""
    import socket, sys
    for name, host, port in (('api', '127.0.0.1', int(sys.argv[1])),
                             ('postgres', '127.0.0.1', 5432), ('api-v6', '::1', int(sys.argv[1]))):
        try:
            socket.create_connection((host, port), timeout=3).close()
            print('ESCAPED', name, flush=True)
        except OSError as exc:
            print('refused', name, exc.errno, flush=True)
    for path in ('/var/run/postgresql/.s.PGSQL.5432', '/run/postgresql/.s.PGSQL.5432'):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            print('ESCAPED', path, flush=True)
        except OSError as exc:
            print('refused', path, exc.errno, flush=True)
    print('interfaces', [l.split(':')[0].strip() for l in open('/proc/net/dev') if ':' in l])
""")


def test_the_control_plane_is_unreachable(center: Center) -> None:
    job, log = center.run(NETWORK, str(center.api_port))
    assert job.status is JobStatus.SUCCEEDED, log
    assert "ESCAPED" not in log, log
    assert "refused api " in log and "refused postgres " in log, log
    assert "interfaces ['lo']" in log, log
    import httpx

    assert httpx.get(f"http://127.0.0.1:{center.api_port}/api/v1/health").status_code == 200


SIGNALS = textwrap.dedent("""
    import ctypes, os, signal, sys
    libc = ctypes.CDLL(None, use_errno=True)
    for pid in map(int, sys.argv[1:]):
        try:
            os.kill(pid, signal.SIGKILL)
            print('ESCAPED kill', pid, flush=True)
        except OSError as exc:
            print('refused kill', pid, exc.errno, flush=True)
        result = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
        print('ptrace', pid, result, ctypes.get_errno(), flush=True)
    print('pids', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()), flush=True)
""")


def test_a_job_cannot_signal_or_trace_the_server_or_another_job(center: Center) -> None:
    holder = center.submit(_python("import time; print('up', flush=True); time.sleep(120)"))
    running = center.wait(holder.id, {JobStatus.RUNNING})
    run_dir = Path(str(running.handle).split("@", 1)[1])
    import json
    import time

    deadline = time.monotonic() + 30
    while not (run_dir / "runner.json").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    victim = json.loads((run_dir / "runner.json").read_text())["child_pid"]
    job, log = center.run(SIGNALS, str(os.getpid()), str(victim), who=center.other)
    assert job.status is JobStatus.SUCCEEDED, log
    assert "ESCAPED" not in log, log
    assert f"ptrace {os.getpid()} -1 3" in log and f"ptrace {victim} -1 3" in log, log  # ESRCH
    assert center.wait(holder.id, {JobStatus.RUNNING}).status is JobStatus.RUNNING
    pids = ast.literal_eval(log.split("pids ")[1].splitlines()[0])
    assert pids[0] == 1 and max(pids) < 100, pids  # its own PID namespace
    center.ctx.backend.terminate(_handle(running), _cancel())
    center.wait(holder.id)


HOSTNAME = textwrap.dedent("""
    import ctypes, errno, os, socket
    print('hostname', socket.gethostname(), flush=True)
    try:
        socket.sethostname('escaped-host')
        print('ESCAPED sethostname', socket.gethostname(), flush=True)
    except OSError as exc:
        print('refused sethostname', errno.errorcode.get(exc.errno, exc.errno), flush=True)
    # a user namespace of its own may own a UTS namespace of its own, and name that
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000 | 0x04000000) == 0:  # CLONE_NEWUSER | CLONE_NEWUTS
        socket.sethostname('escaped-host')
        print('nested', socket.gethostname(), flush=True)
    else:
        print('nested unshare refused', ctypes.get_errno(), flush=True)
""")


def test_a_job_has_its_own_host_name_and_cannot_rename_the_host(center: Center) -> None:
    """UTS namespace: the job sees the box's name, not the host's, and what it sets (where
    it may set anything) names its own namespace alone."""
    import socket

    host = socket.gethostname()
    assert host != "aicenter-job"
    job, log = center.run(HOSTNAME)
    assert job.status is JobStatus.SUCCEEDED, log
    assert "hostname aicenter-job\n" in log, log
    assert "ESCAPED" not in log and "refused sethostname EPERM" in log, log
    assert "nested escaped-host" in log or "nested unshare refused" in log, log
    assert socket.gethostname() == host
    assert Path("/proc/sys/kernel/hostname").read_text().strip() == host


def _python(code: str) -> str:
    from tests.escape.conftest import python

    return python(code)


def _handle(job):  # type: ignore[no-untyped-def]
    from aicenter.backends import RunHandle

    return RunHandle.parse(job.handle)


def _cancel():  # type: ignore[no-untyped-def]
    from aicenter.backends import StopReason

    return StopReason.CANCEL


def test_a_server_with_a_private_umask_still_contains_jobs() -> None:
    """The server runs with umask 077; the job's root must still let its uid walk down to its
    work dir (a regression: every contained job failed under `aicenter serve`)."""
    import subprocess
    import sys

    code = ("import os; os.umask(0o077); "
            "from aicenter.backends.local.isolation import probe_contained; "
            "print(probe_contained(200_002, 200_002))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.stdout.strip() == "None", done.stdout + done.stderr


PRESSURE = textwrap.dedent("""
    import os, time
    print('attacking', flush=True)
    end = time.time() + 4  # four seconds of load on every core before the blow
    for _ in range(os.cpu_count() or 2):
        if os.fork() == 0:
            while time.time() < end:
                pass
            os._exit(0)
""")
HOG = PRESSURE + textwrap.dedent("""
    held = []
    while time.time() < end:  # up to 192 MiB of its 256, then far more at once
        held.append(bytearray(16 << 20))
        time.sleep(0.33)
    b = bytearray(2 << 30)
    print('ESCAPED allocated 2 GiB', flush=True)
""")
BOMB = PRESSURE + textwrap.dedent("""
    time.sleep(max(0.0, end - time.time()))
    children = 0
    while True:
        try:
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
            children += 1
        except OSError:
            time.sleep(0.01)
""")
ANSWER_S = 10.0
"""How long the server may take to answer a health check while a job attacks (the test
machine has 2 cores, often shared with other test runs)."""


class _HealthWatch:
    """Asks the server's health endpoint every 0.2 s from a thread of its own; each answer
    is kept as (asked, answered, status code or the error)."""

    def __init__(self, url: str) -> None:
        import threading

        self.url = url
        self.answers: list[tuple[float, float, int | str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> _HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2 * ANSWER_S)

    def _watch(self) -> None:
        import time

        import httpx

        while not self._stop.is_set():
            asked = time.monotonic()
            try:
                got: int | str = httpx.get(self.url, timeout=ANSWER_S).status_code
            except httpx.HTTPError as exc:
                got = repr(exc)
            self.answers.append((asked, time.monotonic(), got))
            self._stop.wait(0.2)

    def during(self, start: float, end: float) -> list[tuple[float, float, int | str]]:
        return [a for a in self.answers if start <= a[0] and a[1] <= end]


def test_a_memory_hog_and_a_fork_bomb_fail_alone_while_the_server_answers(center: Center
                                                                         ) -> None:
    """The server answers during each attack (the host's cores loaded, then the blow), not
    only after: health checks asked and answered between the attacker's first line and the
    end of its run; each attacker fails alone with the cgroup's verdict; a bystander
    finishes."""
    import time

    import httpx

    from aicenter.backends import RunHandle

    health = f"http://127.0.0.1:{center.api_port}/api/v1/health"
    bystander = center.submit(_python("import time; time.sleep(4); print('bystander done')"),
                              center.other)
    hog = center.submit(_python(HOG), limits={"memory": "256MiB"})
    bomb = center.submit(_python(BOMB), limits={"pids": 64})
    attacking: dict[str, float] = {}  # when its first line was seen
    ended: dict[str, float] = {}  # when the backend first said its run had ended
    policy = make_policy(center.ctx)
    deadline = time.monotonic() + 90
    with _HealthWatch(health) as watch:
        while len(ended) < 2:
            assert time.monotonic() < deadline, (attacking, ended)
            run_round(center.ctx, policy)
            for job_id in {hog.id, bomb.id} - ended.keys():
                with center.ctx.db.transaction(write=False) as tx:
                    job = tx.jobs.get(job_id)
                if job.handle is None:
                    continue
                handle = RunHandle.parse(job.handle)
                if center.ctx.backend.status(handle).is_final:
                    ended[job_id] = time.monotonic()
                    continue
                output = Path(handle.locator) / "output.log"
                if job_id not in attacking and "attacking" in (
                        output.read_text() if output.exists() else ""):
                    attacking[job_id] = time.monotonic()
            time.sleep(0.05)
    for job_id in (hog.id, bomb.id):
        assert job_id in attacking, center.log(job_id)
        during = watch.during(attacking[job_id], ended[job_id])
        assert len(during) >= 2, (job_id, ended[job_id] - attacking[job_id], watch.answers)
        assert all(code == 200 for _, _, code in during), during  # each within ANSWER_S
    assert httpx.get(health, timeout=ANSWER_S).status_code == 200  # and after
    for attacker in (hog, bomb):
        done = center.wait(attacker.id)
        assert done.status is JobStatus.FAILED, done.message
        assert "ESCAPED" not in center.log(attacker.id)
    assert "out of memory (limit 256 MiB)" in center.wait(hog.id).message
    assert "process limit (pids.max=64)" in center.wait(bomb.id).message
    survivor = center.wait(bystander.id)
    assert survivor.status is JobStatus.SUCCEEDED, survivor.message
    assert "bystander done" in center.log(bystander.id, center.other)


def _cgroup_value(dirs: dict[str, str], v1: tuple[str, str], v2: str) -> str:
    """A limit file of a job's cgroup on v1 (controller, file) or v2 (file of ``unified``)."""
    if "unified" in dirs and len(dirs) == 1:
        return (Path(dirs["unified"]) / v2).read_text().strip()
    return (Path(dirs[v1[0]]) / v1[1]).read_text().strip()


def test_a_job_without_limits_gets_the_operators_defaults_in_a_real_cgroup(center: Center
                                                                           ) -> None:
    """No ``limits`` in the spec: the job still runs in a cgroup of its own, with the
    operator's defaults for its chips (memory and CPUs per chip, the most processes)."""
    import json
    import time

    from aicenter.backends.local.rundir import CGROUP

    settings = center.ctx.settings
    settings.job_memory_per_chip_gib, settings.job_cpus_per_chip = 0.75, 1.5
    settings.job_max_pids = 123
    job = center.submit(_python("print(open('/proc/self/cgroup').read(), flush=True); "
                                "print('holding', flush=True); import time; time.sleep(60)"),
                        resources=[{"chip": "nvidia-h100-sxm", "count": 2}])
    assert job.spec.limits is None
    running = center.wait(job.id, {JobStatus.RUNNING})
    run_dir = Path(_handle(running).locator)
    deadline = time.monotonic() + 30
    while "holding" not in center.log(job.id):
        assert time.monotonic() < deadline, center.log(job.id)
        time.sleep(0.1)
    record = json.loads((run_dir / CGROUP).read_text())
    dirs: dict[str, str] = record["dirs"]
    memory = _cgroup_value(dirs, ("memory", "memory.limit_in_bytes"), "memory.max")
    pids = _cgroup_value(dirs, ("pids", "pids.max"), "pids.max")
    assert (int(memory), int(pids)) == (2 * 768 << 20, 123)  # 2 chips x 0.75 GiB
    if "cpu" in record.get("unenforced", []):
        cpu = None
    elif "unified" in dirs and len(dirs) == 1:
        cpu = _cgroup_value(dirs, ("", ""), "cpu.max")
    else:
        cpu = _cgroup_value(dirs, ("cpu", "cpu.cfs_quota_us"), "")
    assert cpu in (None, "300000", "300000 100000"), cpu  # 3 CPUs of every 100 ms period
    inside = center.log(job.id)  # the job's own processes are in that cgroup (no cgroup ns)
    for controller, directory in dirs.items():
        line = next(line for line in inside.splitlines()
                    if (line.split(":")[1] == "" if controller == "unified"
                        else controller in line.split(":")[1].split(",")))
        assert directory.endswith(line.split(":", 2)[2]), (controller, directory, line)
    center.ctx.backend.terminate(_handle(running), _cancel())
    center.wait(job.id)


def test_reserved_environment_and_foreign_workdirs_are_refused_at_submission(center: Center
                                                                            ) -> None:
    """Through the HTTP API: a spec that would hijack the center's variables or a device
    mapping, or work outside its own area, is answered 422 and nothing is queued."""
    import httpx

    from aicenter.domain.token import Scope
    from aicenter.services import org as org_svc

    _token, token = org_svc.create_token(center.ctx, center.tenant, center.tenant.person.id,
                                         "escape", frozenset({Scope.READ, Scope.WRITE}), None)
    url = f"http://127.0.0.1:{center.api_port}/api/v1/jobs"
    base = {"name": "attack", "command": "true", "resources": [{"chip": "nvidia-h100-sxm"}]}
    attacks = [{"env": {"AICENTER_DATA_SOCKET": "/tmp/mine"}},
               {"env": {"CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7"}},
               {"env": {"LD_PRELOAD": "/tmp/evil.so"}}, {"env": {"A=B": "x"}},
               {"env": {"X": "a\x00b"}}, {"workdir": "/etc"}, {"workdir": "../../.."},
               {"workdir": str(center.home)}]
    with center.ctx.db.transaction(write=False) as tx:
        before = len(tx.jobs.list())
    for attack in attacks:
        answer = httpx.post(url, json={"spec": {**base, **attack}},
                            headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert answer.status_code == 422, (attack, answer.text)
    with center.ctx.db.transaction(write=False) as tx:
        assert len(tx.jobs.list()) == before


# --- project spaces: the root launcher must not follow a job's symbolic links ---------------

_MAZE_RACER = textwrap.dedent("""
    import os, sys, time
    target, depth, links = sys.argv[1], 600, 30
    base = os.getcwd()
    for _ in range(depth):  # a slow path walk: 30 links, each 1,200 components
        os.mkdir('a'); os.chdir('a')
    os.chdir(base)
    for i in range(links):
        nxt = f'l{i + 1}' if i + 1 < links else '.'
        os.symlink('a/' * depth + '../' * depth + nxt, f'l{i}')
    open('ready', 'w').close()
    end = time.time() + 60
    while time.time() < end and not os.path.exists('stop'):
        try:
            os.rmdir('race')  # the launcher's fresh directory, before its chown
        except OSError:
            continue
        try:
            os.symlink(target, 'race')
        except OSError:
            pass
""")


def _project_center(database, tmp_path: Path) -> tuple[Center, Path]:  # type: ignore[no-untyped-def]
    """A center like ``center`` but with project spaces (``AICENTER_PROJECT_ROOT``)."""
    from tests.escape.conftest import make_center

    projects = tmp_path / "projects"
    projects.mkdir()
    os.chmod(tmp_path, 0o755)
    center = make_center(database, tmp_path, project_root=projects)
    return center, projects / center.tenant.org_id


def test_a_planted_symlink_in_the_project_space_does_not_steer_the_launchers_mkdir(
        database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A job plants ``evil -> <a root-only dir>`` in its project space; the next job of the
    organisation asks for ``<space>/evil/pwned``: the root launcher must not create (and chown
    to the job) a directory outside the space."""
    center, space = _project_center(database, tmp_path)
    victim = tmp_path / "victim"  # stands for /etc, /root, the center's home
    victim.mkdir(mode=0o700)
    done, log = center.run(f"import os; os.symlink({str(victim)!r}, 'evil')", workdir=str(space))
    assert done.status is JobStatus.SUCCEEDED, log
    center.wait(center.submit("true", workdir=str(space / "evil" / "pwned")).id)
    assert not (victim / "pwned").exists(), "the launcher made a job-owned dir outside the space"


def test_the_launcher_cannot_be_raced_into_chowning_a_host_file(database, tmp_path: Path
                                                                ) -> None:  # type: ignore[no-untyped-def]
    """A running job of the organisation swaps the directory the launcher just made for the
    next job for a symlink to a root-only file (``/etc/shadow``), slowing the launcher's path
    walk with a maze of links: the file must stay root's."""
    import time

    center, space = _project_center(database, tmp_path)
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$hash\n")
    os.chmod(secret, 0o600)
    center.run("pass", workdir=str(space))  # the space exists
    racer = center.submit(f"{_python(_MAZE_RACER)} {secret}", workdir=str(space))
    deadline = time.monotonic() + 60
    while not (space / "ready").exists():
        center.wait(racer.id, {JobStatus.RUNNING, JobStatus.FAILED, JobStatus.SUCCEEDED})
        assert time.monotonic() < deadline, center.log(racer.id)
        time.sleep(0.2)
    try:
        for _ in range(5):
            if (space / "race").is_symlink():
                (space / "race").unlink()
            center.wait(center.submit("true", workdir=str(space / "l0" / "race")).id)
            info = os.stat(secret)
            assert (info.st_uid, info.st_gid) == (0, 0), "the launcher chowned a host file"
    finally:
        (space / "stop").write_text("")
        center.wait(racer.id)


def test_a_job_reading_data_never_works_in_a_project_space() -> None:
    """What a data job wrote to a shared project space would outlive the check of its
    outputs (the reviewer's finding 3): refused at admission and again at launch."""
    from pathlib import PurePosixPath

    import pytest

    from aicenter.domain.errors import InputError
    from aicenter.domain.job import check_workdir

    root = PurePosixPath("/srv/projects")
    assert check_workdir("/srv/projects/org-1/x", "org-1", root) is not None
    with pytest.raises(InputError, match="reads datasets works only inside its own"):
        check_workdir("/srv/projects/org-1/x", "org-1", root, reads_data=True)
    assert check_workdir("sub", "org-1", root, reads_data=True) == PurePosixPath("sub")


def test_declared_outputs_of_a_relative_workdir_are_read_in_the_runs_work_dir() -> None:
    """Not in the server's current directory (the reviewer's finding 4)."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from aicenter.domain.job import Job, parse_job_spec
    from aicenter.services.output_release import _work_dir

    spec = parse_job_spec("name: j\ncommand: 'true'\nworkdir: sub\n"
                          "resources: [{chip: nvidia-h100-sxm, count: 1}]\n")
    job = Job("job_1", "org", "p", "g", spec, JobStatus.SUCCEEDED, None, Decimal(1),
              datetime(2026, 1, 1, tzinfo=UTC), handle="local:job_1-1-0@/runs/job_1-1-0")
    assert _work_dir(job) == Path("/runs/job_1-1-0/work/sub")
