"""Models: a job's declared outputs registered as a model version when it succeeds, with a
provenance card signed by the center (:mod:`aicenter.domain.model`).

Registration runs in the transaction that ends the job (:func:`aicenter.services.lifecycle.
finish`), after the output check: outputs the check withheld are not registered (the model
would carry licensed records out; ``model.not_registered`` names why), redacted ones are
registered as the tenant gets them. The files are copied into the center's registry
(``HOME/models/<id>/``, 0700) while hashed, so a version stays what was signed after the
run's work dir is gone; ``verify`` checks that copy.

The lineage is what the center recorded, never what the job says: the ``dataset.read``
entries of the audit log (dataset versions), the metered totals and agreements, the datasets'
PII reports, the job's ``job.launched`` entries (pools, chips, sites, countries), its usage
records priced by its call (h100e-hours and cost), and the planner's programme items beside
the final run. The card is signed with the audit log's Ed25519 key (``HOME/audit-keys``): one
identity of the center, one rotation procedure, and public keys filed on disk for ever, so a
card signed before a rotation still verifies.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from aicenter.domain.errors import NotFoundError
from aicenter.domain.job import Job, JobStatus
from aicenter.domain.model import (
    UNPROVEN,
    CardCheck,
    ModelFile,
    ModelVersion,
    canonical,
    check_card,
    make_statement,
    sign,
)
from aicenter.domain.output_release import WITHHELD, OutputRelease
from aicenter.domain.units import Currency, Money
from aicenter.ledger.audit import AuditFilter, EncodingError, decode
from aicenter.planner.programme import LineItem, ProgrammeAssumptions, programme_items
from aicenter.policy import Resource
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.services.errors import guaranteed
from aicenter.services.metering import charged_h100e_h
from aicenter.services.output_release import declared_files
from aicenter.storage import Tx

_CHUNK = 4 * 2**20
_MICRO = Decimal("0.000001")


def models_dir(ctx: ServiceContext) -> Path:
    return ctx.settings.home / "models"


def _copy_hashing(source: Path, target: Path) -> tuple[str, int]:
    """Copy one output file into the registry, hashing what is copied (read once)."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest, size = hashlib.sha256(), 0
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as src, open(target, "wb") as out:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def hash_tree(root: Path) -> dict[str, str]:
    """sha256 of every regular file under ``root``, by POSIX path relative to it."""
    found: dict[str, str] = {}
    for parent, _dirs, names in os.walk(root):
        for name in names:
            path = Path(parent) / name
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                while chunk := f.read(_CHUNK):
                    digest.update(chunk)
            found[path.relative_to(root).as_posix()] = digest.hexdigest()
    return found


# -- the lineage the center can prove ---------------------------------------------------------
def _job_entries(tx: Tx, job: Job, object_type: str, action: str) -> list[dict[str, Any]]:
    """Payloads of ``action`` entries about the job (``dataset.read`` entries name it in
    their payload, ``job.*`` entries are filed under it)."""
    object_id = job.id if object_type == "job" else None
    rows = tx.audit.search(AuditFilter(org_id=job.org_id, object_type=object_type,
                                       object_id=object_id, action=action,
                                       since=job.submitted_at))
    out = []
    for row in rows:
        try:
            record = decode(row.body).record
        except EncodingError:
            continue  # audit verify names it; the card only states what decodes
        if object_type == "job" or record.payload.get("job") == job.id:
            out.append({"object_id": record.object_id, **record.payload})
    return out


def _pii_status(report: dict[str, Any]) -> dict[str, Any]:
    """The PII part of a card: counts only (the report's masked samples stay with the
    provider)."""
    if not report:
        return {"status": "not scanned", "records": 0, "records_with_pii": 0, "counts": {}}
    with_pii = int(report.get("records_with_pii", 0))
    return {"status": f"{with_pii} records with PII found at ingest" if with_pii
            else "none found at ingest",
            "records": int(report.get("records", 0)), "records_with_pii": with_pii,
            "counts": dict(report.get("counts", {}))}


def _datasets(tx: Tx, job: Job) -> list[dict[str, Any]]:
    versions: dict[str, set[str]] = {}
    for entry in _job_entries(tx, job, "dataset", "dataset.read"):
        if entry.get("version"):
            versions.setdefault(entry["object_id"], set()).add(str(entry["version"]))
    out = []
    for read in tx.datasets.reads(job_id=job.id):
        data = tx.datasets.get(read.dataset_id)
        agreement = tx.licences.agreement(read.agreement_id)
        provider = tx.orgs.get(data.provider_org_id) if data is not None else None
        offer = agreement.offer if agreement is not None else None
        out.append({
            "id": read.dataset_id,
            "name": data.name if data is not None else read.dataset_id,
            "version": ", ".join(sorted(versions.get(read.dataset_id, set())))
            or (data.version if data is not None else "unknown"),
            "manifest_sha256": data.manifest_sha256 if data is not None else None,
            "provider": provider.name if provider is not None else None,
            "provider_org_id": data.provider_org_id if data is not None else None,
            "domestic": data.domestic if data is not None else None,
            "languages": sorted(_languages(data.croissant if data is not None else {})),
            "agreement_id": read.agreement_id,
            "purpose": agreement.purpose.value if agreement is not None else None,
            "licence": {} if offer is None else {
                "offer_id": offer.id, "purposes": sorted(p.value for p in offer.purposes),
                "territory": sorted(offer.territory), "model_release": offer.model_release.value,
                "term": [str(offer.term_start), str(offer.term_end)],
                "attribution": offer.attribution, "output_policy": offer.output_policy.value},
            "licence_text": data.licence_text if data is not None else "",
            "pii": _pii_status(data.pii_report if data is not None else {}),
            "read": {"records": read.usage.records, "bytes": read.usage.bytes,
                     "tokens": read.usage.tokens},
        })
    return out


def _languages(croissant: dict[str, Any]) -> set[str]:
    value = croissant.get("inLanguage") or croissant.get("language") or []
    return {str(v) for v in (value if isinstance(value, list) else [value]) if v}


def _compute(tx: Tx, job: Job) -> dict[str, Any]:
    runs = [{k: e.get(k) for k in ("attempt", "pool", "chip", "chips", "site", "country")}
            for e in _job_entries(tx, job, "job", "job.launched")]
    grant = guaranteed(tx.grants.get(job.grant_id), f"grant {job.grant_id}")
    call = guaranteed(tx.calls.get_call(grant.call_id), f"call {grant.call_id}")
    org = guaranteed(tx.orgs.get(job.org_id), f"organisation {job.org_id}")
    records = tx.usage.list(job_id=job.id)
    final = [r for r in records if job.started_at is None or r.interval_start >= job.started_at]

    def priced(chosen: Iterable[Any]) -> dict[str, Any]:
        chosen = list(chosen)
        used = sum((charged_h100e_h(r) for r in chosen), Decimal(0))
        chip_hours = sum((r.chip_seconds for r in chosen), Decimal(0)) / Decimal(3600)
        payable, subsidy = call.price_rule.charge(used, org.org_class)
        return {"h100e_hours": str(used.quantize(_MICRO)),
                "chip_hours": str(chip_hours.quantize(_MICRO)),
                "cost_krw": str((payable + subsidy).amount.quantize(_MICRO)),
                "payable_krw": str(payable.amount.quantize(_MICRO)),
                "subsidy_krw": str(subsidy.amount.quantize(_MICRO)),
                "currency": payable.currency.value}

    return {"runs": runs,
            "chips": sorted({str(r["chip"]) for r in runs if r.get("chip")}),
            "pools": sorted({str(r["pool"]) for r in runs if r.get("pool")}),
            "countries": sorted({str(r["country"]) for r in runs if r.get("country")}),
            "final_run": priced(final), "all_runs": priced(records),
            "call_id": call.id}


def _programme(final: dict[str, Any]) -> dict[str, Any]:
    """The planner's programme items beside the measured final run (its default
    assumptions: the card says they are assumptions)."""
    cost = Money.of(final["cost_krw"], Currency(final["currency"]))
    head = LineItem("final run (metered)", float(final["chip_hours"]), cost,
                    "this job's last attempt, metered")
    items = (head, *programme_items(head, ProgrammeAssumptions()))
    total = sum((i.krw.amount for i in items), Decimal(0))
    return {"items": [{"item": i.item, "chip_hours": f"{i.chip_hours:.6f}",
                       "krw": str(i.krw.amount.quantize(_MICRO)), "note": i.note}
                      for i in items],
            "total_krw": str(total.quantize(_MICRO)),
            "total_over_final": (str((total / cost.amount).quantize(Decimal("0.01")))
                                 if cost.amount else None)}


def lineage(tx: Tx, ctx: ServiceContext, job: Job, model_id: str, version: int,
            release: OutputRelease | None) -> dict[str, Any]:
    """The card's predicate: everything here is read from the center's own records."""
    org = guaranteed(tx.orgs.get(job.org_id), f"organisation {job.org_id}")
    datasets = _datasets(tx, job)
    compute = _compute(tx, job)
    unproven = list(UNPROVEN)
    unread = sorted(set(job.spec.datasets) - {d["id"] for d in datasets})
    if unread:
        unproven.append("Datasets the job named but never read through the exchange: "
                        + ", ".join(unread))
    return {
        "model": {"id": model_id, "name": job.spec.name, "version": version,
                  "org_id": org.id, "org_name": org.name,
                  "registered_at": audit.plain(ctx.clock.now())},
        "job": {"id": job.id, "name": job.spec.name, "purpose": job.spec.purpose,
                "workload": job.spec.workload.value, "command": job.spec.command,
                "person_id": job.person_id, "attempts": job.attempts,
                "submitted_at": audit.plain(job.submitted_at),
                "started_at": audit.plain(job.started_at),
                "finished_at": audit.plain(ctx.clock.now())},
        "datasets": datasets,
        "compute": compute,
        "programme": _programme(compute["final_run"]),
        "output_release": None if release is None else {
            "verdict": release.verdict, "reason": release.reason},
        "unproven": unproven,
    }


# -- registration (in the transaction that ends the job) --------------------------------------
def register(tx: Tx, ctx: ServiceContext, job: Job, status: JobStatus,
             release: OutputRelease | None) -> ModelVersion | None:
    """Register the declared outputs of a job that succeeded as a model version with its
    signed card; None when there is nothing to register or the output check withheld it."""
    if status is not JobStatus.SUCCEEDED or not job.spec.outputs:
        return None
    if release is not None and release.verdict == WITHHELD:
        audit.job_change(ctx, tx, None, "model.not_registered", job,
                         reason=f"the output check withheld the outputs: {release.reason}")
        return None
    try:
        outputs = declared_files(job)
    except (ValueError, OSError) as exc:
        audit.job_change(ctx, tx, None, "model.not_registered", job, reason=str(exc))
        return None
    if not outputs:
        return None
    model_id = new_id("mdl")
    store = models_dir(ctx) / model_id
    store.mkdir(parents=True, mode=0o700)
    try:
        files = tuple(ModelFile(name, *_copy_hashing(path, store / name))
                      for name, path in outputs)
    except OSError as exc:
        shutil.rmtree(store, ignore_errors=True)
        audit.job_change(ctx, tx, None, "model.not_registered", job,
                         reason=f"an output could not be copied: {exc}")
        return None
    version = tx.models.next_version(job.org_id, job.spec.name)
    statement = make_statement(files, lineage(tx, ctx, job, model_id, version, release))
    keys = audit.KeyStore.of(ctx)
    envelope = sign(statement, keys.signing_key(), keys.current_key_id())
    model = ModelVersion(model_id, job.org_id, job.id, job.spec.name, version, files,
                         envelope, ctx.clock.now())
    tx.models.add(model)
    audit.changed(ctx, tx, None, "model.registered", "model", model_id, job.org_id,
                  job=job.id, name=model.name, version=version, files=len(files),
                  bytes=model.size, key_id=keys.current_key_id(),
                  statement_sha256=hashlib.sha256(canonical(statement)).hexdigest(),
                  datasets=[d["id"] for d in statement["predicate"]["datasets"]])
    return model


# -- reading (tenants see their organisation's models, like its jobs) -------------------------
def _scope(ctx: ServiceContext, caller: Caller, org_id: str | None) -> str | None:
    if not caller.sees_all:
        org_id = org_id or caller.org_id
    caller.check(ctx, "job:read", Resource("Job", "any", org_id) if org_id else
                 Resource("Job", "any"))
    return org_id


def list_models(ctx: ServiceContext, caller: Caller, *, org_id: str | None = None,
                name: str | None = None) -> list[ModelVersion]:
    """Model versions of the caller's organisation (any, for operators and auditors); who
    may read an organisation's jobs may read the models they produced."""
    scope = _scope(ctx, caller, org_id)
    with ctx.db.transaction(write=False) as tx:
        return tx.models.list(org_id=scope, name=name)


def get_model(ctx: ServiceContext, caller: Caller, model_id: str) -> ModelVersion:
    with ctx.db.transaction(write=False) as tx:
        model = tx.models.get(model_id)
    caller.check(ctx, "job:read", Resource("Job", model.job_id if model else model_id,
                                           model.org_id if model else None))
    if model is None:
        raise NotFoundError(f"model {model_id} not found")
    return model


@dataclass(frozen=True, slots=True)
class ModelVerification:
    model: ModelVersion
    check: CardCheck


def verify(ctx: ServiceContext, caller: Caller, model_id: str) -> ModelVerification:
    """Check the registry's copy of the version's files against its card and the card's
    signature against the center's public keys (on disk, never the database)."""
    model = get_model(ctx, caller, model_id)
    store = models_dir(ctx) / model.id
    found = hash_tree(store) if store.is_dir() else {}
    keys = audit.KeyStore.of(ctx).public_keys()
    return ModelVerification(model, check_card(model.envelope, keys, found))


def signing_keys(ctx: ServiceContext) -> dict[str, bytes]:
    """The public keys a card may be signed with (every key the center has used): public,
    so a tenant checks a downloaded model away from the center."""
    return audit.KeyStore.of(ctx).public_keys()
