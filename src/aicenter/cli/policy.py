"""``aicenter policy``: the center's Cedar policies — who may do what, residency of domestic
data, an agreement's validity, purpose and territory, the chase-team waiver, priority
entitlement.

``show`` and ``versions`` read the server's; ``set`` (operators) puts a file in force as the
next version (validated here first, and again by the server); ``validate`` and ``test`` run on
this machine against the schema and policies shipped with aicenter, so a file is checked
before anything is sent.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from aicenter.cli.client_factory import client, row
from aicenter.cli.output import TableFormat, print_record, print_rows
from aicenter.domain.errors import InputError
from aicenter.policy.cases import CASES_FILE, load_cases, run_cases
from aicenter.policy.source import validate

app = typer.Typer(help="The center's Cedar policies: show, validate, test, set.",
                  no_args_is_help=True)

Fmt = Annotated[TableFormat, typer.Option("--format", help="table or json")]
PolicyFile = Annotated[Path, typer.Argument(help="A Cedar policy file")]


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read it: {exc}", file=str(path)) from None


def _check(path: Path, text: str) -> None:
    """Exit 2 with one line per problem (``FILE:LINE: policy ID: message``) if ``text``
    does not validate against the schema."""
    problems = validate(text)
    for problem in problems:
        sys.stderr.write(f"{path}:{problem}\n")
    if problems:
        raise typer.Exit(2)


@app.command("show")
def show(fmt: Fmt = TableFormat.TABLE,
         text_only: Annotated[bool, typer.Option("--text", help="Print only the policy text")]
         = False) -> None:
    """The policy text in force on the server, its version and sha256."""
    with client() as c:
        active = c.show_policy()
    if text_only or fmt is TableFormat.TABLE:
        if not text_only:
            sys.stdout.write(f"// version {active.version}, sha256 {active.sha256}"
                             + (f", set {active.set_at} by {active.set_by}"
                                if active.set_at else " (the packaged policies)") + "\n")
        sys.stdout.write(active.text or "")
        return
    print_record(row(active), fmt)


@app.command("versions")
def versions(fmt: Fmt = TableFormat.TABLE) -> None:
    """Every version of the policies (0: the packaged ones), oldest first."""
    with client() as c:
        found = c.list_policy_versions()
    print_rows([row(v) for v in found], fmt, ["version", "sha256", "set_at", "set_by"])


@app.command("validate")
def validate_file(path: PolicyFile) -> None:
    """Check a policy file against the schema; exit 2 naming each problem's policy and line."""
    text = _read(path)
    _check(path, text)
    typer.echo(f"{path}: valid ({text.count('@id(')} policies)")


@app.command("test")
def test_file(
    path: PolicyFile,
    cases: Annotated[Path | None, typer.Option(
        "--cases", help="A YAML file of request cases (default: the center's own)")] = None,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Run request cases (principal, action, resource, context → expected decision) against
    a policy file; exit 1 if any case fails, 2 if the file does not validate."""
    text = _read(path)
    _check(path, text)
    results = run_cases(text, load_cases(cases or CASES_FILE))
    print_rows([{"case": r.name, "expected": r.expected, "decided": r.decided,
                 "policies": ",".join(r.policies), "result": "ok" if r.passed else "FAIL"}
                for r in results], fmt, ["case", "expected", "decided", "policies", "result"])
    failed = sum(not r.passed for r in results)
    if failed:
        sys.stderr.write(f"{failed} of {len(results)} cases failed\n")
        raise typer.Exit(1)


@app.command("set")
def set_policy(path: PolicyFile, fmt: Fmt = TableFormat.TABLE) -> None:
    """Put a policy file in force as the next version (operators); every server process uses
    it within seconds, and the change is a ``policy.changed`` entry in the audit log."""
    text = _read(path)
    _check(path, text)
    with client() as c:
        done = c.set_policy(text)
    print_record(row(done.model_copy(update={"text": None})), fmt)
