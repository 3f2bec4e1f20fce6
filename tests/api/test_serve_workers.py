"""``aicenter serve --workers 2`` on PostgreSQL, end to end: both worker processes answer,
exactly one runs the scheduling loop (a job runs and finishes once), and when the leading
worker is killed with SIGKILL another takes the loop over: the job it was running is
re-attached (not restarted) and new jobs still run."""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from aicenter.client import Client
from aicenter.server.leader import LOCK_FILE
from tests.services.fixtures import PG_URL, pg_schema
from tests.support.live_server import free_port
from tests.web.page_fixtures import CSRF

JOB = {"command": "echo start; sleep 2; echo end", "max_duration": "1m",
       "resources": [{"chip": "nvidia-h100-sxm", "count": 1}]}


@pytest.fixture(name="pg_url")
def pg_url_fixture() -> Iterator[str]:
    """A fresh PostgreSQL schema (skipped with a notice where no server answers)."""
    yield from pg_schema()


def children(pid: int) -> set[int]:
    return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def lock_holders(home: Path) -> set[int]:
    """Pids holding a flock on HOME/scheduler.lock, from the kernel's /proc/locks."""
    inode = (home / LOCK_FILE).stat().st_ino
    holders = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields:  # a waiter, not a holder
            continue
        if fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == str(inode):
            holders.add(int(fields[4]))
    return holders


def roles(url: str, want_workers: int, timeout_s: float = 30.0) -> dict[int, str]:
    """Worker pid -> scheduler role, asking /health over new connections until
    ``want_workers`` different workers have answered."""
    seen: dict[int, str] = {}
    deadline = time.monotonic() + timeout_s
    while len(seen) < want_workers:
        assert time.monotonic() < deadline, f"only workers {seen} answered"
        try:
            health = httpx.get(f"{url}/api/v1/health", timeout=5).json()
        except httpx.HTTPError:
            time.sleep(0.05)
            continue
        seen[int(health["worker"])] = health["scheduler"]
    return seen


def wait_until(check, timeout_s: float = 30.0, what: str = ""):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def start_serve(port: int, env: dict[str, str], workers: int = 1, *,
                out: int = subprocess.DEVNULL, err: int = subprocess.PIPE
                ) -> subprocess.Popen[bytes]:
    """``aicenter serve`` on ``port`` as a real process (its own workers, its own loop)."""
    return subprocess.Popen(
        [sys.executable, "-c", "from aicenter.cli.main import run; run()", "serve",
         "--port", str(port), "--workers", str(workers)], env=env, stdout=out, stderr=err)


def stop_serve(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as an operator stops the server; SIGKILL if it is still up 30 s later."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(10)


def test_two_workers_one_loop_and_takeover(tmp_path: Path, pg_url: str) -> None:
    home = tmp_path / "home"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AICENTER_HOME": str(home), "AICENTER_DATABASE_URL": pg_url,
           "AICENTER_SCHEDULER_INTERVAL_S": "0.2", "AICENTER_METERING_INTERVAL_S": "0.5"}
    server = start_serve(port, env, 2)
    try:
        Client(url, "x").wait_until_up(60)
        workers = roles(url, 2)
        assert set(workers) <= children(server.pid)  # two uvicorn workers answered
        leaders = [pid for pid, role in workers.items() if role == "leader"]
        assert len(leaders) == 1 and sorted(workers.values()) == ["leader", "standby"]
        leader = leaders[0]
        assert lock_holders(home) == {leader}

        token = (home / "operator-token").read_text().strip()
        with Client(url, token) as op:
            op.add_pool("nvidia-h100-sxm", 2)
            call = op.open_call("call", ["university"], {"nvidia-h100-sxm": 64})
            org = op.create_org("Uni", "university")
            app = op.apply(call.id, "x", {"nvidia-h100-sxm": 2}, 1, 20, org_id=org.id)
            op.review(app.id, 7, 7, 7)
            op.award_grant(app.id, 20)
            first = op.submit_job({**JOB, "name": "first"}, org_id=org.id)
            done = op.wait_for_job(first.id, 60)
            assert done.status == "succeeded" and done.attempts == 1
            assert op.job_logs(first.id).text.count("end") == 1  # ran once, by one loop

            second = op.submit_job({**JOB, "name": "second"}, org_id=org.id)
            wait_until(lambda: op.get_job(second.id).status == "running", what="running")
            os.kill(leader, signal.SIGKILL)
            killed_at = time.monotonic()
            new_leader = wait_until(lambda: [p for p, r in roles(url, 1).items()
                                             if r == "leader" and p != leader],
                                    what="a new leader")[0]
            takeover_s = time.monotonic() - killed_at
            assert takeover_s < 5, takeover_s
            assert lock_holders(home) == {new_leader}
            # the standby worker took over, not the replacement uvicorn started (slower)
            assert new_leader in workers
            after = roles(url, 2)
            assert sorted(after.values()) == ["leader", "standby"] and leader not in after
            resumed = op.wait_for_job(second.id, 60)
            assert resumed.status == "succeeded" and resumed.attempts == 1  # re-attached
            assert op.job_logs(second.id).text.count("start") == 1

            third = op.submit_job({**JOB, "name": "third"}, org_id=org.id)
            assert op.wait_for_job(third.id, 60).status == "succeeded"
            usage = op.list_usage(org_id=org.id)
            for job in (first, second, third):
                records = sorted((u for u in usage if u.job_id == job.id),
                                 key=lambda u: u.interval_start)
                for before, later in itertools.pairwise(records):
                    assert later.interval_start == before.interval_end  # none counted twice
        # the web pages on PostgreSQL, from whichever worker answers (new connections)
        with httpx.Client(base_url=url) as browser:  # a session, signed in through the form
            form = {"token": token}
            found = CSRF.search(browser.get("/login").text)
            if found:
                form["csrf_token"] = found.group(1)
            assert browser.post("/login", data=form).status_code == 303
            for path, text in (("/", "nvidia-h100-sxm"), ("/jobs", third.id),
                               (f"/jobs/{second.id}", "start"), ("/grants", "Uni"),
                               ("/usage", "<svg")):
                page = browser.get(path)
                assert page.status_code == 200 and text in page.text, path
    finally:
        stop_serve(server)
    assert server.returncode == 0, server.stderr.read().decode() if server.stderr else ""


def test_three_workers_stay_within_the_connection_budget(tmp_path: Path, pg_url: str) -> None:
    """Under more concurrent requests than connections, ``serve --workers 3`` with a budget
    of 12 never holds more than 12 PostgreSQL connections (4 a worker; before the budget each
    worker could open 40), and every request is still answered."""
    name = f"aic_budget_{secrets.token_hex(4)}"
    url_db = f"{pg_url}&application_name={name}"
    home = tmp_path / "home"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AICENTER_HOME": str(home), "AICENTER_DATABASE_URL": url_db,
           "AICENTER_DATABASE_MAX_CONNECTIONS": "12", "AICENTER_SCHEDULER_INTERVAL_S": "0.2"}
    server = start_serve(port, env, 3, out=subprocess.PIPE)
    admin = create_engine(PG_URL)
    peak, answered, failed = 0, [0], []
    try:
        Client(url, "x").wait_until_up(60)
        assert len(roles(url, 3)) == 3
        token = (home / "operator-token").read_text().strip()
        stop = threading.Event()

        def hammer() -> None:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                              timeout=60) as http:
                while not stop.is_set():
                    response = http.get("/api/v1/whoami")
                    if response.status_code == 200:
                        answered[0] += 1
                    else:
                        failed.append(response.status_code)

        threads = [threading.Thread(target=hammer) for _ in range(60)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 4
        with admin.connect() as conn:
            while time.monotonic() < deadline:
                held = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE "
                                         "application_name = :n"), {"n": name}).scalar_one()
                peak = max(peak, int(held))
                time.sleep(0.02)
        stop.set()
        for thread in threads:
            thread.join(60)
    finally:
        stop_serve(server)
        admin.dispose()
    assert failed == [] and answered[0] > 100
    # at least one worker's whole share in use (the load pressed the pools; which workers the
    # kernel hands the connections to varies), never over the budget
    assert 4 <= peak <= 12, peak
    assert server.stdout is not None
    assert "4 connections a worker" in server.stdout.read().decode()


def test_a_second_server_on_the_same_home_stands_by(tmp_path: Path) -> None:
    """Two single-worker ``aicenter serve`` on one HOME (SQLite): one loop between them, and
    the second takes it over when the first is killed."""
    home = tmp_path / "home"
    env = {**os.environ, "AICENTER_HOME": str(home), "AICENTER_SCHEDULER_INTERVAL_S": "0.2"}
    env.pop("AICENTER_DATABASE_URL", None)
    ports = [free_port(), free_port()]
    servers = []
    try:
        for port in ports:
            servers.append(start_serve(port, env, err=subprocess.DEVNULL))
            Client(f"http://127.0.0.1:{port}", "x").wait_until_up(60)
        first, second = (roles(f"http://127.0.0.1:{p}", 1) for p in ports)
        assert list(first.values()) == ["leader"] and list(second.values()) == ["standby"]
        assert lock_holders(home) == {servers[0].pid}
        servers[0].kill()
        servers[0].wait(10)
        wait_until(lambda: roles(f"http://127.0.0.1:{ports[1]}", 1) == {
            servers[1].pid: "leader"}, timeout_s=10, what="the second server to lead")
        assert lock_holders(home) == {servers[1].pid}
    finally:
        for server in servers:
            server.kill()
            server.wait(10)
