"""``aicenter org``: organisations, their people and API tokens (through the API)."""

from __future__ import annotations

from typing import Annotated

import typer

from aicenter.cli.client_factory import client, row
from aicenter.cli.output import TableFormat, Wide, print_record, print_rows

app = typer.Typer(help="Organisations, people and API tokens.", no_args_is_help=True)

Fmt = Annotated[TableFormat, typer.Option("--format", help="table or json")]
ORG_COLUMNS = ["id", "name", "org_class", "chase_team", "region", "priority_classes"]
Priority = Annotated[str, typer.Option("--priority", help="chase-team, normal or best-effort")]


@app.command("list")
def list_orgs(fmt: Fmt = TableFormat.TABLE, wide: Wide = False) -> None:
    """Organisations you may see."""
    with client() as c:
        print_rows([row(o) for o in c.list_orgs()], fmt, ORG_COLUMNS,
                   essential=["id", "name", "org_class"], wide=wide)


@app.command("show")
def show(org_id: str, fmt: Fmt = TableFormat.TABLE) -> None:
    """One organisation."""
    with client() as c:
        print_record(row(c.get_org(org_id)), fmt)


@app.command("create")
def create(
    name: str,
    org_class: Annotated[str, typer.Option("--class", help="university, research-institute, "
                                           "startup, youth-startup, sme, enterprise, "
                                           "public-agency")],
    chase_team: Annotated[bool, typer.Option(help="Member of the chase team")] = False,
    region: Annotated[str, typer.Option(help="Region ('capital' or another)")] = "capital",
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Register an organisation (operators)."""
    with client() as c:
        print_record(row(c.create_org(name, org_class, chase_team=chase_team, region=region)),
                     fmt)


@app.command("entitle")
def entitle(org_id: str, priority: Priority, fmt: Fmt = TableFormat.TABLE) -> None:
    """Entitle an organisation to a job priority class (operators)."""
    with client() as c:
        print_record(row(c.entitle(org_id, priority)), fmt)


@app.command("revoke")
def revoke(org_id: str, priority: Priority, fmt: Fmt = TableFormat.TABLE) -> None:
    """Take a job priority class back from an organisation (operators); its jobs already
    admitted keep it."""
    with client() as c:
        print_record(row(c.revoke_priority(org_id, priority)), fmt)


@app.command("people")
def people(org_id: str, fmt: Fmt = TableFormat.TABLE, wide: Wide = False) -> None:
    """People of an organisation."""
    with client() as c:
        print_rows([row(p) for p in c.list_people(org_id)], fmt,
                   ["id", "name", "email", "role"], wide=wide)


@app.command("add-person")
def add_person(
    org_id: str,
    name: str,
    email: str,
    role: Annotated[str, typer.Option(help="operator, org-admin, member, data-provider, "
                                      "auditor")] = "member",
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Add a person to an organisation."""
    with client() as c:
        print_record(row(c.add_person(org_id, name, email, role)), fmt)


@app.command("token")
def token(
    person_id: str,
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
    scope: Annotated[list[str] | None, typer.Option(help="read, write, admin (repeat)")] = None,
    expires_in_days: Annotated[float | None, typer.Option(help="Lifetime in days")] = None,
    fmt: Fmt = TableFormat.TABLE,
) -> None:
    """Create an API token for a person; the secret is printed once."""
    with client() as c:
        print_record(row(c.create_token(person_id, name, scope, expires_in_days)), fmt)


@app.command("whoami")
def whoami(fmt: Fmt = TableFormat.TABLE) -> None:
    """Who the current token (AICENTER_TOKEN) belongs to."""
    with client() as c:
        me = c.whoami()
        print_record({**row(me.person), "can_write": me.can_write}, fmt)
