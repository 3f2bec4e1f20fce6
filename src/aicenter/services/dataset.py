"""Datasets of the exchange: a provider uploads a file, the center ingests it into its
content-addressed store (PII handling, TDM exclusion, cross-provider dedup) and keeps the
metadata; everyone signed in browses metadata; nobody downloads records (there is no use case
for it — records are read only inside admitted jobs through ``exchange.reader``)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aicenter.domain.dataset import Dataset, DatasetRead
from aicenter.domain.errors import InputError, NotFoundError
from aicenter.domain.job import Job, JobSpec
from aicenter.domain.licence import AccessDeniedError, DatasetTerms, Purpose
from aicenter.exchange import gateway as gw
from aicenter.exchange.croissant import export_croissant
from aicenter.exchange.file_formats import RecordFormat
from aicenter.exchange.gateway_client import ENV_SOCKET, ENV_TOKEN
from aicenter.exchange.ingest import IngestOptions, ingest, parse_actions
from aicenter.exchange.licence import AccessDecision, check_access
from aicenter.exchange.reader import (
    ENV_JOB_ID,
    ENV_PURPOSE,
    issue_grant,
    reader_env,
    write_grant,
)
from aicenter.exchange.store import DatasetStore, Manifest, check_name
from aicenter.ledger.audit import Actor, ActorKind, AuditRecord, Decision, Effect
from aicenter.ledger.audit.compliance import pii_summary
from aicenter.policy import Resource
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import ConflictError, guaranteed
from aicenter.services.royalty import exchange_dir, grant_path, meter_log_path
from aicenter.storage import Tx


def store_of(ctx: ServiceContext) -> DatasetStore:
    """The center's dataset store (``<home>/datasets``)."""
    return DatasetStore(ctx.settings.home / "datasets")


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """What a provider sends with the file."""

    name: str
    filename: str
    org_id: str | None = None
    domestic: bool = True
    licence_text: str = ""
    description: str = ""
    field: str = "text"
    input_format: str | None = None
    pii_actions: tuple[str, ...] = ()
    tdm_covered: tuple[str, ...] = ()
    """Publishers or TDMRep policy URLs the provider's licence covers: their reserved
    records are ingested instead of excluded (as ``aicenter dataset ingest --tdm-covered``)."""


def upload(ctx: ServiceContext, caller: Caller, request: UploadRequest, source: Path
           ) -> Dataset:
    """Ingest ``source`` (the uploaded bytes, already on the center's disk) as dataset
    ``request.name`` of the provider organisation, now; a re-upload by the same provider makes
    a new version. The source file is deleted afterwards. (The API queues uploads instead and
    ingests them in the background: :mod:`aicenter.services.upload`.)"""
    org_id = check_upload(ctx, caller, request)
    try:
        return ingest_upload(ctx, org_id, request, source, restart=True)
    finally:
        source.unlink(missing_ok=True)


def check_upload(ctx: ServiceContext, caller: Caller, request: UploadRequest) -> str:
    """Everything about an upload that can be refused before its bytes arrive; returns the
    provider organisation."""
    org_id = request.org_id or caller.org_id
    caller.check(ctx, "dataset:upload", Resource("Dataset", "new", org_id))
    name = check_name(request.name, "dataset")
    if not request.licence_text.strip():
        raise InputError("name the licence of the data (e.g. 'proprietary' or 'CC-BY-4.0')",
                         field="licence")
    with ctx.db.transaction(write=False) as tx:
        existing: Dataset | None = tx.datasets.get(name)
        provider = tx.orgs.get(org_id)
    if provider is None:
        raise NotFoundError(f"organisation {org_id} not found")
    if existing is not None and existing.provider_org_id != org_id:
        raise ConflictError(f"dataset name {name!r} is taken by another provider")
    _options(request, org_id, Path(request.filename))
    return org_id


def _options(request: UploadRequest, org_id: str, source: Path) -> IngestOptions:
    try:
        input_format = RecordFormat(request.input_format) if request.input_format else None
    except ValueError:
        allowed = ", ".join(f.value for f in RecordFormat)
        raise InputError(f"'{request.input_format}' is not one of {allowed}",
                         field="format") from None
    options = IngestOptions(
        path=source, dataset=request.name, provider=org_id, field=request.field,
        input_format=input_format, licence=request.licence_text,
        description=request.description,
        tdm_covered=frozenset(c.strip() for c in request.tdm_covered if c.strip()))
    if request.pii_actions:
        options = dataclasses.replace(options, actions=parse_actions(request.pii_actions))
    return options


def ingest_upload(ctx: ServiceContext, org_id: str, request: UploadRequest, source: Path, *,
                  restart: bool) -> Dataset:
    """Ingest a checked upload into the store and record the new dataset version.
    ``restart=False`` resumes an interrupted ingest of the same file from its checkpoint."""
    store = store_of(ctx)
    options = _options(request, org_id, source)
    result = ingest(options, store, restart=restart)
    name = request.name
    manifest = result.manifest
    now = ctx.clock.now()
    croissant_path = store.root / "croissant" / f"{name}.json"
    with ctx.db.transaction(write=False) as tx:
        provider = tx.orgs.get(org_id)
    document = export_croissant(  # the publisher by name, the RAI fields from the reports
        store, manifest, croissant_path, published=now.date().isoformat(),
        publisher=provider.name if provider is not None else None,
        pii_actions={t.value: a.value for t, a in options.actions.items()},
        tdm_covered=options.tdm_covered)
    row = Dataset(
        id=name, name=name, provider_org_id=org_id, version=manifest.version,
        manifest_sha256=hashlib.sha256(result.manifest_path.read_bytes()).hexdigest(),
        manifest_path=str(result.manifest_path), domestic=request.domestic,
        licence_text=request.licence_text, description=request.description, created_at=now,
        croissant=document, stats={**manifest.stats, "records": manifest.records,
                                   **{f"count_{k}": v for k, v in manifest.counts.items()}},
        # the actions applied go beside the detectors' counts, so the PII report (and the
        # log entry below) says what was done to each type, not only what was found
        pii_report={**manifest.pii_report, "actions": {
            t.value: a.value for t, a in sorted(options.actions.items())}})
    with ctx.db.transaction() as tx:
        current: Dataset | None = tx.datasets.get(name)
        if current is not None and current.provider_org_id != org_id:
            raise ConflictError(f"dataset name {name!r} is taken by another provider")
        if current is None:
            tx.datasets.add(row)
        else:
            tx.datasets.replace_version(row)
        audit.changed(ctx, tx, None, "dataset.created" if current is None else
                      "dataset.version_added", "dataset", name, org_id, version=row.version,
                      manifest_sha256=row.manifest_sha256, domestic=row.domestic,
                      was=current.version if current is not None else None,
                      pii=pii_summary(row.pii_report, row.stats))
        stored = guaranteed(tx.datasets.get(name), f"dataset {name}")
    return stored


def list_datasets(ctx: ServiceContext, caller: Caller, provider_org_id: str | None = None
                  ) -> list[Dataset]:
    """The exchange's catalogue (metadata only), optionally of one provider."""
    caller.check(ctx, "dataset:read", Resource("Dataset", "any"))
    with ctx.db.transaction(write=False) as tx:
        rows: list[Dataset] = tx.datasets.list(provider_org_id)
    return rows


SAMPLES_WITHHELD = ("samples are shown to the provider, the center's operators and "
                    "organisations holding an agreement for the dataset")


def get_dataset(ctx: ServiceContext, caller: Caller, dataset_id: str) -> Dataset:
    """One dataset's metadata, statistics and PII report (never its records). The report's
    masked samples are fragments of the records: only the provider, operators and
    organisations with an agreement valid now see them; everyone else gets the report
    without them (``samples_withheld`` says why)."""
    caller.check(ctx, "dataset:read", Resource("Dataset", dataset_id))
    with ctx.db.transaction(write=False) as tx:
        row: Dataset | None = tx.datasets.get(dataset_id)
        if row is None:
            raise NotFoundError(f"dataset {dataset_id} not found")
        shown = (caller.person.role.value == "operator" or
                 caller.org_id == row.provider_org_id or
                 any(a.dataset_id == row.id and a.valid_at(ctx.clock.now())
                     for a in tx.licences.agreements(org_id=caller.org_id,
                                                     dataset_ids=[row.id])))
    if shown or "samples" not in row.pii_report:
        return row
    report = {k: v for k, v in row.pii_report.items() if k != "samples"}
    return dataclasses.replace(row, pii_report={**report, "samples_withheld": SAMPLES_WITHHELD})


def load_manifest(row: Dataset) -> Manifest:
    """The stored manifest of the dataset's current version, checked against its sha256."""
    path = Path(row.manifest_path)
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != row.manifest_sha256:
        raise ConflictError(f"the manifest of dataset {row.id} at {path} was changed after "
                            "upload (sha256 mismatch)")
    return Manifest.from_json(json.loads(data), str(path))


def usage(ctx: ServiceContext, caller: Caller, *, org_id: str | None = None,
          dataset_id: str | None = None) -> list[DatasetRead]:
    """Metered reads per job and dataset that the caller may see: its organisation's jobs'
    reads, and reads of the datasets its organisation provides (operators, auditors: all)."""
    caller.check(ctx, "dataset:usage", Resource("DatasetRead", "any", caller.org_id))
    with ctx.db.transaction(write=False) as tx:
        if caller.sees_all:
            reads: list[DatasetRead] = tx.datasets.reads(org_id=org_id)
        else:
            provided = [d.id for d in tx.datasets.list(caller.org_id)]
            reads = [r for r in tx.datasets.reads()
                     if r.org_id == caller.org_id or r.dataset_id in provided]
            if org_id is not None:
                reads = [r for r in reads if r.org_id == org_id]
    if dataset_id is not None:
        reads = [r for r in reads if r.dataset_id == dataset_id]
    return reads


# ---------------------------------------------------------------- compute-to-data
def admit_datasets(tx: Tx, ctx: ServiceContext, org_id: str, spec: JobSpec,
                   pool_countries: Sequence[str]) -> None:
    """Admission of a job naming datasets: each must exist and the organisation must hold an
    agreement that allows the job's purpose on at least one pool the job could be placed on
    (``check_access``); raises :class:`AccessDeniedError` with the reason otherwise."""
    if not spec.datasets:
        return
    if len(set(spec.datasets)) != len(spec.datasets):
        raise InputError("names a dataset twice", field="datasets")
    purpose = Purpose(spec.purpose)
    now = ctx.clock.now()
    agreements = tx.licences.agreements(org_id=org_id, dataset_ids=list(spec.datasets))
    for i, dataset_id in enumerate(spec.datasets):
        row: Dataset | None = tx.datasets.get(dataset_id)
        if row is None:
            raise InputError(f"dataset {dataset_id} not found", field=f"datasets[{i}]")
        terms = DatasetTerms(row.id, row.provider_org_id, row.domestic)
        countries = sorted(set(pool_countries)) or ["KR"]
        decisions = [check_access(agreements, terms, purpose, org_id, now, country,
                                  authorizer=ctx.authz) for country in countries]
        allowed = next((i for i, d in enumerate(decisions) if d.allowed), None)
        decisive = 0 if allowed is None else allowed
        log_data_decision(ctx, org_id, dataset_id, countries[decisive], decisions[decisive])
        if allowed is None:
            first = decisions[0]
            raise AccessDeniedError(f"dataset {dataset_id}: {first.reason.value}: "
                                    f"{first.message}")


def log_data_decision(ctx: ServiceContext, org_id: str, dataset_id: str, pool_country: str,
                      decision: AccessDecision) -> None:
    """Queue the policies' ``data:read`` decision for the log, like a person's decision
    (:func:`aicenter.services.context.log_decision`): the organisation asked, for a job, to
    read the dataset on a pool in ``pool_country``; a refusal is written even though the
    admission it refused rolls back."""
    payload = {"permission": "data:read", "reason": decision.reason.value,
               "pool_country": pool_country}
    if decision.agreement is not None:
        payload["agreement"] = decision.agreement.id
    effect = Effect.ALLOW if decision.allowed else Effect.DENY
    ctx.db.deferred_audit.put(AuditRecord(
        ctx.clock.now(), Actor(ActorKind.ORG, org_id),
        f"authz.{'allowed' if decision.allowed else 'denied'}", "Dataset", dataset_id, org_id,
        payload, Decision(effect, decision.policy_id)), urgent=not decision.allowed)
    if not decision.allowed and not ctx.db.in_transaction():
        ctx.db.flush_audit(quiet=True)


def launch_env(ctx: ServiceContext, job: Job, pool_country: str) -> dict[str, str]:
    """At launch: issue the job's data grant for the pool it was placed on (a domestic dataset
    on a foreign pool gets no grant: :class:`AccessDeniedError`), write it, and return the
    reader's environment variables. Jobs naming no dataset get no grant and no variables."""
    if not job.spec.datasets:
        return {}
    with ctx.db.transaction(write=False) as tx:
        rows: list[Dataset | None] = [tx.datasets.get(d) for d in job.spec.datasets]
        agreements = tx.licences.agreements(org_id=job.org_id,
                                            dataset_ids=list(job.spec.datasets))
    found = [r for r in rows if r is not None]
    if len(found) != len(rows):
        raise AccessDeniedError(f"job {job.id} names a dataset that no longer exists")
    manifests = [load_manifest(r) for r in found]
    purpose = Purpose(job.spec.purpose)
    grant = issue_grant(job_id=job.id, org_id=job.org_id, purpose=purpose,
                        pool_country=pool_country, when=ctx.clock.now(), manifests=manifests,
                        domestic={r.id: r.domestic for r in found}, agreements=agreements,
                        authorizer=ctx.authz)
    path = grant_path(ctx, job.id)
    write_grant(path, grant)
    return reader_env(job_id=job.id, purpose=purpose,
                      manifest_paths=[Path(r.manifest_path) for r in found], grant_path=path,
                      meter_log=meter_log_path(ctx, job.id))


def no_network(job_network: str, names_datasets: bool) -> bool:
    """Whether a job gets no network (``job_network`` setting): every job when 'isolated',
    a job naming datasets when 'isolated-for-data', none when 'host'."""
    if job_network not in ("isolated-for-data", "isolated", "host"):
        raise InputError(f"job_network must be 'isolated-for-data', 'isolated' or 'host', "
                         f"not {job_network!r}", field="job_network")
    return job_network == "isolated" or (job_network == "isolated-for-data" and names_datasets)


@dataclass(frozen=True, slots=True)
class DataLaunch:
    """What a launch needs for a job's data: its environment and the gateway's argv."""

    env: dict[str, str]
    sidecar: tuple[str, ...] = ()
    sidecar_dir: Path | None = None
    """The run's own socket directory (the backend gives it the job's group)."""


def launch_data(ctx: ServiceContext, job: Job, pool_country: str, run_id: str, *,
                gateway: bool) -> DataLaunch:
    """At launch: the grant (:func:`launch_env`), and, on a backend that runs sidecars, a data
    gateway for the run: its config (reader settings, socket, SHA-256 of a fresh capability
    token) is written inside HOME, and the job's environment gets only the socket and the
    token, no path of the store, grant or meter log. Without ``gateway`` the job reads
    in-process with the reader's variables (see :mod:`aicenter.exchange.reader`)."""
    env = launch_env(ctx, job, pool_country)
    if not env or not gateway:
        return DataLaunch(env)
    token = secrets.token_urlsafe(32)
    config_path = exchange_dir(ctx) / "gateways" / f"{run_id}.json"
    sockets = gw.socket_dir() / run_id
    gw.write_config(config_path, gw.GatewayConfig(env, sockets / gw.SOCKET_NAME,
                                                  gw.token_digest(token)))
    job_env = {ENV_JOB_ID: env[ENV_JOB_ID], ENV_PURPOSE: env[ENV_PURPOSE],
               ENV_SOCKET: str(sockets / gw.SOCKET_NAME), ENV_TOKEN: token}
    return DataLaunch(job_env, gw.command(config_path), sockets)
