"""The content-addressed dataset store inside the center (``$AICENTER_HOME/datasets``).

Layout::

    objects/ab/ab12…ef.parquet     a part: ingested records as Parquet, named by its sha256
    manifests/<dataset>/<version>.json   a dataset version: its parts, statistics, reports
    manifests/<dataset>/latest      the version id of the latest version (one line)
    dedup/<dataset>.json (+ .records, .sig)  the near-duplicate index segment of a dataset's
                                    latest version (header, record numbers, signatures)
    keys/pseudonym.key              the center's pseudonymisation key (32 random bytes, 0600)

A part is addressed by the sha256 of its file bytes, so identical content is stored once: a
part written twice lands on the same name and the second write is skipped. Parts are written
deterministically (fixed Parquet options, no timestamps), so the same records give the same
part. A version id is the first 16 hex digits of the sha256 of the ordered part hashes; the
manifest is written to a temporary file and moved into place with ``os.replace`` (atomic).

Every stored record carries its provenance: ``source`` (an id or URL), ``publisher`` (or
author), ``date``, ``consent`` and ``tdm_reserved`` (whether its owner reserved text-and-data
mining; such a record is only stored when a licence covered it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from aicenter.domain.errors import InputError, NotFoundError

PART_SCHEMA = pa.schema(
    [
        pa.field("text", pa.string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("publisher", pa.string()),
        pa.field("date", pa.string()),
        pa.field("consent", pa.string()),
        pa.field("tdm_reserved", pa.bool_(), nullable=False),
    ]
)
"""The columns of every stored part: the (PII-handled) text and its provenance."""

PROVENANCE_COLUMNS = ("source", "publisher", "date", "consent", "tdm_reserved")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
KEY_BYTES = 32


def check_name(name: str, what: str = "dataset") -> str:
    """A dataset or provider name safe as a file name: letters, digits, '.', '_', '-'."""
    if not _NAME.match(name):
        raise InputError(
            "must be 1-128 letters, digits, '.', '_' or '-' (starting with a letter or digit)",
            field=what,
        )
    return name


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One stored record: text plus provenance."""

    text: str
    source: str | None = None
    publisher: str | None = None
    date: str | None = None
    consent: str | None = None
    tdm_reserved: bool = False


class RecordBatches:
    """A reader of stored records that hands them out a batch at a time (:meth:`batches`);
    the records one by one and their texts follow from it."""

    def batches(self) -> Iterator[list[StoredRecord]]:
        raise NotImplementedError

    def records(self) -> Iterator[StoredRecord]:
        for batch in self.batches():
            yield from batch

    def __iter__(self) -> Iterator[str]:
        """The texts of the records, in order."""
        for batch in self.batches():
            for record in batch:
                yield record.text


@dataclass(frozen=True, slots=True)
class PartRef:
    """A part of a dataset version: its content hash, record count and file size."""

    sha256: str
    records: int
    bytes: int

    def as_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "records": self.records, "bytes": self.bytes}

    @staticmethod
    def from_json(value: dict[str, Any]) -> PartRef:
        return PartRef(str(value["sha256"]), int(value["records"]), int(value["bytes"]))


@dataclass
class Manifest:
    """A dataset version: name, provider, ordered parts and what the ingest measured."""

    dataset: str
    provider: str
    parts: list[PartRef]
    licence: str = ""
    description: str = ""
    stats: dict[str, int] = field(default_factory=dict)
    pii_report: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    source_file: str = ""

    @property
    def version(self) -> str:
        """The content id of this version: sha256 over the ordered part hashes (16 hex)."""
        digest = hashlib.sha256("\n".join(p.sha256 for p in self.parts).encode())
        digest.update(f"\n{self.dataset}\n{self.provider}".encode())
        return digest.hexdigest()[:16]

    @property
    def records(self) -> int:
        return sum(p.records for p in self.parts)

    def as_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "version": self.version,
            "provider": self.provider,
            "licence": self.licence,
            "description": self.description,
            "source_file": self.source_file,
            "records": self.records,
            "parts": [p.as_json() for p in self.parts],
            "stats": self.stats,
            "counts": self.counts,
            "pii_report": self.pii_report,
        }

    @staticmethod
    def from_json(value: dict[str, Any], file: str | None = None) -> Manifest:
        try:
            return Manifest(
                dataset=str(value["dataset"]),
                provider=str(value["provider"]),
                parts=[PartRef.from_json(p) for p in value["parts"]],
                # manifests written before the spelling was settled say "license"
                licence=str(value.get("licence", value.get("license", ""))),
                description=str(value.get("description", "")),
                stats=dict(value.get("stats", {})),
                pii_report=dict(value.get("pii_report", {})),
                counts=dict(value.get("counts", {})),
                source_file=str(value.get("source_file", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"not a dataset manifest: {exc}", file=file) from exc


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def records_table(records: Sequence[StoredRecord]) -> pa.Table:
    """The records as a table of :data:`PART_SCHEMA`."""
    return pa.table(
        {
            "text": [r.text for r in records],
            "source": [r.source for r in records],
            "publisher": [r.publisher for r in records],
            "date": [r.date for r in records],
            "consent": [r.consent for r in records],
            "tdm_reserved": [r.tdm_reserved for r in records],
        },
        schema=PART_SCHEMA,
    )


class DatasetStore:
    """Parts, manifests, near-duplicate index segments and the pseudonymisation key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    def part_path(self, sha256: str) -> Path:
        return self.objects / sha256[:2] / f"{sha256}.parquet"

    def write_part(self, records: Sequence[StoredRecord]) -> PartRef:
        """Store records as one Parquet part; identical content is stored once."""
        self.objects.mkdir(parents=True, exist_ok=True)
        tmp = self.objects / f".part.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            pq.write_table(
                records_table(records),
                tmp,
                compression="zstd",
                use_dictionary=["publisher", "consent", "date"],
                write_statistics=False,
            )
            with tmp.open("rb") as f:
                os.fsync(f.fileno())
            sha = sha256_file(tmp)
            size = tmp.stat().st_size
            target = self.part_path(sha)
            if target.exists():
                tmp.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return PartRef(sha, len(records), size)

    def read_part(self, part: PartRef) -> Iterator[StoredRecord]:
        """The records of a part, checking its hash first."""
        path = self.part_path(part.sha256)
        if not path.exists():
            raise NotFoundError(f"part {part.sha256} is missing from the store at {self.root}")
        actual = sha256_file(path)
        if actual != part.sha256:
            raise InputError(f"sha256 mismatch: stored file hashes to {actual}", file=str(path))
        table = pq.read_table(path, schema=PART_SCHEMA)
        for row in table.to_pylist():
            yield StoredRecord(**row)

    def records(self, manifest: Manifest) -> Iterator[StoredRecord]:
        """Every record of a dataset version, in order."""
        for part in manifest.parts:
            yield from self.read_part(part)

    def save_manifest(self, manifest: Manifest) -> Path:
        """Write the manifest of a version and point ``latest`` at it."""
        check_name(manifest.dataset)
        folder = self.root / "manifests" / manifest.dataset
        path = folder / f"{manifest.version}.json"
        text = json.dumps(manifest.as_json(), indent=2, ensure_ascii=False, sort_keys=True)
        atomic_write(path, text.encode("utf-8") + b"\n")
        atomic_write(folder / "latest", manifest.version.encode() + b"\n")
        return path

    def manifest(self, dataset: str, version: str | None = None) -> Manifest:
        """A stored version (the latest when ``version`` is None)."""
        folder = self.root / "manifests" / check_name(dataset)
        if version is None:
            latest = folder / "latest"
            if not latest.exists():
                raise NotFoundError(f"no dataset {dataset!r} in the store at {self.root}")
            version = latest.read_text().strip()
        path = folder / f"{version}.json"
        if not path.exists():
            raise NotFoundError(f"dataset {dataset!r} has no version {version!r}")
        return Manifest.from_json(json.loads(path.read_text(encoding="utf-8")), str(path))

    def datasets(self) -> list[str]:
        """Names of the stored datasets."""
        folder = self.root / "manifests"
        return (
            sorted(p.name for p in folder.iterdir() if (p / "latest").exists())
            if (folder.exists())
            else []
        )

    @property
    def dedup_dir(self) -> Path:
        return self.root / "dedup"

    def work_dir(self, dataset: str) -> Path:
        """Where an unfinished ingest of ``dataset`` keeps its checkpoint."""
        return self.root / "work" / check_name(dataset)

    def pseudonym_key(self) -> bytes:
        """The center's pseudonymisation key, created (32 random bytes, mode 0600) on first use.

        It never leaves the center: pseudonyms cannot be linked back without it."""
        path = self.root / "keys" / "pseudonym.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(KEY_BYTES))
            with contextlib.suppress(FileExistsError):
                os.link(path.with_suffix(".tmp"), path)
            path.with_suffix(".tmp").unlink(missing_ok=True)
        return path.read_bytes()


def default_store() -> DatasetStore:
    """The store under the center's home (``$AICENTER_HOME/datasets``)."""
    from aicenter.settings import Settings

    return DatasetStore(Settings().home / "datasets")
