"""The ingest pipeline: a provider's file → a dataset version in the store.

Streaming with bounded memory: records are read one at a time and cut into batches of at most
``batch_records`` records or ``batch_bytes`` UTF-8 bytes. Per batch:

1. TDMRep: reserved records not covered by a licence are excluded (counted, never stored);
2. *prepare* (pure, parallel): PII findings and MinHash signatures and LSH band keys of each
   record — mapped in this process, or as Ray tasks with ``use_ray`` (the same function);
3. *commit* (in order, in the driver): the steps of
   :meth:`aicenter.exchange.processing.RecordProcessor.process` on the prepared batch — report
   the findings, check near-duplicates against every earlier record of this and of every other
   stored dataset (so a second provider's copy of an article is flagged), apply each PII type's
   action, add kept texts to the statistics — then write the kept records as one Parquet part,
   append the batch's signatures to the index log and write the checkpoint.

Resumable: the checkpoint (JSON, written with ``os.replace`` after each committed batch) holds
the records consumed, the parts written, the number of index-log entries, the PII report, the
statistics and the counts. A restarted ingest truncates the index log to the checkpoint, reloads
it, skips the consumed records and continues: the result equals an uninterrupted run, because
batches are cut from the input alone and every step is deterministic.

Memory: one batch (and with Ray a few batches in flight) plus the near-duplicate index
(≈ 0.9 KB a record, see :class:`~aicenter.exchange.store.CompactIndex`).
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aicenter.domain.errors import InputError
from aicenter.exchange.dedup import MinHasher
from aicenter.exchange.dedup_index import (
    CompactIndex,
    SegmentFiles,
    band_keys,
    load_segments,
    publish_segment,
)
from aicenter.exchange.file_formats import RecordFormat, RecordReader
from aicenter.exchange.pii.base import Finding, PiiType
from aicenter.exchange.pii.registry import default_registry
from aicenter.exchange.pii.scanner import Scanner
from aicenter.exchange.processing import RecordProcessor
from aicenter.exchange.pseudonymise import DEFAULT_ACTIONS, Action, Pseudonymiser, apply_actions
from aicenter.exchange.records import Record
from aicenter.exchange.report import PiiReport
from aicenter.exchange.stats import DatasetStats
from aicenter.exchange.store import (
    DatasetStore,
    Manifest,
    PartRef,
    StoredRecord,
    atomic_write,
    check_name,
)
from aicenter.exchange.tdm import TdmCoverage, tdm_status
from aicenter.extras import require

SOURCE_FIELDS = ("source", "source_id", "id", "url", "source_url")
PUBLISHER_FIELDS = ("publisher", "author")
DATE_FIELDS = ("date", "published", "published_at")
CONSENT_FIELDS = ("consent", "consent_status")
CHECKPOINT_VERSION = 1
RAY_FEATURE = "ingest on Ray (--ray)"


# A record read from the input with its other fields (provenance, TDMRep).
SourceRecord = Record


def _pick(fields: Mapping[str, Any], names: Sequence[str]) -> str | None:
    for name in names:
        value = fields.get(name)
        if value is not None and str(value) != "":
            return str(value)
    return None


def parse_actions(specs: Iterable[str]) -> dict[PiiType, Action]:
    """``TYPE=drop|redact|pseudonymise|keep`` overrides on top of the default actions."""
    actions = dict(DEFAULT_ACTIONS)
    for spec in specs:
        name, sep, value = spec.partition("=")
        try:
            pii_type = PiiType(name.strip())
        except ValueError:
            known = ", ".join(t.value for t in PiiType)
            raise InputError(
                f"unknown PII type {name!r} (one of {known})", field="--pii-action"
            ) from None
        try:
            action = Action(value.strip())
        except ValueError:
            raise InputError(
                f"{spec!r}: the action must be drop, redact, pseudonymise or keep",
                field="--pii-action",
            ) from None
        if not sep:
            raise InputError(f"{spec!r}: write TYPE=ACTION", field="--pii-action")
        actions[pii_type] = action
    return actions


@dataclass(frozen=True)
class IngestOptions:
    """What to ingest and how."""

    path: Path
    dataset: str
    provider: str
    field: str = "text"
    input_format: RecordFormat | None = None
    actions: Mapping[PiiType, Action] = dataclasses.field(
        default_factory=lambda: dict(DEFAULT_ACTIONS)
    )
    tdm_covered: frozenset[str] = frozenset()
    licence: str = ""
    description: str = ""
    names: bool = True
    batch_records: int = 2000
    batch_bytes: int = 8 << 20
    use_ray: bool = False
    ray_in_flight: int = 4

    def identity(self) -> dict[str, Any]:
        """What a checkpoint must match to be resumed: the input file and every option that
        changes the result."""
        stat = self.path.stat()
        return {
            "path": str(self.path.resolve()),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "dataset": self.dataset,
            "provider": self.provider,
            "field": self.field,
            "format": None if self.input_format is None else self.input_format.value,
            "actions": {t.value: a.value for t, a in sorted(self.actions.items())},
            "tdm_covered": sorted(self.tdm_covered),
            "names": self.names,
            "batch_records": self.batch_records,
            "batch_bytes": self.batch_bytes,
        }


@dataclass(frozen=True, slots=True)
class Progress:
    """Passed to the progress callback after each committed batch."""

    records: int
    bytes_read: int
    total_bytes: int
    parts: int


@dataclass(frozen=True, slots=True)
class Prepared:
    """The pure, parallel half of a batch: findings, signatures and band keys per record."""

    findings: list[list[Finding]]
    signatures: npt.NDArray[np.uint32]
    keys: npt.NDArray[np.uint64]


@cache
def _scanner(names: bool) -> Scanner:
    return Scanner(default_registry(names=names))


def prepare(texts: list[str], names: bool, bands: int = 32, rows: int = 4) -> Prepared:
    """Scan and sign one batch (the same function in-process and in a Ray task)."""
    scanner = _scanner(names)
    signatures = MinHasher(num_perm=bands * rows).signatures(texts)
    return Prepared(scanner.scan_many(texts), signatures, band_keys(signatures, bands, rows))


@dataclass
class IngestResult:
    """The stored version and what the ingest counted."""

    manifest: Manifest
    manifest_path: Path
    resumed_from: int

    def as_json(self) -> dict[str, Any]:
        out = self.manifest.as_json()
        out["manifest_path"] = str(self.manifest_path)
        out["resumed_from_record"] = self.resumed_from
        return out


@dataclass
class _State:
    consumed: int = 0
    parts: list[PartRef] = field(default_factory=list)
    indexed: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def as_json(self, processor: RecordProcessor, identity: dict[str, Any]) -> dict[str, Any]:
        return {
            "checkpoint_version": CHECKPOINT_VERSION,
            "identity": identity,
            "consumed": self.consumed,
            "parts": [p.as_json() for p in self.parts],
            "indexed": self.indexed,
            "counts": dict(self.counts),
            "stats": {
                "records": processor.stats.records,
                "bytes": processor.stats.bytes,
                "characters": processor.stats.characters,
                "estimated_tokens_f": processor.stats.estimated_tokens_f,
            },
            "report": processor.report.as_json(),
        }


def _restore(checkpoint: dict[str, Any], processor: RecordProcessor) -> _State:
    state = _State(
        consumed=int(checkpoint["consumed"]),
        parts=[PartRef.from_json(p) for p in checkpoint["parts"]],
        indexed=int(checkpoint["indexed"]),
        counts=Counter({k: int(v) for k, v in checkpoint["counts"].items()}),
    )
    processor.stats = DatasetStats(**checkpoint["stats"])
    report = checkpoint["report"]
    processor.report = PiiReport(
        records=int(report["records"]),
        records_with_pii=int(report["records_with_pii"]),
        counts=Counter({PiiType(k): int(v) for k, v in report["counts"].items()}),
        samples={PiiType(k): list(v) for k, v in report["samples"].items()},
    )
    processor.duplicates = state.counts["duplicates"]
    processor.dropped_for_pii = state.counts["dropped_for_pii"]
    return state


def _batches(
    rows: Iterator[SourceRecord], max_records: int, max_bytes: int
) -> Iterator[list[SourceRecord]]:
    batch: list[SourceRecord] = []
    size = 0
    for row in rows:
        batch.append(row)
        size += len(row.text) * 3 if not row.text.isascii() else len(row.text)
        if len(batch) >= max_records or size >= max_bytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _map_prepare(
    batches: Iterator[tuple[list[SourceRecord], list[SourceRecord]]],
    options: IngestOptions,
) -> Iterator[tuple[list[SourceRecord], list[SourceRecord], Prepared]]:
    """Prepare each batch's admitted records, in order: here, or on Ray with a bounded number
    of batches in flight (the driver commits results in input order)."""
    if not options.use_ray:
        for batch, admitted in batches:
            yield batch, admitted, prepare([r.text for r in admitted], options.names)
        return
    require("ray", RAY_FEATURE)
    import ray

    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):  # a cluster (for example KubeRay) to join
            ray.init(log_to_driver=False, logging_level=logging.ERROR)
        else:  # a local Ray on this machine's cores
            ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    remote = ray.remote(prepare)
    pending: list[tuple[list[SourceRecord], list[SourceRecord], Any]] = []
    for batch, admitted in batches:
        ref = remote.remote([r.text for r in admitted], options.names)
        pending.append((batch, admitted, ref))
        if len(pending) >= options.ray_in_flight:
            first, first_admitted, first_ref = pending.pop(0)
            yield first, first_admitted, ray.get(first_ref)
    for batch, admitted, ref in pending:
        yield batch, admitted, ray.get(ref)


def ingest(
    options: IngestOptions,
    store: DatasetStore,
    on_progress: Callable[[Progress], None] | None = None,
    restart: bool = False,
) -> IngestResult:
    """Ingest ``options.path`` into ``store`` as dataset ``options.dataset``; resumes an
    unfinished ingest of the same file and options from its checkpoint. One ingest of a
    dataset at a time (an exclusive lock, released by the kernel if the process dies)."""
    check_name(options.dataset, "dataset")
    if options.use_ray:  # before the lock and the first batch, not in the middle
        require("ray", RAY_FEATURE)
    lock_path = store.root / "locks" / f"{options.dataset}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"another ingest of dataset {options.dataset!r} is running", field="dataset"
            ) from None
        return _ingest_locked(options, store, on_progress, restart)


def _ingest_locked(
    options: IngestOptions,
    store: DatasetStore,
    on_progress: Callable[[Progress], None] | None,
    restart: bool,
) -> IngestResult:
    check_name(options.provider, "provider")
    reader = RecordReader(options.path, options.input_format, options.field, keep_fields=True)
    identity = options.identity()
    work = store.work_dir(options.dataset)
    checkpoint_path = work / "checkpoint.json"
    if restart and work.exists():
        shutil.rmtree(work)
    processor = RecordProcessor(
        scanner=_scanner(options.names),
        pseudonymiser=Pseudonymiser(store.pseudonym_key(), options.dataset),
        actions=dict(options.actions),
    )
    index = CompactIndex()
    load_segments(index, store.dedup_dir, skip_dataset=options.dataset)
    state = _State()
    log = SegmentFiles(work / "index.records", work / "index.signatures", index.k)
    if checkpoint_path.exists():
        checkpoint = json.loads(checkpoint_path.read_text(encoding="utf-8"))
        if checkpoint.get("identity") != identity:
            raise InputError(
                "an unfinished ingest of this dataset from another file or with other options "
                "exists; finish it or pass --restart",
                file=str(options.path),
                field="dataset",
            )
        state = _restore(checkpoint, processor)
        log.truncate(state.indexed)
        for records, signatures in log.chunks():
            index.extend(options.dataset, [options.provider] * len(records), records, signatures)
    else:
        work.mkdir(parents=True, exist_ok=True)
        log.truncate(0)
    resumed_from = state.consumed
    coverage = TdmCoverage(options.tdm_covered)
    path_name = str(options.path)

    def admitted_batches() -> Iterator[tuple[list[SourceRecord], list[SourceRecord]]]:
        rows = (r for r in reader if r.index >= resumed_from)
        for batch in _batches(rows, options.batch_records, options.batch_bytes):
            admitted = []
            for r in batch:
                status = tdm_status(r.fields, file=path_name, line=r.line)
                if coverage.excludes(status, _pick(r.fields, PUBLISHER_FIELDS)):
                    continue
                admitted.append(r)
            yield batch, admitted

    for batch, admitted, prepared in _map_prepare(admitted_batches(), options):
        kept = _commit(processor, index, options, admitted, prepared, state)
        state.counts["tdm_excluded"] += len(batch) - len(admitted)
        if kept:
            state.parts.append(store.write_part(kept))
        log.append([r.index for r in admitted], prepared.signatures)
        state.indexed += len(admitted)
        state.consumed = batch[-1].index + 1
        text = json.dumps(state.as_json(processor, identity), ensure_ascii=False)
        atomic_write(checkpoint_path, text.encode("utf-8"))
        if on_progress is not None:
            on_progress(
                Progress(state.consumed, reader.bytes_read, reader.total_bytes, len(state.parts))
            )
    counts = dict(state.counts)
    counts["records_read"] = state.consumed
    counts["kept"] = processor.stats.records
    manifest = Manifest(
        dataset=options.dataset,
        provider=options.provider,
        parts=state.parts,
        licence=options.licence,
        description=options.description,
        stats=processor.stats.as_json(),
        pii_report=processor.report.as_json(),
        counts={k: counts.get(k, 0) for k in _COUNT_NAMES},
        source_file=options.path.name,
    )
    manifest_path = store.save_manifest(manifest)
    publish_segment(store.dedup_dir, options.dataset, options.provider, manifest.version, log)
    shutil.rmtree(work)
    return IngestResult(manifest, manifest_path, resumed_from)


_COUNT_NAMES = (
    "records_read",
    "kept",
    "tdm_excluded",
    "tdm_reserved_kept",
    "dropped_for_pii",
    "duplicates",
    "duplicates_across_providers",
    "duplicates_of_other_datasets",
)


def _commit(
    processor: RecordProcessor,
    index: CompactIndex,
    options: IngestOptions,
    admitted: list[SourceRecord],
    prepared: Prepared,
    state: _State,
) -> list[StoredRecord]:
    """The per-record steps of ``RecordProcessor.process``, on prepared findings and
    signatures, against the compact cross-dataset index; returns the records to store."""
    kept: list[StoredRecord] = []
    matches = index.add_batch(
        options.dataset,
        [r.index for r in admitted],
        options.provider,
        prepared.signatures,
        prepared.keys,
    )
    for i, record in enumerate(admitted):
        findings = prepared.findings[i]
        processor.report.add(record.text, findings)
        match = matches[i]
        if match is not None:
            processor.duplicates += 1
            state.counts["duplicates"] += 1
            if match.across_providers:
                state.counts["duplicates_across_providers"] += 1
            if isinstance(match.duplicate_of, tuple) and match.duplicate_of[0] != options.dataset:
                state.counts["duplicates_of_other_datasets"] += 1
            continue
        handled = apply_actions(record.text, findings, processor.pseudonymiser, processor.actions)
        if handled is None:
            processor.dropped_for_pii += 1
            state.counts["dropped_for_pii"] += 1
            continue
        processor.stats.add(handled)
        status = tdm_status(record.fields)
        if status.reserved:
            state.counts["tdm_reserved_kept"] += 1
        kept.append(
            StoredRecord(
                text=handled,
                source=_pick(record.fields, SOURCE_FIELDS)
                or f"{options.path.name}#{record.index + 1}",
                publisher=_pick(record.fields, PUBLISHER_FIELDS),
                date=_pick(record.fields, DATE_FIELDS),
                consent=_pick(record.fields, CONSENT_FIELDS),
                tdm_reserved=status.reserved,
            )
        )
    return kept
