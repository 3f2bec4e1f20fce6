"""Compliance reports (issue 15 item 3), each computed twice — from the database's tables and
from the audit log alone — and compared (:mod:`aicenter.ledger.audit.compliance` has the
reports and what each side can know).

Who reads what (Cedar, ``compliance:read`` on a ``ComplianceReport`` of an organisation):
operators and auditors every organisation's (or one, with ``org_id``); a provider
organisation's data providers and admins only its own — the reads of its own datasets, the
PII handling of its own uploads, its own compute. Both sides are read in one snapshot of the
database, so a change committed meanwhile cannot make them differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from aicenter.domain.licence import DOMESTIC_COUNTRIES
from aicenter.ledger.audit import AuditEntry, AuditFilter, EncodingError, StoredEntry, decode
from aicenter.ledger.audit.compliance import (
    AGREED,
    CREATED,
    READ,
    SUBMITTED,
    USAGE,
    VERSION_ADDED,
    ComputeRow,
    LogFacts,
    PiiRow,
    ReadRow,
    ResidencyReport,
    Scope,
    compute_rows,
    first_difference,
    from_log,
    pii_rows,
    read_rows,
    residency,
    residency_difference,
)
from aicenter.policy import Resource
from aicenter.services.audit import TamperedLogError
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.usage import month_bounds
from aicenter.storage import Tx

REPORTS = ("datasets", "residency", "pii", "compute")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Compared(Generic[T]):
    """A report from the tables beside the same report rebuilt from the log."""

    report: str
    scope: Scope
    tables: T
    log: T
    difference: str | None
    """The first row or field where they differ (None: they match)."""
    log_entries: int
    """Entries the rebuild read."""
    log_head: int
    """The log's last entry when the report was made."""
    history: list[PiiRow] = field(default_factory=list)
    """PII report only: earlier versions, which only the log keeps."""

    @property
    def matches(self) -> bool:
        return self.difference is None


def _scope(ctx: ServiceContext, caller: Caller, report: str, org_id: str | None,
           dataset_id: str | None, month: str | None) -> Scope:
    """The scope the caller may see: operators and auditors everything (or ``org_id``),
    anyone else their own organisation — which Cedar must allow."""
    if month is not None:
        month_bounds(month)  # refuses what is not YYYY-MM
    scoped = org_id if caller.sees_all else (org_id or caller.org_id)
    caller.check(ctx, "compliance:read", Resource("ComplianceReport", report, scoped))
    return Scope(scoped, dataset_id, month)


def _decoded(rows: Iterable[StoredEntry]) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for row in rows:
        try:
            entries.append(decode(row.body))
        except EncodingError as exc:
            raise TamperedLogError(f"entry {row.seq} is not a valid entry ({exc}): run "
                                   "'aicenter audit verify'") from None
    return entries


def _log(tx: Tx, actions: Iterable[str], org_id: str | None = None
         ) -> tuple[LogFacts, int]:
    """The facts of the given actions' entries (all of them, or one organisation's), and the
    log's head."""
    entries: list[AuditEntry] = []
    for action in actions:
        entries += _decoded(tx.audit.search(AuditFilter(org_id=org_id, action=action)))
    return from_log(entries), tx.audit.head().seq


def _reads_log(tx: Tx) -> tuple[LogFacts, int]:
    """The facts of the reads' reports (:func:`dataset_reads`, :func:`residency_exceptions`):
    every read, agreement and dataset version entry, and the submissions of the jobs that
    read, the only ones a read's row names (its submitter): reading every job's would cost
    an entry decoded per job of the center for rows that never use it."""
    entries: list[AuditEntry] = []
    for action in (AGREED, CREATED, VERSION_ADDED, READ):
        entries += _decoded(tx.audit.search(AuditFilter(action=action)))
    jobs = {str(e.record.payload.get("job")) for e in entries if e.record.action == READ}
    entries += _decoded(tx.audit.search_objects(SUBMITTED, "job", jobs))
    return from_log(entries), tx.audit.head().seq


def dataset_reads(ctx: ServiceContext, caller: Caller, *, org_id: str | None = None,
                  dataset_id: str | None = None, month: str | None = None
                  ) -> Compared[list[ReadRow]]:
    """Per dataset: who read it, when, from which job, on which pool, site and country, under
    which agreement and purpose (``org_id``: the provider whose datasets; ``month``: of the
    reads' last recording)."""
    scope = _scope(ctx, caller, "datasets", org_id, dataset_id, month)
    with ctx.db.transaction(write=False) as tx:
        tx.compliance.snapshot()
        tables = read_rows(tx.compliance.reads(provider_org_id=scope.org_id,
                                               dataset_id=dataset_id), scope)
        facts, head = _reads_log(tx)
    log = read_rows(facts.reads, scope)
    return Compared("datasets", scope, tables, log,
                    first_difference(tables, log, key=lambda r: (r.dataset_id, r.job_id)),
                    facts.entries, head)


def residency_exceptions(ctx: ServiceContext, caller: Caller, *, org_id: str | None = None,
                         dataset_id: str | None = None, month: str | None = None
                         ) -> Compared[ResidencyReport]:
    """Reads of domestic datasets outside the domestic countries, each with its reason; none
    expected (the module docstring of :mod:`aicenter.ledger.audit.compliance` says why), and
    the number of domestic reads checked to show it."""
    scope = _scope(ctx, caller, "residency", org_id, dataset_id, month)
    with ctx.db.transaction(write=False) as tx:
        tx.compliance.snapshot()
        tables = residency(tx.compliance.reads(provider_org_id=scope.org_id,
                                               dataset_id=dataset_id), scope,
                           DOMESTIC_COUNTRIES)
        facts, head = _reads_log(tx)
    log = residency(facts.read_entries, scope, DOMESTIC_COUNTRIES, facts.read_seqs)
    return Compared("residency", scope, tables, log, residency_difference(tables, log),
                    facts.entries, head)


def pii_actions(ctx: ServiceContext, caller: Caller, *, org_id: str | None = None,
                dataset_id: str | None = None) -> Compared[list[PiiRow]]:
    """The PII actions applied at ingest to each dataset's current version (tables and log)
    and to its earlier versions (``history``: the log alone keeps them)."""
    scope = _scope(ctx, caller, "pii", org_id, dataset_id, None)
    with ctx.db.transaction(write=False) as tx:
        tx.compliance.snapshot()
        tables = pii_rows(tx.compliance.pii(provider_org_id=scope.org_id,
                                            dataset_id=dataset_id), scope)
        facts, head = _log(tx, (CREATED, VERSION_ADDED), scope.org_id)
    log = pii_rows(facts.pii_current, scope)
    return Compared("pii", scope, tables, log,
                    first_difference(tables, log, key=lambda r: (r.dataset_id, r.version)),
                    facts.entries, head, pii_rows(facts.pii_history, scope))


def compute_used(ctx: ServiceContext, caller: Caller, *, org_id: str | None = None,
                 month: str | None = None) -> Compared[list[ComputeRow]]:
    """Per organisation and month: chip-hours and h100e-hours by chip type and country."""
    scope = _scope(ctx, caller, "compute", org_id, None, month)
    start, end = month_bounds(month) if month is not None else (None, None)
    with ctx.db.transaction(write=False) as tx:
        tx.compliance.snapshot()
        tables = compute_rows(tx.compliance.usage(org_id=scope.org_id, start=start, end=end),
                              scope)
        facts, head = _log(tx, (USAGE,), scope.org_id)
    log = compute_rows(facts.usage, scope)
    return Compared("compute", scope, tables, log,
                    first_difference(tables, log,
                                     key=lambda r: (r.org_id, r.month, r.chip, r.country or "")),
                    facts.entries, head)
