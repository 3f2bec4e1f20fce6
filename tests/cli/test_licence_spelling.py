"""The noun is spelled "licence" in the CLI; the first spelling ("license") still works for
scripts written against it, hidden from ``--help``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AICENTER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.mark.parametrize("flag", ["--licence", "--license"])
def test_ingest_takes_licence_and_its_old_spelling(
    cli: Cli, tmp_path: Path, home: Path, flag: str
) -> None:
    source = tmp_path / "news.jsonl"
    source.write_text(json.dumps({"text": "오늘의 뉴스입니다."}, ensure_ascii=False) + "\n")
    r = cli("dataset", "ingest", source, "--dataset", "news", "--provider", "gana",
            flag, "CC-BY-4.0", "--format", "json")
    assert r.code == 0, r.err
    manifest = json.loads(Path(json.loads(r.out)["manifest_path"]).read_text(encoding="utf-8"))
    assert manifest["licence"] == "CC-BY-4.0"
    assert "license" not in manifest


def test_help_shows_only_the_licence_spelling(cli: Cli) -> None:
    ingest_help = cli("dataset", "ingest", "--help")
    assert ingest_help.code == 0, ingest_help.err
    assert "--licence" in ingest_help.out and "--license" not in ingest_help.out
    data_help = cli("dataset", "--help")
    assert data_help.code == 0, data_help.err
    commands = [line.split()[1] for line in data_help.out.splitlines()
                if line.startswith("│ ") and len(line.split()) > 1]
    assert "licence" in commands and "license" not in commands


def test_the_old_licence_command_is_the_same_command() -> None:
    from aicenter.cli.dataset_exchange import app

    by_name = {c.name: c for c in app.registered_commands}
    assert by_name["licence"].callback is by_name["license"].callback
    assert by_name["license"].hidden and not by_name["licence"].hidden
