"""The one place CLI commands get their API client (AICENTER_URL, AICENTER_TOKEN)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from aicenter.client import Client


def client() -> Client:
    return Client()


def row(model: BaseModel) -> dict[str, Any]:
    """A response model as a flat JSON-able dict for print_rows/print_record."""
    data: dict[str, Any] = model.model_dump(mode="json")
    return data


def with_org_names(c: Client, rows: list[dict[str, Any]], id_field: str = "org_id",
                   name_field: str = "org") -> list[dict[str, Any]]:
    """Put each row's organisation name beside its id, for tables.

    Job, grant, usage and most exchange records carry only the organisation's id, so the
    names come from one list of the organisations this token may see; ids it may not see
    (or a server that refuses the list) keep no name rather than failing the command.
    """
    from aicenter.client.http import ApiError  # lazy: offline commands import this module too

    try:
        names = {o.id: o.name for o in c.list_orgs()}
    except ApiError:
        names = {}
    for r in rows:
        r[name_field] = names.get(str(r.get(id_field)))
    return rows
