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
