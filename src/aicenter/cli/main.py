"""Entry point of the ``aicenter`` command.

Every error aicenter reports (:class:`AicenterError`) becomes one line on stderr, never a
traceback, and an exit code that says what kind it was (:mod:`aicenter.cli.exit_codes`).
"""

from __future__ import annotations

import sys

import typer

from aicenter import __version__
from aicenter.cli.exit_codes import HELP as EXIT_CODES_HELP
from aicenter.cli.exit_codes import exit_code
from aicenter.cli.lazy import Subcommand, lazy_group
from aicenter.domain.errors import AicenterError

SUBCOMMANDS = (
    Subcommand("serve", "aicenter.cli.serve", "serve", "Run the center's API server on "
               "127.0.0.1:8000 (OpenAPI docs at /docs).", group=False),
    Subcommand("demo", "aicenter.cli.demo", "demo", "Start a sample center on SQLite at "
               "127.0.0.1:PORT and print an operator token.", group=False),
    Subcommand("doctor", "aicenter.cli.doctor", "doctor", "Check what this host can enforce; "
               "exit 0 all ok, 1 warnings, 2 a failure.", group=False),
    Subcommand("procure", "aicenter.cli.procure", "procure", "Maximise dense-training "
               "H100-equivalents under budget and power (MILP, HiGHS).", group=False),
    Subcommand("simulate", "aicenter.cli.simulate", "simulate_command", "Replay a trace (Gavel, "
               "Slurm sacct or native) on a simulated cluster and report JCTs.", group=False),
    Subcommand("catalog", "aicenter.cli.catalog", "app",
               "The accelerator catalog: every chip type the center knows.", group=True),
    Subcommand("plan", "aicenter.cli.plan", "app", "Plan a training run: FLOPs, chip-hours, "
               "days, energy and cost per chip type.", group=True),
    # dataset_exchange adds the remote commands (upload, list, offer...) to cli.dataset's app.
    Subcommand("dataset", "aicenter.cli.dataset_exchange", "app",
               "The licensed-data exchange: datasets, PII, licences.", group=True),
    # The group's first name, kept (unlisted) so that users' scripts keep working.
    Subcommand("data", "aicenter.cli.dataset_exchange", "app",
               "The licensed-data exchange: datasets, PII, licences.", group=True, hidden=True),
    Subcommand("org", "aicenter.cli.org", "app", "Organisations, people and API tokens.",
               group=True),
    Subcommand("call", "aicenter.cli.call", "app", "Allocation calls, applications and reviews.",
               group=True),
    Subcommand("grant", "aicenter.cli.grant", "app", "Grants of h100e-hour budgets.",
               group=True),
    Subcommand("pool", "aicenter.cli.pool", "app",
               "Accelerator pools: chip type × count at a site, and their state.", group=True),
    Subcommand("share", "aicenter.cli.share", "app",
               "Guaranteed shares (H100e held at once) of organisations and calls.", group=True),
    Subcommand("job", "aicenter.cli.job", "app", "Jobs: submit, list, show, logs, cancel.",
               group=True),
    Subcommand("model", "aicenter.cli.model", "app",
               "Model versions from jobs' outputs and their signed provenance cards.",
               group=True),
    Subcommand("usage", "aicenter.cli.usage", "app", "Usage records and monthly statements.",
               group=True),
    Subcommand("policy", "aicenter.cli.policy", "app",
               "The center's Cedar policies: show, validate, test, set.", group=True),
    Subcommand("audit", "aicenter.cli.audit", "app",
               "The tamper-evident audit log: verify, show, export, checkpoints.", group=True),
    Subcommand("compliance", "aicenter.cli.compliance", "app",
               "Compliance reports (dataset reads, residency, PII, compute), each checked "
               "against its rebuild from the audit log.", group=True),
    Subcommand("fleet", "aicenter.cli.fleet", "fleet_app", "Score a fleet against a rubric.",
               group=True),
    Subcommand("proposals", "aicenter.cli.fleet", "proposals_app", "Rank providers' proposals.",
               group=True),
)
"""Every subcommand but ``version``, imported when it runs (:mod:`aicenter.cli.lazy`); the
help lines are the commands' own (``tests/cli/test_lazy_commands.py`` checks them)."""

app = typer.Typer(
    cls=lazy_group(SUBCOMMANDS),
    name="aicenter",
    help="Operate a national AI computing center: fleet, planner, scheduler, service, data.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root() -> None:
    # Without a callback, Typer would make an app whose only own command is ``version`` that
    # command itself rather than a group of the deferred subcommands.
    pass

@app.command("version")
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code: 0 ok, 1 a failed operation or a server's refusal,
    2 a usage error (see :mod:`aicenter.cli.exit_codes`)."""
    try:
        result = app(args=argv, standalone_mode=False)
    except AicenterError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return exit_code(exc)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        return 130
    except typer.TyperException as exc:
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            sys.stderr.write(f"error: {exc}\n")
        return int(getattr(exc, "exit_code", 2))
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
