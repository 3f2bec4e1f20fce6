"""``aicenter dataset`` is the group's name (the noun of every other layer); ``aicenter data``,
its first name, still runs the same commands for users' scripts but is not listed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from aicenter.cli import main as cli_main
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

COMMANDS = {"scan", "ingest", "croissant", "upload", "uploads", "upload-status", "list", "show",
            "offer", "offers", "licence", "agreements", "contract", "withheld", "usage",
            "statement"}


def _listed(help_text: str) -> list[str]:
    """The command names of a Rich help screen's command panel."""
    return [line.split()[1] for line in help_text.splitlines()
            if line.startswith("│ ") and len(line.split()) > 1]


def test_the_root_help_lists_dataset_and_not_data(cli: Cli) -> None:
    r = cli("--help")
    assert r.code == 0, r.err
    listed = _listed(r.out)
    assert "dataset" in listed
    assert "data" not in listed


@pytest.mark.parametrize("name", ["dataset", "data"])
def test_both_names_have_every_command(cli: Cli, name: str) -> None:
    r = cli(name, "--help")
    assert r.code == 0, r.err
    assert f" {name} [OPTIONS] COMMAND" in " ".join(r.out.split())
    assert set(_listed(r.out)) >= COMMANDS


@pytest.mark.parametrize("name", ["dataset", "data"])
def test_both_names_scan_the_same(cli: Cli, tmp_path: Path, name: str) -> None:
    path = tmp_path / "a.txt"
    path.write_text("문의 010-1234-5678\n", encoding="utf-8")
    r = cli(name, "scan", str(path), "--format", "json", "--no-names")
    assert r.code == 0, r.err
    assert json.loads(r.out)["counts"] == {"phone": 1}


def test_the_alias_loads_the_same_app() -> None:
    by_name = {s.name: s for s in cli_main.SUBCOMMANDS}
    assert not by_name["dataset"].hidden and by_name["data"].hidden
    assert (by_name["data"].module, by_name["data"].attribute) == (
        by_name["dataset"].module, by_name["dataset"].attribute)
    assert by_name["data"].load().hidden
