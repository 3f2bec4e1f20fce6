"""CLI tests see tables as a pipe does (wide) unless a test sets COLUMNS itself: pytest-xdist
workers inherit COLUMNS=80, which would otherwise narrow every table and fold its cells."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _pipe_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
