"""Shared fixtures: the packaged catalog, a CLI runner that captures output and exit code, a
live center for the tests that talk HTTP to one, and a TCP server on the host for the
network-isolation tests."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import settings

from aicenter.catalog import Catalog, PerformanceTable, load_catalog
from aicenter.cli.main import main
from aicenter.settings import Settings

if TYPE_CHECKING:
    from aicenter.server.process import Server

# The test PostgreSQL (CI's, a developer's) admits its user without a password (trust), which
# `aicenter serve` refuses for a real center; servers the tests start may use it.
# tests/cli/test_doctor.py removes this to try the refusal itself.
os.environ.setdefault("AICENTER_UNSAFE_ALLOW_TRUST_DATABASE", "true")

# Timing varies on a shared 2-core machine: hypothesis judges behaviour here, not speed.
settings.register_profile("aicenter", deadline=None)
settings.load_profile("aicenter")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
EXAMPLES = REPO_ROOT / "examples"


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def perf(catalog: Catalog) -> PerformanceTable:
    return PerformanceTable.from_catalog(catalog)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``aicenter ARGS...`` in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture
def live_center(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                ) -> Iterator[Callable[..., Server]]:
    """``live_center(**settings)`` starts the server ``aicenter serve`` would build (its home
    ``tmp_path/home``, SQLite there unless ``database_url`` is given), on a free loopback port,
    with AICENTER_URL and AICENTER_TOKEN (the operator's) set for the client and the CLI;
    returns it (``app``, ``ctx``, ``operator_token``). Stopped at the test's end."""
    # lazy: the server (FastAPI, SQLAlchemy, uvicorn) loads only for the tests that start one
    from tests.support.live_server import live_center as start_center

    with ExitStack() as running:
        def start(**fields: Any) -> Server:
            return running.enter_context(
                start_center(Settings(home=tmp_path / "home", **fields), monkeypatch))

        yield start


@pytest.fixture
def tcp_server() -> Iterator[int]:
    """A TCP server of the test on the host's 127.0.0.1 that answers ``hello`` to everyone
    (its port): what a job with the host's network reaches and a job without it must not."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.sendall(b"hello")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


# Tests that share something on this host run on one pytest-xdist worker (`-n 2 --dist
# loadgroup`, as .ci/run runs the suite): Ray clusters (several heads on one host interfere:
# ports, ~/.ray), the one local Slurm cluster (capacity tests drain its nodes), nftables' host
# rules and job uid ranges of the contained box, and the browser. Everything else spreads over
# the workers; run serially (`-p no:xdist`) the marks change nothing.
XDIST_GROUPS = {
    "engines": ("tests/backends/test_ray.py", "tests/backends/test_contract.py",
                "tests/backends/slurm/", "tests/services/test_ray_flow.py",
                "tests/exchange/test_ingest.py", "tests/test_extensions.py"),
    "box": ("tests/backends/test_egress.py", "tests/services/test_job_network.py",
            "tests/escape/", "tests/backends/test_cgroups.py", "tests/backends/test_network.py",
            "tests/backends/test_isolation.py"),
    "browser": ("tests/web/test_browser.py",),
}


def pytest_itemcollected(item: pytest.Item) -> None:
    """Marked as each test is collected: xdist reads the marks in its own
    ``pytest_collection_modifyitems``, which may run before any conftest's."""
    where = Path(str(item.path)).relative_to(Path(str(item.config.rootpath))).as_posix()
    for group, prefixes in XDIST_GROUPS.items():
        if where.startswith(prefixes):
            item.add_marker(pytest.mark.xdist_group(group))
            return

