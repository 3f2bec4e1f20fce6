"""API tokens: stored as a SHA-256 hash only, scoped, expiring and revocable.

The secret is shown once at creation. A token of 32 random bytes has 256 bits of entropy, so a
plain (unsalted) SHA-256 is enough to make a stolen table useless and lets a request find its
token with one indexed look-up.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

TOKEN_PREFIX = "aic_"


class Scope(StrEnum):
    """What a token may be used for, on top of its owner's role."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


def hash_token(secret: str) -> str:
    """The stored form of a token secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: str
    person_id: str
    name: str
    token_hash: str
    scopes: frozenset[Scope]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def usable_at(self, now: datetime) -> bool:
        """True while the token is neither revoked nor expired at ``now``."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or now < self.expires_at
