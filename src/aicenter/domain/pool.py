"""A pool: identical accelerators at one site, and the state the operator keeps it in.

A pool is *active* (the scheduler places jobs on it), *draining* (nothing new lands on it; the
jobs running there finish) or *removed* (gone from the fleet; kept as a record because jobs
may have run on it). The checks here are the one place every way in (API, CLI, pools file)
validates a pool's fields, so each gives the same message naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aicenter.domain.errors import InputError

MAX_CHIP_COUNT = 1_000_000
MAX_SITE_CHARS = 80
_COUNTRY = re.compile(r"[A-Z]{2}")
_POOL_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class PoolState(StrEnum):
    ACTIVE = "active"
    DRAINING = "draining"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class Pool:
    """``chip_count`` chips of catalog type ``chip_id`` at ``site`` in ``country`` (ISO 3166
    alpha-2: decides where datasets tagged domestic may be read). ``created_at`` is None for
    pools registered before pools had a state."""

    id: str
    chip_id: str
    chip_count: int
    site: str
    country: str = "KR"
    state: PoolState = PoolState.ACTIVE
    created_at: datetime | None = None

    @property
    def takes_jobs(self) -> bool:
        """Whether the scheduler may place new jobs here."""
        return self.state is PoolState.ACTIVE


def check_chip_count(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or \
            not 1 <= count <= MAX_CHIP_COUNT:
        raise InputError(f"{count!r} is not a chip count from 1 to 1,000,000", field="chip_count")
    return count


def check_site(site: str) -> str:
    if not isinstance(site, str) or not site.strip() or len(site) > MAX_SITE_CHARS or \
            "\x00" in site:
        raise InputError(f"{site!r} is not a site name (1 to {MAX_SITE_CHARS} characters, "
                         "no NUL)", field="site")
    return site


def check_country(country: str) -> str:
    if not isinstance(country, str) or not _COUNTRY.fullmatch(country):
        raise InputError(f"{country!r} is not an ISO 3166 alpha-2 code like KR (upper case)",
                         field="country")
    return country


def check_pool_id(pool_id: str) -> str:
    """An id the operator chooses (pools file, ``pool add --id``): stable across loads."""
    if not isinstance(pool_id, str) or not _POOL_ID.fullmatch(pool_id):
        raise InputError(f"{pool_id!r} is not a pool id (lower-case letters, digits, '-' and "
                         "'_', starting with a letter or digit, at most 40)", field="id")
    return pool_id
