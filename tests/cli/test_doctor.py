"""``aicenter doctor`` on this host (root, cgroups, a PostgreSQL that trusts 127.0.0.1), and
``aicenter serve`` refusing such a database unless the operator says so loudly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aicenter.backends.local.cgroups import detect
from aicenter.services.doctor import Check, database_auth, host_report
from aicenter.settings import Settings
from tests.services.fixtures import PG_SKIP, PG_URL, pg_reachable, pg_schema
from tests.support.live_server import free_port

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the contained box needs root")


@pytest.fixture(name="pg_url")
def pg_url_fixture() -> Iterator[str]:
    yield from pg_schema()


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


@root_only
def test_this_host_contains_jobs_and_limits_them(tmp_path: Path) -> None:
    checks = by_name(host_report(Settings(home=tmp_path / "home")))
    assert checks["running as root"].status == "ok"
    for kind in ("user", "mount", "PID", "IPC", "UTS", "network"):
        name = "user namespaces" if kind == "user" else f"{kind} namespace"
        assert checks[name].status == "ok", checks[name]
    assert checks["contained box"].status == "ok", checks["contained box"]
    cgroups = checks["cgroups"]
    assert cgroups.status == "ok", cgroups
    version = detect().version
    assert version is not None and cgroups.detail.startswith(version)
    assert "memory" in cgroups.detail and "pids" in cgroups.detail
    assert checks["job uid range"].status == "ok"
    assert checks["database file"].status == "ok"  # SQLite under HOME, not yet created


def test_a_loose_file_under_home_is_named(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "keys").mkdir(parents=True, mode=0o700)
    os.chmod(home, 0o700)
    loose = home / "keys" / "signing.key"
    loose.write_text("secret")
    os.chmod(loose, 0o644)
    checks = by_name(host_report(Settings(home=home)))
    files = checks["files under HOME"]
    assert files.status == "warn" and str(loose) in files.detail and "-rw-r--r--" in files.detail
    assert files.fix == f"chmod -R go-rwx {home}"
    assert checks["HOME mode"].status == "ok"
    os.chmod(home, 0o755)  # and once HOME itself is open, both fail
    checks = by_name(host_report(Settings(home=home)))
    assert checks["HOME mode"].status == "fail" and checks["files under HOME"].status == "fail"


@pytest.mark.parametrize(("uids", "reason"), [
    ("65534-65534", "nobody (65534)"),
    ("0-100", "starts below 1000"),
])
def test_a_uid_range_holding_system_users_fails(tmp_path: Path, uids: str, reason: str
                                                ) -> None:
    checks = by_name(host_report(Settings(home=tmp_path, job_uid_range=uids)))
    uid_range = checks["job uid range"]
    assert uid_range.status == "fail" and reason in uid_range.detail, uid_range
    assert "/etc/passwd" in uid_range.detail or "below 1000" in uid_range.detail
    assert "AICENTER_JOB_UID_RANGE" in uid_range.fix
    if uids == "0-100":
        assert "root (0)" in uid_range.detail
        assert checks["contained box"].status == "fail"  # not even tried with that range


def test_overlapping_uid_and_gid_ranges_fail(tmp_path: Path) -> None:
    checks = by_name(host_report(Settings(home=tmp_path, job_uid_range="400000-400999",
                                          org_gid_range="400500-401000")))
    assert checks["uid and gid ranges apart"].status == "fail"


def test_trust_postgresql_fails_and_json_is_parseable(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    if not pg_reachable():
        pytest.skip(PG_SKIP)
    auth = database_auth(PG_URL)
    assert auth.password_checked is False and auth.trust, auth
    monkeypatch.setenv("AICENTER_DATABASE_URL", PG_URL)
    monkeypatch.delenv("AICENTER_UNSAFE_ALLOW_TRUST_DATABASE", raising=False)
    result = cli("doctor", "--format", "json", "--home", tmp_path / "home")
    report = json.loads(result.out)
    checks = {c["name"]: c for c in report["checks"]}
    database = checks["database authentication"]
    assert database["status"] == "fail" and "trust" in database["detail"]
    assert "scram-sha-256" in database["fix"]
    assert "AICENTER_UNSAFE_ALLOW_TRUST_DATABASE" in database["fix"]
    assert report["status"] == "fail" and result.code == 2
    assert set(report["checks"][0]) == {"name", "status", "detail", "fix"}

    monkeypatch.setenv("AICENTER_UNSAFE_ALLOW_TRUST_DATABASE", "true")
    result = cli("doctor", "--home", tmp_path / "home")
    assert "database authentication" in result.out and "unsafe settings" in result.out
    report_checks = by_name(host_report(Settings(home=tmp_path / "home")))
    assert report_checks["database authentication"].status == "warn"
    assert report_checks["unsafe settings"].status == "warn"


def test_a_wrong_password_refused_is_ok() -> None:
    """Unreachable is not mistaken for trust: nothing is claimed either way."""
    auth = database_auth("postgresql+psycopg://nobody@127.0.0.1:1/x", timeout_s=2)
    assert auth.password_checked is None and not auth.trust


def _serve(home: Path, pg_url: str, port: int, allow: bool | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "AICENTER_UNSAFE_ALLOW_TRUST_DATABASE"}
    env.update({"AICENTER_HOME": str(home), "AICENTER_DATABASE_URL": pg_url})
    if allow is not None:
        env["AICENTER_UNSAFE_ALLOW_TRUST_DATABASE"] = "true" if allow else "false"
    return subprocess.Popen(
        [sys.executable, "-c", "from aicenter.cli.main import run; run()", "serve",
         "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)


def test_serve_refuses_a_trust_database_unless_allowed(tmp_path: Path, pg_url: str) -> None:
    home = tmp_path / "home"
    refused = _serve(home, pg_url, free_port(), allow=None)
    _out, err = refused.communicate(timeout=60)
    assert refused.returncode != 0
    assert "refusing to start" in err and "AICENTER_UNSAFE_ALLOW_TRUST_DATABASE" in err, err
    assert "Traceback" not in err
    assert not (home / "operator-token").exists()  # refused before touching the database

    port = free_port()
    server = _serve(home, pg_url, port, allow=True)
    try:
        deadline_s, answered = 60.0, False
        start = time.monotonic()
        while time.monotonic() - start < deadline_s and server.poll() is None:
            try:
                answered = httpx.get(f"http://127.0.0.1:{port}/api/v1/health",
                                     timeout=2).status_code == 200
            except httpx.HTTPError:
                answered = False
            if answered:
                break
            time.sleep(0.1)
        if not answered:
            server.kill()
            pytest.fail(f"the server did not start: {server.communicate(timeout=10)[1]}")
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        try:
            _out, err = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            _out, err = server.communicate(timeout=10)
    assert "UNSAFE: AICENTER_UNSAFE_ALLOW_TRUST_DATABASE is set" in err, err
