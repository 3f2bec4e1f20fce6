"""Batched job admission: many submissions, one transaction (group commit).

Every submission — one from the CLI or a thousand a second through the API — goes through
:func:`admit`. A batch authenticates its bearer tokens, looks up idempotency keys, reads the
pools, locks the grants of every organisation involved (``SELECT ... FOR UPDATE`` in id order on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), sums their balances once, then walks the
submissions in arrival order keeping a running balance per grant:

    admitted_i  ⇔  balance(g) − Σ_{j<i admitted on g} hold_j  ≥  hold_i

and inserts the admitted jobs and their hold transactions with two executemany statements. The
grant rows stay locked until commit, so batches in other workers see the new holds and no
grant is ever overspent. A submission that fails (bad token, no permission, bad spec, no
budget) gets its own error and does not disturb the others; a database error fails the batch
and each submission is then retried alone, so one conflicting idempotency key cannot fail its
neighbours.

Everything a backend would refuse is refused here, with HTTP 422 naming the field, so that
no job is admitted that could never launch: the spec's own checks
(:func:`aicenter.domain.job.spec_from_mapping`), a workdir outside the job's own area
(:func:`aicenter.domain.job.check_workdir`), limits above the operator's caps
(:func:`limit_policy`), identifiers the database cannot store (NUL), and alternatives asking
more chips of a type than the grant records for that type (``resources[i].count``; the job is
refused if no alternative fits). A priority class the organisation is not entitled to is
refused with HTTP 403: the Cedar policies decide (``job:priority``), from the classes the
operator granted the organisation.

Per submission the database sees ~10/N statements instead of ~10 (N = batch size), which is
what lets one server sustain hundreds of submissions a second on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal

from aicenter.domain.errors import AicenterError, DuplicateError, InputError, NotFoundError
from aicenter.domain.grant import Grant
from aicenter.domain.job import Job, JobSpec, JobStatus, PriorityClass, check_workdir
from aicenter.domain.limits import GIB, LimitPolicy
from aicenter.domain.token import hash_token
from aicenter.ledger import H100E, accounts, hold_transaction
from aicenter.ledger.audit import AuditRecord
from aicenter.policy import PermissionDeniedError, Resource
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.services.dataset import admit_datasets
from aicenter.services.errors import AuthenticationError, BudgetExceededError, ConflictError
from aicenter.services.org import caller_of
from aicenter.settings import Settings
from aicenter.storage import Tx
from aicenter.storage.repositories.pool import PoolRow


def hold_for(ctx: ServiceContext, spec: JobSpec, grant: Grant | None = None) -> Decimal:
    """The most the job can cost in h100e-hours, over the alternatives the grant allows (chip
    type covered, count within the grant's count for that type)."""
    worst = Decimal(0)
    for alt in spec.resources:
        if grant is not None and not grant.allows(alt.chip, alt.count):
            continue
        ratio = Decimal(str(ctx.performance.ratio(alt.chip, spec.workload)))
        worst = max(worst, alt.count * ratio * spec.max_duration_s / Decimal(3600))
    return worst.quantize(Decimal("0.000001"), ROUND_CEILING)


def validate_spec(ctx: ServiceContext, spec: JobSpec, pool_sizes: Mapping[str, int]) -> None:
    """Every alternative names a known chip that this center runs and that can do the job;
    and at least one can ever fit: a gang runs in one pool, so an alternative asking more
    chips than the largest pool of its type has can never start (``pool_sizes``: chip type
    → chips in its largest pool; empty: no pools yet, nothing to check against)."""
    for i, alt in enumerate(spec.resources):
        where = f"resources[{i}].chip"
        try:
            ctx.catalog.get(alt.chip)
        except Exception as exc:
            raise InputError(str(exc), field=where) from None
        if ctx.performance.ratio(alt.chip, spec.workload) <= 0:
            raise InputError(f"{alt.chip} cannot run {spec.workload.value} jobs", field=where)
        if pool_sizes and alt.chip not in pool_sizes:
            raise InputError(f"this center has no pool of {alt.chip} (pools: "
                             f"{', '.join(sorted(pool_sizes))})", field=where)
    if pool_sizes and all(alt.count > pool_sizes[alt.chip] for alt in spec.resources):
        sizes = ", ".join(f"{alt.count} × {alt.chip} (largest pool: {pool_sizes[alt.chip]})"
                          for alt in spec.resources)
        raise InputError(f"the job can never start: a job runs in one pool, and no pool is "
                         f"large enough for it: {sizes}", field="resources[0].count")


def limit_policy(settings: Settings) -> LimitPolicy:
    """The operator's defaults and caps for jobs' limits, from the ``job_*`` settings."""
    return LimitPolicy(
        memory_per_chip_bytes=int(settings.job_memory_per_chip_gib * GIB),
        cpu_millis_per_chip=round(settings.job_cpus_per_chip * 1000),
        max_memory_bytes=int(settings.job_max_memory_gib * GIB),
        max_cpu_millis=round(settings.job_max_cpus * 1000),
        max_pids=settings.job_max_pids)


def check_duration(spec: JobSpec, settings: Settings) -> None:
    """Refuse a max_duration above the operator's limit: one absurd spec must fail alone,
    and the hold it implies (chips × ratio × max_duration) must stay storable."""
    limit_days = settings.job_max_duration_days
    if spec.max_duration_s > limit_days * 86400:
        raise InputError(f"{spec.max_duration_s}s is above this center's limit of "
                         f"{limit_days:g} days (AICENTER_JOB_MAX_DURATION_DAYS)",
                         field="max_duration")


def _check_ids(sub: Submission) -> None:
    """Identifiers that reach the database's queries: NUL there would fail the whole batch's
    transaction on PostgreSQL instead of this one submission."""
    for name, value in (("org_id", sub.org_id), ("grant_id", sub.grant_id),
                        ("idempotency_key", sub.idempotency_key)):
        if value is not None and "\0" in value:
            raise InputError("must not contain NUL (\\x00)", field=name)
    if sub.idempotency_key is not None and not 1 <= len(sub.idempotency_key) <= 200:
        raise InputError("must be 1..200 characters", field="idempotency_key")


@dataclass(frozen=True, slots=True)
class Submission:
    """One job to admit: from an authenticated ``caller``, or from whoever holds ``secret``
    (the bearer token, checked inside the batch's transaction)."""

    spec: JobSpec
    caller: Caller | None = None
    secret: str | None = None
    org_id: str | None = None
    grant_id: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Admitted:
    job: Job
    created: bool
    """False: the idempotency key had been used by this person; ``job`` is the first one."""


Outcome = Admitted | AicenterError


def admit(ctx: ServiceContext, submissions: Sequence[Submission]) -> list[Outcome]:
    """Admit a batch in one transaction; one outcome per submission, in order."""
    if not submissions:
        return []
    try:
        return _admit_batch(ctx, submissions)
    except DuplicateError:
        if len(submissions) > 1:
            # A concurrent batch wrote an idempotency key this one also wrote: one by one.
            return [out for sub in submissions for out in admit(ctx, [sub])]
        winner = _winner(ctx, submissions[0])
        if winner is None:
            raise
        return [winner]


def _winner(ctx: ServiceContext, sub: Submission) -> Admitted | None:
    """A lone submission hit a unique constraint: the job of the concurrent retry with the
    same idempotency key that won, if that is what happened."""
    if not sub.idempotency_key:
        return None
    with ctx.db.transaction(write=False) as tx:
        caller = _authenticate(ctx, tx, [sub])[0]
        if not isinstance(caller, Caller):
            return None
        key = (caller.person.id, sub.idempotency_key)
        winner: Job | None = tx.jobs.by_idempotency_keys({key}).get(key)
    return Admitted(winner, False) if winner is not None else None


def _authenticate(ctx: ServiceContext, tx: Tx, subs: Sequence[Submission]
                  ) -> list[Caller | AicenterError]:
    """Each submission's caller (:func:`aicenter.services.org.caller_of`), the tokens looked
    up in one query; a failed authentication is that submission's outcome."""
    now = ctx.clock.now()
    hashes = {s.secret: hash_token(s.secret) for s in subs if s.secret}
    found = tx.tokens.with_owners(set(hashes.values()))
    callers: list[Caller | AicenterError] = []
    for sub in subs:
        if sub.caller is not None:
            callers.append(sub.caller)
            continue
        try:
            callers.append(caller_of(sub.secret, found.get(hashes.get(sub.secret or "", "")),
                                     now))
        except AuthenticationError as exc:
            callers.append(exc)
    return callers


@dataclass(slots=True)
class _Pending:
    """A submission that passed the checks needing no grant: who, for which organisation."""

    index: int
    sub: Submission
    caller: Caller
    org_id: str


def _admit_batch(ctx: ServiceContext, subs: Sequence[Submission]) -> list[Outcome]:
    now = ctx.clock.now()
    outcomes: list[Outcome | None] = [None] * len(subs)
    with ctx.db.transaction() as tx:
        pending: list[_Pending] = []
        for i, (sub, who) in enumerate(zip(subs, _authenticate(ctx, tx, subs), strict=True)):
            if isinstance(who, AicenterError):
                outcomes[i] = who
                continue
            org_id = sub.org_id or who.org_id
            try:
                _check_ids(sub)
                who.check(ctx, "job:submit", Resource("Job", "new", org_id))
            except AicenterError as exc:
                outcomes[i] = exc
                continue
            pending.append(_Pending(i, sub, who, org_id))
        keys = {(p.caller.person.id, p.sub.idempotency_key) for p in pending
                if p.sub.idempotency_key}
        existing: dict[tuple[str, str], Job] = tx.jobs.by_idempotency_keys(keys)
        pools: list[PoolRow] = tx.pools.list() if pending else []
        pool_sizes: dict[str, int] = {}
        for pool in pools:
            pool_sizes[pool.chip_id] = max(pool_sizes.get(pool.chip_id, 0), pool.chip_count)
        entitled = tx.orgs.priorities_of({p.org_id for p in pending})
        locked: list[Grant] = tx.grants.lock_for(
            {p.org_id for p in pending}, {p.sub.grant_id for p in pending if p.sub.grant_id})
        balance = tx.ledger.balances_of({accounts.grant(g.id) for g in locked}, H100E)
        grants = sorted(locked, key=lambda g: (g.starts_at, g.id))  # the order of choice
        jobs: list[Job] = []
        logged: list[AuditRecord] = []
        for p in pending:
            key = (p.caller.person.id, p.sub.idempotency_key or "")
            if p.sub.idempotency_key and key in existing:
                outcomes[p.index] = Admitted(existing[key], False)
                continue
            try:
                check_priority(ctx, p.caller, p.org_id, p.sub.spec.priority,
                               entitled.get(p.org_id))
                job = _admit_one(ctx, tx, p, pools, pool_sizes, grants, balance, now)
            except AicenterError as exc:
                outcomes[p.index] = exc
                logged.append(audit.change(ctx, p.caller, "job.refused", "job", "new", p.org_id,
                                           name=p.sub.spec.name, reason=str(exc)))
                continue
            if p.sub.idempotency_key:
                existing[key] = job  # a repeat later in this batch gets this job
            jobs.append(job)
            outcomes[p.index] = Admitted(job, True)
            logged.append(audit.change(
                ctx, p.caller, "job.submitted", "job", job.id, job.org_id, name=job.spec.name,
                grant=job.grant_id, hold_h100e_h=job.hold_h100e_h, priority=job.spec.priority,
                resources=[[a.chip, a.count] for a in job.spec.resources],
                datasets=job.spec.datasets))
        tx.jobs.add_many(jobs)
        audit.changed_all(tx, logged)
        tx.ledger.book_many([hold_transaction(j.id, j.grant_id, j.hold_h100e_h, now)
                             for j in jobs])
    assert all(o is not None for o in outcomes)
    return [o for o in outcomes if o is not None]


def _admit_one(ctx: ServiceContext, tx: Tx, p: _Pending, pools: list[PoolRow],
               pool_sizes: Mapping[str, int], grants: list[Grant], balance: dict[str, Decimal],
               now: datetime) -> Job:
    """Checks and hold for one submission; debits ``balance`` in memory if admitted.
    ``grants`` are the batch's, earliest-starting first."""
    spec = p.sub.spec
    validate_spec(ctx, spec, pool_sizes)
    check_workdir(spec.workdir, p.org_id, ctx.settings.project_root,
                  reads_data=bool(spec.datasets))
    limit_policy(ctx.settings).check(spec.limits)
    check_duration(spec, ctx.settings)
    if spec.datasets:
        chips = {a.chip for a in spec.resources}
        admit_datasets(tx, ctx, p.org_id, spec,
                       [pool.country for pool in pools if pool.chip_id in chips])
    grant = _choose_grant(p, spec, grants, now)
    hold = hold_for(ctx, spec, grant)
    if hold <= 0:
        _refuse_alternatives(spec, grant)
    account = accounts.grant(grant.id)
    if balance[account] < hold:
        raise BudgetExceededError(
            f"grant {grant.id} has {balance[account]} h100e-h left; this job may use up to "
            f"{hold} h100e-h an attempt (chips × ratio × max_duration)")
    balance[account] -= hold
    return Job(new_id("job"), p.org_id, p.caller.person.id, grant.id, spec, JobStatus.QUEUED,
               p.sub.idempotency_key, hold, now)


def check_priority(ctx: ServiceContext, caller: Caller, org_id: str, cls: PriorityClass,
                   entitled: frozenset[PriorityClass] | None) -> None:
    """403 unless the Cedar policies let a job of ``org_id`` run at ``cls``: they do when
    the organisation holds the class (``entitled``, None for an unknown organisation)."""
    if entitled is None:
        raise NotFoundError(f"organisation {org_id} not found")
    resource = Resource("PriorityClass", cls.value, org_id,
                        org_priorities=frozenset(c.value for c in entitled))
    if not caller.decide(ctx, "job:priority", resource).allowed:
        raise PermissionDeniedError(
            f"organisation {org_id} is not entitled to priority class {cls.value} (it holds "
            f"{', '.join(sorted(c.value for c in entitled)) or 'none'}); the operator grants "
            f"it with `aicenter org entitle {org_id} --priority {cls.value}`")


def _refuse_alternatives(spec: JobSpec, grant: Grant) -> None:
    """No alternative fits the grant: 422 naming the first one asking too many chips, else
    the chip types the grant covers."""
    for i, alt in enumerate(spec.resources):
        limit = grant.chip_limit(alt.chip)
        if grant.covers(alt.chip) and limit is not None and alt.count > limit:
            raise InputError(f"grant {grant.id} allows at most {limit} × {alt.chip} at once "
                             f"(the count its application asked for); this alternative asks "
                             f"{alt.count}", field=f"resources[{i}].count")
    raise InputError(f"grant {grant.id} covers none of the requested chips "
                     f"({', '.join(sorted(grant.chip_ids))})", field="resources")


def _choose_grant(p: _Pending, spec: JobSpec, grants: list[Grant], now: datetime) -> Grant:
    """The named grant (it must be the organisation's and active), else the organisation's
    earliest-starting active grant allowing one of the alternatives (chip type and count),
    else its earliest covering one of the chip types (``grants`` are in start order)."""
    if p.sub.grant_id is not None:
        named = next((g for g in grants if g.id == p.sub.grant_id), None)
        if named is None or named.org_id != p.org_id:
            raise NotFoundError(f"grant {p.sub.grant_id} not found for organisation "
                                f"{p.org_id}")
        if not named.active_at(now):
            raise ConflictError(f"grant {named.id} is {named.status.value} or outside its "
                                f"period")
        return named
    chips = {a.chip for a in spec.resources}
    usable = [g for g in grants if g.org_id == p.org_id and g.active_at(now)
              and any(g.covers(c) for c in chips)]
    for grant in usable:
        if any(grant.allows(a.chip, a.count) for a in spec.resources):
            return grant
    if usable:
        return usable[0]
    raise ConflictError(f"organisation {p.org_id} has no active grant covering "
                        f"{', '.join(sorted(chips))}; apply to a call first")
