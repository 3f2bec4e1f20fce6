"""What every use case gets: database, clock, authoriser, performance table, settings, backend;
and who is calling."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aicenter.catalog import Catalog, PerformanceTable, load_catalog
from aicenter.domain.person import Person
from aicenter.policy import Authorizer, Resource
from aicenter.services.clock import Clock, SystemClock
from aicenter.settings import Settings
from aicenter.storage import Database


def new_id(prefix: str) -> str:
    """A random, unguessable id such as ``job_3f9c...`` (20 hex digits, 80 bits)."""
    return f"{prefix}_{secrets.token_hex(10)}"


@dataclass
class ServiceContext:
    db: Database
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    authz: Authorizer = field(default_factory=Authorizer)
    catalog: Catalog = field(default_factory=load_catalog)
    perf: PerformanceTable | None = None
    backend: Any = None
    wake_uploads: Callable[[], None] | None = None
    """Set by the process that runs the upload runner: an upload accepted there is ingested
    at once instead of at the runner's next poll."""

    def __post_init__(self) -> None:
        if self.perf is None:
            self.perf = PerformanceTable.from_catalog(self.catalog)

    @property
    def performance(self) -> PerformanceTable:
        assert self.perf is not None
        return self.perf


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated person and whether their token may write."""

    person: Person
    can_write: bool = True

    @property
    def org_id(self) -> str:
        return self.person.org_id

    @property
    def sees_all(self) -> bool:
        """Operators and auditors see every organisation (as the policies allow them)."""
        return self.person.role.value in ("operator", "auditor")

    def check(self, ctx: ServiceContext, action: str, resource: Resource,
              new_role: str = "") -> None:
        ctx.authz.check(self.person, action, resource, can_write=self.can_write,
                        new_role=new_role)
