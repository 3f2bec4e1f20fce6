"""The center's reader: inside a job, the one way to read a licensed dataset's records.

A job calls ``open_dataset("news-2025")`` and iterates texts (or records with provenance);
there is no call that returns a file, a path or the Parquet bytes. The service configures the
reader through environment variables when it launches a job whose admission passed
(:func:`aicenter.exchange.licence.check_access` for every dataset the job names):

=============================  ===========================================================
``AICENTER_JOB_ID``            the job reading
``AICENTER_DATA_PURPOSE``      the purpose the job was admitted for (``pre-training``…)
``AICENTER_DATASET_MANIFESTS`` manifest paths of the dataset versions, ``os.pathsep``-joined
``AICENTER_DATA_GRANT``        the grant file the service wrote at admission (JSON)
``AICENTER_METER_LOG``         the job's meter log (JSON lines, :mod:`.meter`)
=============================  ===========================================================

The reader refuses (:class:`AccessDeniedError`) when there is no grant, the grant is for
another job or purpose, it does not name the dataset, it has expired (checked again before
every batch), or the dataset is tagged domestic and the job's pool is not in a domestic
country. Before each batch of records is handed to the job, a meter event with its records,
UTF-8 bytes and estimated tokens is fsynced to the meter log; so billed use can be computed
from the log and no record is read unmetered.

Two ways to run it:

* **Through the data gateway** (local backend): the job's environment has only
  ``AICENTER_JOB_ID``, ``AICENTER_DATA_PURPOSE``, ``AICENTER_DATA_SOCKET`` and
  ``AICENTER_DATA_TOKEN``. :func:`open_dataset` then talks to :mod:`aicenter.exchange.gateway`,
  a process outside the job that runs this module's checks and writes the meter log itself;
  the job runs isolated (:mod:`aicenter.backends.local.isolation`) and cannot open the store, the
  manifests, the grant, the meter log or the keys. Under the ``job_network`` setting (by
  default, every job naming datasets) it also has no network: a network namespace with only
  its own loopback, ``/run`` covered and a private ``/tmp``, so the records it reads cannot be
  sent out of the center, nor into PostgreSQL; the gateway, a Unix socket, still serves it.
  This holds against a hostile job; with ``job_isolation = "none"``, or where namespaces are
  unavailable (the job's log says so), it holds only against an honest one.
* **In-process** (the variables of the table above; the Ray backend, and tests): the reader
  runs in the job's own process, opens the store and appends to the meter log itself. It meters
  an honest job exactly, but a hostile job could read the store files directly or truncate its
  meter log: on Ray it is only as strong as the file permissions of the store on the nodes.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aicenter.domain.errors import InputError
from aicenter.exchange.gateway_client import ENV_SOCKET, GatewayReader, open_via_gateway
from aicenter.exchange.licence import (
    DOMESTIC_COUNTRIES,
    AccessDeniedError,
    Agreement,
    DatasetTerms,
    Purpose,
    check_access,
)
from aicenter.exchange.meter import MeterEvent, MeterWriter
from aicenter.exchange.stats import (
    ASCII_CHARS_PER_TOKEN,
    HANGUL_SYLLABLES_PER_TOKEN,
    OTHER_CHARS_PER_TOKEN,
)
from aicenter.exchange.store import DatasetStore, Manifest, RecordBatches, StoredRecord
from aicenter.policy.authorizer import Authorizer

ENV_JOB_ID = "AICENTER_JOB_ID"
ENV_PURPOSE = "AICENTER_DATA_PURPOSE"
ENV_MANIFESTS = "AICENTER_DATASET_MANIFESTS"
ENV_GRANT = "AICENTER_DATA_GRANT"
ENV_METER_LOG = "AICENTER_METER_LOG"
BATCH_RECORDS = 1024

Clock = Callable[[], datetime]
_NON_ASCII_BYTES = bytes(range(0x80, 0x100))
# lead byte EA or ED starting a character that is NOT a Hangul syllable (U+A000–U+ABFF;
# U+D7A4–U+D7FF; ED A0–BF would be surrogates, which UTF-8 never holds)
_EA_NOT_HANGUL = re.compile(rb"\xea[\x80-\xaf]")
_ED_NOT_HANGUL = re.compile(rb"\xed(?:\x9e[\xa4-\xbf]|[\x9f-\xbf])")


def metered_size(text: str) -> tuple[int, int]:
    """UTF-8 bytes and metered tokens of one record: ``round_half_even(t)`` where ``t`` is
    :func:`aicenter.exchange.stats.estimated_tokens` (same counts, same float expression),
    computed from the UTF-8 bytes at C speed (about 6x the character loop):

    * ASCII characters = bytes below 0x80;
    * Hangul syllables U+AC00–U+D7A3 = characters whose UTF-8 lead byte is EA–ED (U+A000–
      U+DFFF) less those in U+A000–U+ABFF (EA 80–AF) and U+D7A4–U+D7FF (ED 9E A4–BF, ED 9F);
      a lead byte never occurs inside another character in UTF-8, so the counts are exact.
    """
    data = text.encode("utf-8")
    n_bytes = len(data)
    if n_bytes == len(text):
        return n_bytes, round(n_bytes / ASCII_CHARS_PER_TOKEN)
    n_ascii = len(data.translate(None, _NON_ASCII_BYTES))
    n_hangul = (data.count(b"\xea") + data.count(b"\xeb") + data.count(b"\xec")
                + data.count(b"\xed") - len(_EA_NOT_HANGUL.findall(data))
                - len(_ED_NOT_HANGUL.findall(data)))
    n_other = len(text) - n_ascii - n_hangul
    tokens = (n_ascii / ASCII_CHARS_PER_TOKEN + n_hangul / HANGUL_SYLLABLES_PER_TOKEN
              + n_other / OTHER_CHARS_PER_TOKEN)
    return n_bytes, round(tokens)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class GrantedDataset:
    """One dataset a job may read: which version, under which agreement, its residency."""

    dataset_id: str
    version: str
    agreement_id: str
    provider_id: str
    domestic: bool


@dataclass(frozen=True, slots=True)
class Grant:
    """What admission allowed one job to read, written by the service, read by the reader."""

    job_id: str
    purpose: Purpose
    pool_country: str
    issued_at: datetime
    valid_until: datetime
    datasets: tuple[GrantedDataset, ...]
    domestic_countries: frozenset[str] = DOMESTIC_COUNTRIES

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id, "purpose": self.purpose.value,
            "pool_country": self.pool_country, "issued_at": self.issued_at.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "domestic_countries": sorted(self.domestic_countries),
            "datasets": [{"dataset_id": d.dataset_id, "version": d.version,
                          "agreement_id": d.agreement_id, "provider_id": d.provider_id,
                          "domestic": d.domestic} for d in self.datasets],
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any], file: str) -> Grant:
        try:
            grant = Grant(
                job_id=str(data["job_id"]), purpose=Purpose(str(data["purpose"])),
                pool_country=str(data["pool_country"]),
                issued_at=datetime.fromisoformat(str(data["issued_at"])),
                valid_until=datetime.fromisoformat(str(data["valid_until"])),
                datasets=tuple(GrantedDataset(str(d["dataset_id"]), str(d["version"]),
                                              str(d["agreement_id"]), str(d["provider_id"]),
                                              bool(d["domestic"])) for d in data["datasets"]),
                domestic_countries=frozenset(data.get("domestic_countries", ["KR"])),
            )
        except KeyError as exc:
            raise InputError("missing", file=file, field=str(exc.args[0])) from None
        except (TypeError, ValueError) as exc:
            raise InputError(f"not a grant: {exc}", file=file) from None
        for name in ("issued_at", "valid_until"):
            if getattr(grant, name).tzinfo is None:
                raise InputError("must carry a timezone (UTC)", file=file, field=name)
        return grant


def issue_grant(
    *,
    job_id: str,
    org_id: str,
    purpose: Purpose,
    pool_country: str,
    when: datetime,
    manifests: Sequence[Manifest],
    domestic: Mapping[str, bool],
    agreements: Iterable[Agreement],
    domestic_countries: frozenset[str] = DOMESTIC_COUNTRIES,
    authorizer: Authorizer | None = None,
) -> Grant:
    """Admission of a job naming datasets: :func:`check_access` for each (under
    ``authorizer``'s policies, the packaged ones by default); raises
    :class:`AccessDeniedError` with the first refusal, else returns the grant to write.

    The grant expires when the earliest of the deciding agreements does, or when the
    chase-team waiver ends if only the waiver allowed the job's purpose."""
    agreements = list(agreements)
    granted: list[GrantedDataset] = []
    valid_until: datetime | None = None
    for manifest in manifests:
        terms = DatasetTerms(manifest.dataset, manifest.provider,
                             bool(domestic.get(manifest.dataset, False)))
        decision = check_access(agreements, terms, purpose, org_id, when, pool_country,
                                domestic_countries, authorizer)
        if not decision.allowed or decision.agreement is None:
            raise AccessDeniedError(f"job {job_id}: {decision.reason.value}: {decision.message}")
        agreement = decision.agreement
        granted.append(GrantedDataset(manifest.dataset, manifest.version, agreement.id,
                                      manifest.provider, terms.domestic))
        ends = agreement.ends_at
        if purpose != agreement.purpose and agreement.waiver_until is not None:
            ends = min(ends, agreement.waiver_until)  # admitted only thanks to the waiver
        valid_until = ends if valid_until is None else min(valid_until, ends)
    if valid_until is None:
        raise AccessDeniedError(f"job {job_id} names no dataset")
    return Grant(job_id, purpose, pool_country, when, valid_until, tuple(granted),
                 domestic_countries)


def write_grant(path: Path, grant: Grant) -> None:
    """Write the grant file (mode 0600) for the job's launch."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(grant.to_dict(), f, indent=2, sort_keys=True)


def reader_env(*, job_id: str, purpose: Purpose, manifest_paths: Sequence[Path],
               grant_path: Path, meter_log: Path) -> dict[str, str]:
    """The environment variables the service sets on a job that reads datasets."""
    return {
        ENV_JOB_ID: job_id,
        ENV_PURPOSE: purpose.value,
        ENV_MANIFESTS: os.pathsep.join(str(p) for p in manifest_paths),
        ENV_GRANT: str(grant_path),
        ENV_METER_LOG: str(meter_log),
    }


@dataclass(frozen=True, slots=True)
class ReaderContext:
    """The reader's configuration inside one job (from the environment)."""

    job_id: str
    purpose: Purpose
    manifest_paths: tuple[Path, ...]
    grant: Grant
    meter_log: Path
    clock: Clock = _utc_now
    grant_file: Path | None = None
    """Where the grant was read: the center shortens it when an agreement is terminated, and
    :meth:`valid_until` reads the new end (a stat per metered batch, a read when it changed)."""

    def valid_until(self) -> datetime:
        """The grant's end now: the file's, if the center rewrote it since, else the one read
        at start (never later than that)."""
        if self.grant_file is None:
            return self.grant.valid_until
        try:
            stamp = self.grant_file.stat().st_mtime_ns
            cached = _GRANT_ENDS.get(self.grant_file)
            if cached is None or cached[0] != stamp:
                data = json.loads(self.grant_file.read_text(encoding="utf-8"))
                cached = (stamp, datetime.fromisoformat(str(data["valid_until"])))
                _GRANT_ENDS[self.grant_file] = cached
        except (OSError, ValueError, KeyError, TypeError):
            return self.grant.valid_until  # unreadable now: the end read at start holds
        return min(self.grant.valid_until, cached[1])

    @staticmethod
    def from_env(env: Mapping[str, str] | None = None, clock: Clock = _utc_now
                 ) -> ReaderContext:
        """Read the configuration; raises :class:`AccessDeniedError` without a grant."""
        env = os.environ if env is None else env
        job_id = env.get(ENV_JOB_ID, "")
        grant_file = env.get(ENV_GRANT, "")
        if not job_id or not grant_file:
            raise AccessDeniedError(
                "no data grant for this process: datasets are read only inside a job admitted "
                f"with a valid agreement ({ENV_JOB_ID} and {ENV_GRANT} are not set)")
        grant_path = Path(grant_file)
        if not grant_path.is_file():
            raise AccessDeniedError(f"no data grant at {grant_path}")
        try:
            data = json.loads(grant_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise AccessDeniedError(f"unreadable data grant {grant_path}: {exc}") from None
        grant = Grant.from_dict(data, str(grant_path))
        try:
            purpose = Purpose(env.get(ENV_PURPOSE, ""))
        except ValueError:
            raise AccessDeniedError(f"{ENV_PURPOSE} is not a purpose: "
                                    f"'{env.get(ENV_PURPOSE, '')}'") from None
        meter_log = env.get(ENV_METER_LOG, "")
        if not meter_log:
            raise AccessDeniedError(f"{ENV_METER_LOG} is not set: reads must be metered")
        manifests = tuple(Path(p) for p in env.get(ENV_MANIFESTS, "").split(os.pathsep) if p)
        return ReaderContext(job_id, purpose, manifests, grant, Path(meter_log), clock,
                             grant_path)


class DatasetReader(RecordBatches):
    """Iterates one granted dataset's records, metering each batch before handing it out."""

    def __init__(self, context: ReaderContext, manifest: Manifest, store: DatasetStore,
                 granted: GrantedDataset, writer: MeterWriter,
                 batch_records: int = BATCH_RECORDS) -> None:
        self._context = context
        self._manifest = manifest
        self._store = store
        self._granted = granted
        self._writer = writer
        self._batch_records = batch_records
        self.events: list[MeterEvent] = []

    @property
    def dataset_id(self) -> str:
        return self._manifest.dataset

    @property
    def records_total(self) -> int:
        return self._manifest.records

    @property
    def manifest_version(self) -> str:
        return self._manifest.version

    def batches(self) -> Iterator[list[StoredRecord]]:
        """Batches of records with provenance; each is metered (fsynced) before it is yielded."""
        for batch in self.unmetered_batches():
            yield self.meter(batch)

    def unmetered_batches(self) -> Iterator[list[StoredRecord]]:
        """The batches as read from the store, not metered: for the gateway, which reads one
        batch ahead and meters it with :meth:`meter` only when the job asks for it."""
        batch: list[StoredRecord] = []
        for part in self._manifest.parts:
            for record in self._store.read_part(part):
                batch.append(record)
                if len(batch) >= self._batch_records:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def meter(self, batch: list[StoredRecord]) -> list[StoredRecord]:
        """Check the grant's expiry, append the batch's meter event durably, return the batch."""
        now = self._context.clock()
        ends = self._context.valid_until()
        if now >= ends:
            raise AccessDeniedError(
                f"the data grant of job {self._context.job_id} expired at "
                f"{ends.isoformat()}")
        n_bytes = tokens = 0
        for record in batch:
            size, size_tokens = metered_size(record.text)
            n_bytes += size
            tokens += size_tokens
        event = self._writer.meter(job_id=self._context.job_id, dataset_id=self.dataset_id,
                                   agreement_id=self._granted.agreement_id, at=now,
                                   records=len(batch), bytes_read=n_bytes, tokens=tokens)
        self.events.append(event)
        return batch


_GRANT_ENDS: dict[Path, tuple[int, datetime]] = {}
"""Grant file → (mtime, valid_until) last read, so an unchanged grant is not re-parsed."""
_WRITERS: dict[tuple[str, Path], MeterWriter] = {}
_WRITERS_LOCK = threading.Lock()


def _writer_for(context: ReaderContext) -> MeterWriter:
    """One meter writer per (job, log) in this process, also when threads (the gateway's
    connections) open datasets at once: its events are numbered 1, 2, 3…"""
    key = (context.job_id, context.meter_log)
    with _WRITERS_LOCK:
        if key not in _WRITERS:
            writer_id = (f"{context.job_id}:{socket.gethostname()}:{os.getpid()}:"
                         f"{secrets.token_hex(4)}")
            _WRITERS[key] = MeterWriter(context.meter_log, writer_id)
        return _WRITERS[key]


def open_dataset(name_or_id: str, *, context: ReaderContext | None = None,
                 batch_records: int = BATCH_RECORDS) -> DatasetReader | GatewayReader:
    """Open a dataset the job was granted; raises :class:`AccessDeniedError` otherwise.

    Without ``context``, a job whose environment names a data gateway socket reads through
    the gateway; otherwise the reader runs in-process (see the module docstring)."""
    if context is None and os.environ.get(ENV_SOCKET):
        return open_via_gateway(name_or_id, os.environ, batch_records)
    ctx = context if context is not None else ReaderContext.from_env()
    return open_local(name_or_id, ctx, batch_records)


def open_local(name_or_id: str, ctx: ReaderContext, batch_records: int = BATCH_RECORDS
               ) -> DatasetReader:
    """Open a granted dataset in this process (the gateway's way, and the in-process one)."""
    grant = ctx.grant
    if grant.job_id != ctx.job_id:
        raise AccessDeniedError(f"the data grant is for job {grant.job_id}, not {ctx.job_id}")
    if grant.purpose != ctx.purpose:
        raise AccessDeniedError(f"the data grant is for {grant.purpose.value}, "
                                f"not {ctx.purpose.value}")
    granted = next((d for d in grant.datasets if d.dataset_id == name_or_id), None)
    if granted is None:
        raise AccessDeniedError(f"job {ctx.job_id} has no grant for dataset {name_or_id}")
    if granted.domestic and grant.pool_country not in grant.domestic_countries:
        raise AccessDeniedError(f"dataset {name_or_id} is tagged domestic and job {ctx.job_id} "
                                f"runs on a pool in {grant.pool_country}")
    now = ctx.clock()
    ends = ctx.valid_until()
    if not grant.issued_at <= now < ends:
        raise AccessDeniedError(f"the data grant of job {ctx.job_id} is valid from "
                                f"{grant.issued_at.isoformat()} to {ends.isoformat()}")
    for path in ctx.manifest_paths:
        try:
            manifest = Manifest.from_json(json.loads(path.read_text(encoding="utf-8")),
                                          str(path))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read manifest: {exc}", file=str(path)) from None
        if manifest.dataset == granted.dataset_id and manifest.version == granted.version:
            # manifests live at <store>/manifests/<dataset>/<version>.json
            store = DatasetStore(path.parent.parent.parent)
            return DatasetReader(ctx, manifest, store, granted, _writer_for(ctx),
                                 batch_records)
    raise AccessDeniedError(f"no manifest of dataset {name_or_id} version {granted.version} "
                            f"among the job's manifests")
