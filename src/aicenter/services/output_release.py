"""Output control: the log and declared outputs of a job that read licensed datasets reach its
owner only after a check against the records it was served.

Why: the job runs without network and reads only through the gateway, but its stdout/stderr
and the files it leaves are handed to the tenant; a job that prints records would carry them
out. So, for a job naming ``datasets``:

* while it runs, its log is not released (HTTP 409);
* when it ends, the decision is made once and stored (``output_releases``): the log and each
  declared output (``outputs:`` in the spec, relative to the work dir) are checked with
  :mod:`aicenter.exchange.output_check` against the fingerprints the gateway stored for every
  batch it served (``HOME/exchange/gateways/served/<run>/``; a run without a gateway — the
  in-process reader — is checked against the whole datasets it read);
* nothing reproduced: ``released``; otherwise the strictest ``output_policy`` of the job's
  agreements decides: ``redact`` releases the text with the reproduced spans replaced by a
  marker (a failing binary output is withheld all the same: it cannot be redacted safely);
  ``withhold`` keeps the output from the tenant with the reason (HTTP 403) and moves failing
  outputs out of the work dir to ``HOME/exchange/outputs/<job>/withheld/``, where the
  providers of the datasets (and operators) review them;
* an output that cannot be checked (unreadable, a symlink, not a regular file, larger than
  ``MAX_CHECKED_BYTES``) is withheld: the check fails closed.
"""

from __future__ import annotations

import os
import stat
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aicenter.backends import RunHandle, default_registry
from aicenter.domain.errors import NotFoundError
from aicenter.domain.job import Job
from aicenter.domain.licence import AccessDeniedError, OutputPolicy, strictest_output_policy
from aicenter.domain.output_release import REDACTED, RELEASED, WITHHELD, OutputRelease
from aicenter.exchange.gateway import served_files
from aicenter.exchange.meter import read_log
from aicenter.exchange.output_check import (
    CheckResult,
    ServedSet,
    check_bytes,
    fingerprint,
    redact,
)
from aicenter.policy import PermissionDeniedError, Resource
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.dataset import load_manifest, store_of
from aicenter.services.royalty import exchange_dir, meter_log_path
from aicenter.storage import Tx

LOG = "log"
MAX_CHECKED_BYTES = 256 * 2**20
_READ_CHUNK = 8 * 2**20


def outputs_dir(ctx: ServiceContext, job_id: str) -> Path:
    return exchange_dir(ctx) / "outputs" / job_id


def _quarantine_name(name: str) -> str:
    return urllib.parse.quote(name, safe="")


class _Unchecked(Exception):
    """An output that cannot be checked (and is therefore withheld)."""


def _read_log(ctx: ServiceContext, job: Job) -> bytes:
    if not job.handle or ctx.backend is None:
        return b""
    handle = RunHandle.parse(job.handle)
    parts: list[bytes] = []
    offset = total = 0
    while True:
        chunk = ctx.backend.read_log(handle, offset, _READ_CHUNK)
        if not chunk.data:
            return b"".join(parts)
        parts.append(chunk.data)
        offset, total = chunk.next_offset, total + len(chunk.data)
        if total > MAX_CHECKED_BYTES:
            raise _Unchecked(f"the log is larger than {MAX_CHECKED_BYTES} bytes")


def _work_dir(job: Job) -> Path | None:
    """Where the job's declared outputs are: its run's work dir on this machine (where its
    backend keeps one), or the relative ``workdir`` inside it (a job reading data never
    works in a project space)."""
    if not job.handle or (job.spec.workdir and Path(job.spec.workdir).is_absolute()):
        return None
    work = default_registry().work_dir(RunHandle.parse(job.handle))
    if work is None:
        return None
    return work / job.spec.workdir if job.spec.workdir else work


def _output_path(work: Path, rel: str) -> Path:
    """The output's path, refusing one that leaves the work dir through a symlink."""
    root = Path(os.path.realpath(work))
    path = Path(os.path.normpath(root / rel))
    if Path(os.path.realpath(path)) != path or not path.is_relative_to(root):
        raise _Unchecked(f"output {rel} is a symlink or leaves the work dir")
    return path


def output_files(work: Path, rel: str) -> list[tuple[str, Path]]:
    """The files of one declared output: the file itself, or every regular file under a
    declared directory (a model directory, checkpoints), by name relative to the work dir and
    sorted; none if it was not written. A symlink anywhere under it is refused."""
    path = _output_path(work, rel)
    if not os.path.lexists(path):
        return []
    if not path.is_dir():
        return [(rel, path)]
    found = []
    for parent, dirs, names in os.walk(path):
        for entry in [*dirs, *names]:
            name = os.path.relpath(os.path.join(parent, entry), work)
            inner = _output_path(work, name)  # refuses a symlink
            if entry in names:
                found.append((Path(name).as_posix(), inner))
    return sorted(found)


def declared_files(job: Job) -> list[tuple[str, Path]]:
    """Every file of the job's declared outputs as it is now in its work dir (after the
    output check: redacted files rewritten, withheld ones moved out). ValueError names an
    output that is a symlink or leaves the work dir."""
    work = _work_dir(job)
    if work is None:
        return []
    try:
        return [f for rel in job.spec.outputs for f in output_files(work, rel)]
    except _Unchecked as exc:
        raise ValueError(str(exc)) from None


def _read_output(path: Path, rel: str) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise _Unchecked(f"output {rel} cannot be read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise _Unchecked(f"output {rel} is not a regular file")
        data = f.read(MAX_CHECKED_BYTES + 1)
    if len(data) > MAX_CHECKED_BYTES:
        raise _Unchecked(f"output {rel} is larger than {MAX_CHECKED_BYTES} bytes")
    return data


def served_sets(ctx: ServiceContext, job: Job) -> list[ServedSet]:
    """What the job was served, per dataset: the gateway's fingerprint files; for a dataset
    the job read without a gateway (metered in-process), the fingerprints of the whole
    dataset version."""
    files = served_files(exchange_dir(ctx) / "gateways", job.id)
    sets = [ServedSet.of(d, [np.fromfile(p, dtype="<u8") for p in paths])
            for d, paths in sorted(files.items())]
    log = meter_log_path(ctx, job.id)
    read = {m.dataset_id for m in read_log(log).meters} if log.exists() else set()
    for dataset_id in sorted(read - set(files)):
        sets.append(ServedSet.of(dataset_id, _dataset_fingerprints(ctx, dataset_id)))
    return sets


def _dataset_fingerprints(ctx: ServiceContext, dataset_id: str) -> list[Any]:
    with ctx.db.transaction(write=False) as tx:
        row = tx.datasets.get(dataset_id)
    if row is None:
        raise _Unchecked(f"dataset {dataset_id} is gone: what the job read cannot be known")
    store = store_of(ctx)
    return [fingerprint([r.text for r in store.read_part(part)])
            for part in load_manifest(row).parts]


@dataclass
class _Item:
    name: str
    data: bytes
    result: CheckResult
    text: str | None


def _check(ctx: ServiceContext, job: Job) -> tuple[list[_Item], list[str]]:
    """Check the log and each declared output; returns the items and the outputs that could
    not be checked (with why)."""
    served = served_sets(ctx, job)
    raw = [(LOG, _read_log(ctx, job))]
    unchecked: list[str] = []
    work = _work_dir(job)
    for rel in job.spec.outputs:
        try:
            if work is None:
                raise _Unchecked(f"output {rel}: the job has no work dir on this backend")
            for name, path in output_files(work, rel):
                raw.append((name, _read_output(path, name)))
        except _Unchecked as exc:
            unchecked.append(str(exc))
    items = []
    for name, data in raw:
        result, text = check_bytes(data, served)
        items.append(_Item(name, data, result, text))
    return items, unchecked


def _agreement_terms(tx: Tx, job: Job) -> tuple[OutputPolicy, tuple[str, ...]]:
    agreements = tx.licences.agreements(org_id=job.org_id, dataset_ids=list(job.spec.datasets))
    policy = strictest_output_policy(a.offer.output_policy for a in agreements)
    providers = {a.provider_id for a in agreements}
    for dataset_id in job.spec.datasets:
        row = tx.datasets.get(dataset_id)
        if row is not None:
            providers.add(row.provider_org_id)
    return policy, tuple(sorted(providers))


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def decide(tx: Tx, ctx: ServiceContext, job: Job) -> OutputRelease:
    """The stored verdict on ``job``'s output, deciding it now if there is none (once: the
    caller holds the job's row)."""
    repo = tx.output_releases
    existing = repo.get(job.id)
    if existing is not None:
        return existing
    policy, providers = _agreement_terms(tx, job)
    try:
        items, unchecked = _check(ctx, job)
    except (_Unchecked, OSError, ValueError) as exc:
        items, unchecked = [], [f"the output could not be checked: {exc}"]
    failing = [i for i in items if not i.result.passed]
    datasets = tuple(sorted({d for i in failing for d in i.result.datasets}))
    findings = tuple({"file": i.name, **f.to_dict()} for i in failing for f in i.result.findings)
    checked = sum(len(i.data) for i in items)
    quarantine = outputs_dir(ctx, job.id)
    if not failing and not unchecked:
        verdict, reason = RELEASED, "checked: reproduces no licensed record"
    elif (policy is OutputPolicy.REDACT and not unchecked
          and all(i.text is not None for i in failing)):
        verdict = REDACTED
        reason = (f"redacted: {', '.join(i.name for i in failing)} reproduced licensed "
                  f"records of dataset {', '.join(datasets)}")
        for item in failing:
            assert item.text is not None
            cleaned = redact(item.text, item.result.findings).encode("utf-8")
            _write_private(quarantine / "withheld" / _quarantine_name(item.name), item.data)
            if item.name == LOG:
                _write_private(quarantine / "log.txt", cleaned)
            else:
                _rewrite_output(job, item.name, cleaned)
    else:
        verdict = WITHHELD
        what = " and ".join(i.name for i in failing) or "output"
        reason = (f"withheld: the {what} reproduces licensed records of dataset "
                  f"{', '.join(datasets)}; the provider reviews it" if failing else
                  "withheld: " + "; ".join(unchecked))
        if failing and unchecked:
            reason += "; also " + "; ".join(unchecked)
        for item in failing:
            _write_private(quarantine / "withheld" / _quarantine_name(item.name), item.data)
            if item.name != LOG:
                _remove_output(job, item.name)
    release = OutputRelease(job.id, verdict, policy.value, reason, datasets, providers,
                            findings, checked, ctx.clock.now())
    repo.add(release)
    audit.job_change(ctx, tx, None, f"output.{verdict}", job, reason=reason,
                     datasets=datasets, providers=providers, checked_bytes=checked)
    return release


def _rewrite_output(job: Job, rel: str, data: bytes) -> None:
    work = _work_dir(job)
    assert work is not None
    path = _output_path(work, rel)
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _remove_output(job: Job, rel: str) -> None:
    work = _work_dir(job)
    assert work is not None
    _output_path(work, rel).unlink(missing_ok=True)


def release_of(ctx: ServiceContext, job: Job) -> OutputRelease:
    """The verdict stored when the job ended; decided now (holding the job's row) for a job
    that ended where no backend could read its log."""
    with ctx.db.transaction(write=False) as tx:
        found = tx.output_releases.get(job.id)
    if found is not None:
        return found
    with ctx.db.transaction() as tx:
        fresh = tx.jobs.get(job.id, lock=True) or job
        return decide(tx, ctx, fresh)


def released_log(ctx: ServiceContext, job: Job, release: OutputRelease, offset: int,
                 max_bytes: int = 1 << 20) -> tuple[bytes, int, bool] | None:
    """For the tenant: the redacted log from ``offset`` (bytes, next offset, at its end);
    None when the log is released as it is; :class:`AccessDeniedError` when withheld."""
    if release.verdict == WITHHELD:
        raise AccessDeniedError(release.reason)
    if release.verdict == RELEASED:
        return None
    path = outputs_dir(ctx, job.id) / "log.txt"
    if not path.exists():
        return None  # the log passed; an output was redacted
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(max_bytes)
        at_end = f.read(1) == b""
    return data, offset + len(data), at_end


REVIEWERS = ("data-provider", "org-admin")
"""The provider's roles that review withheld output (besides operators and auditors): not its
plain members, so an organisation that both provides and uses data keeps the roles apart."""


def _reviewable(caller: Caller, release: OutputRelease) -> bool:
    return caller.sees_all or (caller.org_id in release.provider_org_ids
                               and caller.person.role.value in REVIEWERS)


def list_withheld(ctx: ServiceContext, caller: Caller) -> list[OutputRelease]:
    """Withheld output of jobs that read the caller's datasets (every one for operators and
    auditors); the tenant whose job it was does not see it."""
    caller.check(ctx, "licence:read", Resource("Agreement", "any"))
    with ctx.db.transaction(write=False) as tx:
        rows = tx.output_releases.list(verdict=WITHHELD)
    return [r for r in rows if _reviewable(caller, r)]


@dataclass(frozen=True, slots=True)
class WithheldOutput:
    release: OutputRelease
    files: dict[str, str]
    """Each withheld file's content (UTF-8, undecodable bytes replaced), by name."""


def withheld_output(ctx: ServiceContext, caller: Caller, job_id: str) -> WithheldOutput:
    """One job's withheld output, for the providers of the datasets it read and operators."""
    caller.check(ctx, "licence:read", Resource("Agreement", "any"))
    with ctx.db.transaction(write=False) as tx:
        release = tx.output_releases.get(job_id)
    if release is None or release.verdict != WITHHELD:
        raise NotFoundError(f"no withheld output of job {job_id}")
    if not _reviewable(caller, release):
        raise PermissionDeniedError(
            f"{caller.person.role.value} {caller.person.id} may not review the withheld output "
            f"of job {job_id}: only the providers of the datasets it read and operators may")
    folder = outputs_dir(ctx, job_id) / "withheld"
    files = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            files[urllib.parse.unquote(path.name)] = path.read_bytes().decode(
                "utf-8", errors="replace")
    return WithheldOutput(release, files)
