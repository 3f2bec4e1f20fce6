"""The modes of the center's home as ``aicenter serve`` itself leaves them.

The escape suite's center sets HOME's modes in its fixture; these tests prove the real server
start (:mod:`aicenter.server.process`) does: HOME 0700, the operator token, the database file
and the audit signing key 0600, nothing under HOME readable by any other uid (a job's), even
when HOME was made 0755 beforehand and the server was started with umask 022."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.services.fixtures import pg_schema
from tests.support.live_server import free_port

SERVE = ("import os; os.umask(0o022); "  # the operator's shell umask: the server must not keep it
         "from aicenter.cli.main import run; run()")


@pytest.fixture(name="database_kind", params=["sqlite", "postgresql"])
def database_kind_fixture(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None: SQLite, the server's default file under HOME; else a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield None
    else:
        yield from pg_schema()


def _serve(home: Path, database_url: str | None, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICENTER_")}
    env.update({"AICENTER_HOME": str(home), "AICENTER_UNSAFE_ALLOW_TRUST_DATABASE": "true"})
    if database_url is not None:
        env["AICENTER_DATABASE_URL"] = database_url
    return subprocess.Popen([sys.executable, "-c", SERVE, "serve", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_answering(server: subprocess.Popen[str], port: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health",
                         timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.kill()
    pytest.fail(f"the server did not start: {server.communicate(timeout=10)[1]}")


def _stop(server: subprocess.Popen[str]) -> str:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
    try:
        return server.communicate(timeout=30)[1]
    except subprocess.TimeoutExpired:
        server.kill()
        return server.communicate(timeout=10)[1]


def test_serve_leaves_home_0700_and_its_secrets_0600(tmp_path: Path,
                                                     database_kind: str | None) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)  # as an installer might have left it
    port = free_port()
    server = _serve(home, database_kind, port)
    try:
        _wait_answering(server, port)
        token = home / "operator-token"
        key = home / "audit-keys" / "signing.key"
        secrets = [token, key] + ([home / "aicenter.db"] if database_kind is None else [])
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        for path in secrets:
            assert path.is_file(), path
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, (path, oct(path.stat().st_mode))
        assert len(token.read_text().strip()) > 20  # the first operator's token is in it
        loose = [f"{p} {oct(stat.S_IMODE(p.lstat().st_mode))}" for p in home.rglob("*")
                 if not p.is_symlink() and p.lstat().st_mode & 0o077]
        assert loose == [], loose  # nothing under HOME for another uid, whatever its parents
    finally:
        err = _stop(server)
    assert "Traceback" not in err, err
