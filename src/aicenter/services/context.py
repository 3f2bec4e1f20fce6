"""What every use case gets: database, clock, authoriser, performance table, settings, backend;
and who is calling."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aicenter.catalog import Catalog, PerformanceTable, load_catalog
from aicenter.domain.person import Person
from aicenter.ledger.audit import Actor, ActorKind, AuditRecord, Decision, Effect
from aicenter.policy import Authorizer, AuthzDecision, Resource
from aicenter.policy.authorizer import denied_error
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
        """Raise :class:`~aicenter.policy.PermissionDeniedError` unless the policies allow
        the request; either way the decision goes into the audit log (:func:`log_decision`)."""
        if not self.decide(ctx, action, resource, new_role=new_role).allowed:
            raise denied_error(self.person, action, resource)

    def decide(self, ctx: ServiceContext, action: str, resource: Resource,
               new_role: str = "") -> AuthzDecision:
        """The policies' decision, logged, for callers that refuse with their own message."""
        decision = ctx.authz.decide(self.person, action, resource, can_write=self.can_write,
                                    new_role=new_role)
        log_decision(ctx, self, action, resource, decision)
        return decision


def log_decision(ctx: ServiceContext, caller: Caller, action: str, resource: Resource,
                 decision: AuthzDecision) -> None:
    """Queue the decision for the log (:class:`~aicenter.storage.db.DeferredAudit`).

    An allowed decision rides in the next write transaction to commit: usually the change it
    allowed, a few statements later, so a write costs no extra transaction; those of reads
    wait for the next write, the loop's tick or 256 of them. A refusal is written at once, in
    its own transaction, when no transaction of this thread is open, else as soon as the
    request's transaction ends (which rolls back: the refusal must outlive it)."""
    effect = Effect.ALLOW if decision.allowed else Effect.DENY
    payload = {"permission": action}
    if not caller.can_write:
        payload["token"] = "read-only"
    ctx.db.deferred_audit.put(AuditRecord(
        ctx.clock.now(), Actor(ActorKind.PERSON, caller.person.id),
        f"authz.{'allowed' if decision.allowed else 'denied'}", resource.type, resource.id,
        resource.org_id or caller.org_id, payload, Decision(effect, decision.policy_id)),
        urgent=not decision.allowed)
    if not decision.allowed and not ctx.db.in_transaction():
        ctx.db.flush_audit(quiet=True)
