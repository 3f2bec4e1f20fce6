"""Errors of the use cases (the API maps each to one 4xx status)."""

from __future__ import annotations

from typing import TypeVar

from aicenter.domain.errors import AicenterError

T = TypeVar("T")


class AuthenticationError(AicenterError):
    """No token, or a token that is unknown, expired or revoked (HTTP 401)."""


class ConflictError(AicenterError):
    """The request conflicts with the current state, e.g. a duplicate name (HTTP 409)."""


class BudgetExceededError(ConflictError):
    """A grant's balance does not cover what the request would hold (HTTP 409)."""


def guaranteed(value: T | None, what: str) -> T:
    """A row the database guarantees (a foreign key's target, or a row this transaction has
    just written): its absence is a broken invariant, a server error, never the caller's 404."""
    if value is None:
        raise LookupError(f"{what} is missing although the database guarantees it")
    return value
