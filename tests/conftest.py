"""Shared fixtures: the packaged catalog and a CLI runner that captures output and exit code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from aicenter.catalog import Catalog, PerformanceTable, load_catalog
from aicenter.cli.main import main

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
