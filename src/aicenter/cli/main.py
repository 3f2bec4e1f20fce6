"""Entry point of the ``aicenter`` command.

Every error aicenter reports (:class:`AicenterError`) becomes one line on stderr, never a
traceback, and an exit code that says what kind it was (:mod:`aicenter.cli.exit_codes`).
"""

from __future__ import annotations

import sys

import typer

import aicenter.cli.data_exchange  # noqa: F401  (adds data upload|list|show|offer|...)
from aicenter import __version__
from aicenter.cli import call as call_cli
from aicenter.cli import catalog, fleet, procure
from aicenter.cli import data as data_cli
from aicenter.cli import demo as demo_cli
from aicenter.cli import doctor as doctor_cli
from aicenter.cli import grant as grant_cli
from aicenter.cli import job as job_cli
from aicenter.cli import org as org_cli
from aicenter.cli import plan as plan_cli
from aicenter.cli import pool as pool_cli
from aicenter.cli import serve as serve_cli
from aicenter.cli import share as share_cli
from aicenter.cli import simulate as simulate_cli
from aicenter.cli import usage as usage_cli
from aicenter.cli.exit_codes import HELP as EXIT_CODES_HELP
from aicenter.cli.exit_codes import exit_code
from aicenter.domain.errors import AicenterError

app = typer.Typer(
    name="aicenter",
    help="Operate a national AI computing center: fleet, planner, scheduler, service, data.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(catalog.app, name="catalog")
app.add_typer(plan_cli.app, name="plan")
app.add_typer(data_cli.app, name="data")
app.add_typer(org_cli.app, name="org")
app.command("serve")(serve_cli.serve)
app.command("demo")(demo_cli.demo)
app.command("doctor")(doctor_cli.doctor)
app.add_typer(call_cli.app, name="call")
app.add_typer(grant_cli.app, name="grant")
app.add_typer(pool_cli.app, name="pool")
app.add_typer(share_cli.app, name="share")
app.add_typer(job_cli.app, name="job")
app.add_typer(usage_cli.app, name="usage")
app.add_typer(fleet.fleet_app, name="fleet")
app.add_typer(fleet.proposals_app, name="proposals")
app.command("procure")(procure.procure)
app.command("simulate")(simulate_cli.simulate_command)


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
