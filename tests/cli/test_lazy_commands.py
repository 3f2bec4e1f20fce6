"""The deferred subcommands (``aicenter.cli.lazy``) behave as if registered eagerly.

An app built the old way (``add_typer``/``command`` on modules imported up front) is the
reference: every help screen, usage error and exit code must be the same.
"""

from __future__ import annotations

import importlib
import inspect

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from aicenter.cli import main as cli_main


def eager_app() -> typer.Typer:
    """The root app with every subcommand imported and registered directly."""
    app = typer.Typer(name="aicenter", help=cli_main.app.info.help,
                      epilog=cli_main.app.info.epilog, no_args_is_help=True,
                      pretty_exceptions_enable=False, add_completion=False)
    for sub in cli_main.SUBCOMMANDS:
        target = getattr(importlib.import_module(sub.module), sub.attribute)
        if sub.group:
            app.add_typer(target, name=sub.name, hidden=sub.hidden)
        else:
            app.command(sub.name)(target)
    app.command("version")(cli_main.version)
    return app


def argvs() -> list[list[str]]:
    """Help and usage screens of the root, every subcommand and every command of a group."""
    out: list[list[str]] = [[], ["--help"], ["nope"], ["jbo"]]
    for sub in cli_main.SUBCOMMANDS:
        out += [[sub.name, "--help"], [sub.name, "--no-such-flag"]]
        if sub.group:
            out.append([sub.name])
            group = sub.load()
            for name in group.commands:
                out.append([sub.name, name, "--help"])
    return out


@pytest.fixture(scope="module")
def eager() -> typer.Typer:
    return eager_app()


@pytest.mark.parametrize("argv", argvs(), ids=lambda a: " ".join(a) or "(none)")
def test_the_lazy_cli_answers_as_the_eager_one(argv: list[str], eager: typer.Typer) -> None:
    runner = CliRunner()
    lazy = runner.invoke(cli_main.app, argv, prog_name="aicenter")
    reference = runner.invoke(eager, argv, prog_name="aicenter")
    assert (lazy.exit_code, lazy.output) == (reference.exit_code, reference.output)


def test_help_lines_are_the_commands_own() -> None:
    for sub in cli_main.SUBCOMMANDS:
        command = sub.load()
        first = inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " ")
        assert sub.help == first.strip(), sub.name
