"""Compliance reports as pure functions over facts, and the same facts rebuilt from the log.

Each report is computed twice: once from facts the database's tables give (the services
gather them), once from facts this module extracts from the audit log's entries alone. Both go
through the same aggregation, so the two reports differ only where the tables and the log
disagree; :func:`first_difference` names the first such row and field.

The reports (issue 15 item 3):

* **reads** — per dataset: which organisation and person read it, from which job, on which
  pool, site and country, under which agreement and purpose, how much, and when the totals
  were last recorded. One row per (job, dataset): the meter records totals, not increments.
* **residency** — reads of datasets tagged domestic that happened outside the domestic
  countries (or in no recorded country), each with its reason. The center prevents them: a
  job placed on a foreign pool gets no data grant (its launch fails) and the reader refuses to
  open a dataset without a grant; there is no override. So the report is expected to say
  "none", and it proves it by counting the domestic reads it checked. From the log every
  ``dataset.read`` entry is checked (a job requeued onto another pool leaves one entry per
  placement), with the dataset's domestic flag as its latest version entry before the read
  said; the tables know only each read's last placement and the dataset's current flag.
* **pii** — per dataset version, the PII actions applied at ingest (type → drop, redact,
  pseudonymise or keep) and what the detectors counted. The tables keep each dataset's
  current version only; the log keeps every version (``history``), and the two are compared
  on the current versions.
* **compute** — per organisation, month (of each usage record's start, as statements count
  it), chip type and country: chip-hours and h100e-hours. The tables know the country a job
  last ran in; the log's ``usage.recorded`` entries carry the country of the interval itself.

Objective of the comparison: the report from the tables equals the report from the log, row by
row and field by field, after the same scoping (provider, organisation, dataset, month).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from aicenter.ledger.audit.entry import AuditEntry, parse_time

READ = "dataset.read"
CREATED = "dataset.created"
VERSION_ADDED = "dataset.version_added"
AGREED = "agreement.accepted"
SUBMITTED = "job.submitted"
USAGE = "usage.recorded"
ACTIONS = (READ, CREATED, VERSION_ADDED, AGREED, SUBMITTED, USAGE)
"""The entries the reports are rebuilt from."""

MICRO = Decimal("0.000001")
SECONDS_PER_HOUR = Decimal(3600)


# -- facts and rows ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReadRow:
    """One job's metered reads of one dataset (a row of the reads report)."""

    dataset_id: str
    provider_org_id: str | None
    org_id: str
    person_id: str | None
    """Who submitted the job."""
    job_id: str
    agreement_id: str
    purpose: str | None
    pool_id: str | None
    site: str | None
    country: str | None
    domestic: bool | None
    records: int
    bytes: int
    tokens: int
    recorded_at: datetime
    """When the meter last recorded the totals."""


@dataclass(frozen=True, slots=True)
class ResidencyException:
    """A read of a domestic dataset outside the domestic countries, and why it counts."""

    dataset_id: str
    job_id: str
    org_id: str
    agreement_id: str
    pool_id: str | None
    site: str | None
    country: str | None
    reason: str
    seq: int | None = None
    """The log entry that shows it (None: found in the tables)."""


@dataclass(frozen=True, slots=True)
class ResidencyReport:
    domestic_countries: tuple[str, ...]
    reads_checked: int
    """(job, dataset) pairs of domestic datasets examined."""
    exceptions: tuple[ResidencyException, ...]


@dataclass(frozen=True, slots=True)
class PiiRow:
    """The PII handling of one dataset version at ingest."""

    dataset_id: str
    provider_org_id: str | None
    version: str
    actions: tuple[tuple[str, str], ...] | None
    """PII type → action applied; None when the version predates recording them."""
    records: int | None
    records_with_pii: int | None
    counts: tuple[tuple[str, int], ...]
    """PII type → findings."""
    dropped_for_pii: int | None


@dataclass(frozen=True, slots=True)
class UsageFact:
    """One metering interval of one job."""

    org_id: str
    chip: str
    country: str | None
    start: datetime
    chip_seconds: Decimal
    h100e_seconds: Decimal


@dataclass(frozen=True, slots=True)
class ComputeRow:
    org_id: str
    month: str
    chip: str
    country: str | None
    chip_hours: Decimal
    h100e_hours: Decimal
    records: int


@dataclass(frozen=True, slots=True)
class Scope:
    """What a report covers: a provider's datasets (data reports) or an organisation's use
    (compute), one dataset, one month (YYYY-MM); None: everything the caller may see."""

    org_id: str | None = None
    dataset_id: str | None = None
    month: str | None = None


def month_of(t: datetime) -> str:
    return f"{t.year:04d}-{t.month:02d}"


# -- PII summary: what the dataset entry carries and the datasets table holds ------------------
def pii_summary(pii_report: Mapping[str, Any], stats: Mapping[str, Any]) -> dict[str, Any]:
    """The facts of a version's PII handling, from its stored PII report (which carries the
    ``actions`` applied since they are recorded) and its ingest counts. The same dict goes
    into the ``dataset.created``/``dataset.version_added`` entry, so the log alone proves it."""
    actions = pii_report.get("actions")
    dropped = stats.get("count_dropped_for_pii")
    return {
        "actions": None if actions is None else {str(k): str(v) for k, v in
                                                 sorted(dict(actions).items())},
        "records": _int(pii_report.get("records")),
        "records_with_pii": _int(pii_report.get("records_with_pii")),
        "counts": {str(k): int(v) for k, v in sorted(dict(pii_report.get("counts", {})).items())},
        "dropped_for_pii": _int(dropped),
    }


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def pii_row(dataset_id: str, provider_org_id: str | None, version: str,
            summary: Mapping[str, Any] | None) -> PiiRow:
    s = summary or {}
    actions = s.get("actions")
    return PiiRow(dataset_id, provider_org_id, version,
                  None if actions is None else tuple(sorted(actions.items())),
                  _int(s.get("records")), _int(s.get("records_with_pii")),
                  tuple(sorted((k, int(v)) for k, v in dict(s.get("counts") or {}).items())),
                  _int(s.get("dropped_for_pii")))


# -- the reports, from facts ---------------------------------------------------------------
def read_rows(facts: Iterable[ReadRow], scope: Scope) -> list[ReadRow]:
    """The reads report: the facts in scope (provider, dataset, month of the last record),
    by dataset then job."""
    return sorted((f for f in facts if _read_in(f, scope)),
                  key=lambda f: (f.dataset_id, f.job_id))


def _read_in(f: ReadRow, scope: Scope) -> bool:
    return ((scope.org_id is None or f.provider_org_id == scope.org_id)
            and (scope.dataset_id is None or f.dataset_id == scope.dataset_id)
            and (scope.month is None or month_of(f.recorded_at) == scope.month))


def exception_reason(row: ReadRow, domestic_countries: frozenset[str]) -> str | None:
    """Why a read breaks residency, or None: only reads of domestic datasets count, and they
    must have happened in a domestic country."""
    if not row.domestic:
        return None
    if row.country is None:
        return (f"domestic dataset {row.dataset_id} read with no recorded country (pool "
                f"{row.pool_id or 'unknown'}): residency cannot be shown")
    if row.country not in domestic_countries:
        return (f"domestic dataset {row.dataset_id} read on pool {row.pool_id} in "
                f"{row.country}, outside {', '.join(sorted(domestic_countries))}")
    return None


def residency(facts: Iterable[ReadRow], scope: Scope, domestic_countries: frozenset[str],
              seqs: Mapping[ReadRow, int] | None = None) -> ResidencyReport:
    """Residency exceptions among the reads in scope. ``facts`` may hold several rows per
    (job, dataset) (one per log entry); ``seqs`` names the entry of each."""
    checked: set[tuple[str, str]] = set()
    found: dict[tuple[str, str, str | None], ResidencyException] = {}
    for f in facts:
        if not _read_in(f, scope) or not f.domestic:
            continue
        checked.add((f.job_id, f.dataset_id))
        reason = exception_reason(f, domestic_countries)
        key = (f.job_id, f.dataset_id, f.country)
        if reason is not None and key not in found:
            found[key] = ResidencyException(f.dataset_id, f.job_id, f.org_id, f.agreement_id,
                                            f.pool_id, f.site, f.country, reason,
                                            None if seqs is None else seqs.get(f))
    ordered = sorted(found.values(), key=lambda e: (e.dataset_id, e.job_id, e.country or ""))
    return ResidencyReport(tuple(sorted(domestic_countries)), len(checked), tuple(ordered))


def pii_rows(rows: Iterable[PiiRow], scope: Scope) -> list[PiiRow]:
    """The PII report: rows in scope (provider, dataset), by dataset then version."""
    return sorted((r for r in rows if (scope.org_id is None or r.provider_org_id == scope.org_id)
                   and (scope.dataset_id is None or r.dataset_id == scope.dataset_id)),
                  key=lambda r: (r.dataset_id, r.version))


def compute_rows(facts: Iterable[UsageFact], scope: Scope) -> list[ComputeRow]:
    """Compute used per (organisation, month, chip, country): sums of the intervals' chip- and
    h100e-seconds, in hours to the ledger's micro precision (rounded once, after summing)."""
    sums: dict[tuple[str, str, str, str | None], list[Any]] = defaultdict(
        lambda: [Decimal(0), Decimal(0), 0])
    for f in facts:
        month = month_of(f.start)
        if (scope.org_id is not None and f.org_id != scope.org_id) or \
                (scope.month is not None and month != scope.month):
            continue
        acc = sums[(f.org_id, month, f.chip, f.country)]
        acc[0] += f.chip_seconds
        acc[1] += f.h100e_seconds
        acc[2] += 1
    return [ComputeRow(org, month, chip, country,
                       (chip_s / SECONDS_PER_HOUR).quantize(MICRO),
                       (h100e_s / SECONDS_PER_HOUR).quantize(MICRO), n)
            for (org, month, chip, country), (chip_s, h100e_s, n)
            in sorted(sums.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2],
                                                    kv[0][3] or ""))]


# -- facts from the log alone --------------------------------------------------------------
@dataclass(slots=True)
class LogFacts:
    """What the reports need, read from the entries of :data:`ACTIONS` in sequence order."""

    reads: list[ReadRow] = dataclasses.field(default_factory=list)
    """The last entry of each (job, dataset): the report's rows."""
    read_entries: list[ReadRow] = dataclasses.field(default_factory=list)
    """Every ``dataset.read`` entry, for residency."""
    read_seqs: dict[ReadRow, int] = dataclasses.field(default_factory=dict)
    pii_current: list[PiiRow] = dataclasses.field(default_factory=list)
    pii_history: list[PiiRow] = dataclasses.field(default_factory=list)
    usage: list[UsageFact] = dataclasses.field(default_factory=list)
    entries: int = 0


def from_log(entries: Iterable[AuditEntry]) -> LogFacts:
    """The facts of every report from the log's entries alone (any order in; they are taken
    in sequence order). Joins are made within the log: a read's purpose from its agreement's
    ``agreement.accepted``, its submitter from ``job.submitted``, its provider and domestic
    flag from the dataset's latest version entry before it."""
    facts = LogFacts()
    purpose: dict[str, str] = {}
    submitter: dict[str, str | None] = {}
    dataset: dict[str, tuple[str | None, bool | None]] = {}
    last_read: dict[tuple[str, str], ReadRow] = {}
    versions: dict[str, list[PiiRow]] = defaultdict(list)
    for entry in sorted(entries, key=lambda e: e.seq):
        facts.entries += 1
        r = entry.record
        p = r.payload
        if r.action == AGREED:
            purpose[r.object_id] = str(p.get("purpose"))
        elif r.action == SUBMITTED:
            submitter[r.object_id] = r.actor.id if r.actor.kind.value == "person" else None
        elif r.action in (CREATED, VERSION_ADDED):
            domestic = p.get("domestic")
            dataset[r.object_id] = (r.org_id, None if domestic is None else bool(domestic))
            version = str(p.get("version"))
            rows = versions[r.object_id]
            rows[:] = [x for x in rows if x.version != version]
            rows.append(pii_row(r.object_id, r.org_id, version, p.get("pii")))
        elif r.action == READ:
            provider, domestic = dataset.get(r.object_id, (None, None))
            job_id = str(p.get("job"))
            agreement_id = str(p.get("agreement"))
            row = ReadRow(
                r.object_id, provider, r.org_id or "", submitter.get(job_id), job_id,
                agreement_id, purpose.get(agreement_id), _opt(p.get("pool")),
                _opt(p.get("site")), _opt(p.get("country")), domestic,
                int(p.get("records") or 0), int(p.get("bytes") or 0),
                int(p.get("tokens") or 0),
                parse_time(str(p["at"])) if p.get("at") else r.time)
            facts.read_entries.append(row)
            facts.read_seqs.setdefault(row, entry.seq)
            last_read[(job_id, r.object_id)] = row
        elif r.action == USAGE:
            facts.usage.append(UsageFact(
                r.org_id or "", str(p.get("chip")), _opt(p.get("country")),
                parse_time(str(p.get("start"))), Decimal(str(p.get("chip_seconds"))),
                Decimal(str(p.get("h100e_seconds")))))
    facts.reads = list(last_read.values())
    for rows in versions.values():
        facts.pii_current.append(rows[-1])
        facts.pii_history.extend(rows[:-1])
    return facts


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


# -- comparing -----------------------------------------------------------------------------
R = TypeVar("R")


def first_difference(tables: Sequence[R], log: Sequence[R], key: Callable[[R], Any],
                     ignore: frozenset[str] = frozenset()) -> str | None:
    """The first row (in key order) where the tables' report and the log's differ: a row only
    one side has, or the first field whose values differ. None when they agree."""
    left = {key(r): r for r in tables}
    right = {key(r): r for r in log}
    for k in sorted(left.keys() | right.keys(), key=repr):
        a, b = left.get(k), right.get(k)
        name = "/".join(str(x) for x in (k if isinstance(k, tuple) else (k,)))
        if a is None:
            return f"{name}: in the log, not in the tables"
        if b is None:
            return f"{name}: in the tables, not in the log"
        for f in dataclasses.fields(a):  # type: ignore[arg-type]
            if f.name in ignore:
                continue
            va, vb = getattr(a, f.name), getattr(b, f.name)
            if va != vb:
                return f"{name}: {f.name} is {va!r} in the tables, {vb!r} in the log"
    return None


def residency_difference(tables: ResidencyReport, log: ResidencyReport) -> str | None:
    """The first difference between two residency reports (the log's entry numbers aside)."""
    found = first_difference(list(tables.exceptions), list(log.exceptions),
                             key=lambda e: (e.dataset_id, e.job_id, e.country or ""),
                             ignore=frozenset({"seq"}))
    if found is not None:
        return found
    if tables.reads_checked != log.reads_checked:
        return (f"domestic reads checked: {tables.reads_checked} in the tables, "
                f"{log.reads_checked} in the log")
    return None
