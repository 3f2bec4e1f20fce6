"""A signed-in browser: the server-side session behind the pages' cookie.

The cookie carries a random secret; only its SHA-256 is stored (``id``), so a copy of the
database does not let anyone resume a session. A session signed in with an API token keeps
that token's id and rights (revoking the token ends the session too); one signed in through
the institution's OpenID Connect provider has no token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class WebSession:
    """One session; ``csrf_secret`` is the token every form and htmx request must echo."""

    id: str
    person_id: str
    token_id: str | None
    can_write: bool
    csrf_secret: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime

    def live_at(self, now: datetime) -> bool:
        return now < self.expires_at
