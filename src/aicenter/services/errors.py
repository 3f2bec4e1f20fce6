"""Errors of the use cases (the API maps each to one 4xx status)."""

from __future__ import annotations

from aicenter.domain.errors import AicenterError


class AuthenticationError(AicenterError):
    """No token, or a token that is unknown, expired or revoked (HTTP 401)."""


class ConflictError(AicenterError):
    """The request conflicts with the current state, e.g. a duplicate name (HTTP 409)."""


class BudgetExceededError(ConflictError):
    """A grant's balance does not cover what the request would hold (HTTP 409)."""
