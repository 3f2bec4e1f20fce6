"""The service CLI is only an API client: it runs against a real server on a loopback port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from aicenter.api.server import build_server
from aicenter.settings import Settings
from tests.services.fixtures import LiveServer, free_port


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A server on SQLite under a temporary AICENTER_HOME; returns the operator token."""
    settings = Settings(home=tmp_path / "home", scheduler_interval_s=0.2)
    built = build_server(settings)
    assert built.operator_token
    with LiveServer(built.app, free_port()) as live:
        monkeypatch.setenv("AICENTER_URL", live.url)
        monkeypatch.setenv("AICENTER_TOKEN", built.operator_token)
        yield built.operator_token
    built.ctx.db.dispose()


def test_org_commands(server: str, cli) -> None:  # type: ignore[no-untyped-def]
    created = cli("org", "create", "Busan Uni", "--class", "university", "--region", "busan",
                  "--format", "json")
    assert created.code == 0, created.err
    org_id = json.loads(created.out)["id"]
    listed = json.loads(cli("org", "list", "--format", "json").out)
    assert "Busan Uni" in [o["name"] for o in listed]
    table = cli("org", "list")
    assert "Busan Uni" in table.out and "university" in table.out
    person = json.loads(cli("org", "add-person", org_id, "Choi", "choi@bu.kr", "--format",
                            "json").out)
    assert person["role"] == "member"
    bad = cli("org", "create", "X", "--class", "pirate")
    assert bad.code == 2 and bad.err.startswith("error: ") and "org_class" in bad.err
    assert "Traceback" not in bad.err


def test_cli_without_server_says_how_to_start_it(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AICENTER_URL", f"http://127.0.0.1:{free_port()}")
    result = cli("org", "list")
    assert result.code == 2 and "aicenter serve" in result.err
