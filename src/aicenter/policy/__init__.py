"""Authorisation: every decision is a Cedar policy evaluation (``policies.cedar``)."""

from aicenter.policy.authorizer import (
    READ_ACTIONS,
    WRITE_ACTIONS,
    Authorizer,
    AuthzDecision,
    PermissionDeniedError,
    Resource,
)

__all__ = ["READ_ACTIONS", "WRITE_ACTIONS", "Authorizer", "AuthzDecision",
           "PermissionDeniedError", "Resource"]
