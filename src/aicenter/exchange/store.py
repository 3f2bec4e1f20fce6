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
from array import array
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from aicenter.domain.errors import InputError, NotFoundError
from aicenter.exchange.dedup import DuplicateMatch, NearDuplicateIndex

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


# ---------------------------------------------------------------- near-duplicate index
_MIX_ROW = np.uint64(0x9E3779B97F4A7C15)
_MIX_BAND = np.uint64(0xD6E8FEB86659FD93)
_BLOCK_ROWS = 8192
_FRESH_RECORDS = 256


def _mix64(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


def band_keys(signatures: npt.NDArray[np.uint32], bands: int, rows: int) -> npt.NDArray[np.uint64]:
    """One 64-bit key per (record, band): the r rows of a band folded through splitmix64,
    salted with the band number, so one sorted array can hold every band.

        h₀ = 0,  h_{j+1} = mix(h_j ⊕ (v_j + (j+1)·φ)),  key = mix(h_r ⊕ (band+1)·ψ)

    Two records share a key when their rows agree (or, with probability 2⁻⁶⁴, by collision;
    candidates are confirmed on the signatures, so a collision changes nothing)."""
    n = signatures.shape[0]
    cube = signatures.reshape(n, bands, rows).astype(np.uint64)
    h = np.zeros((n, bands), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(rows):
            h = _mix64(h ^ (cube[:, :, j] + np.uint64(j + 1) * _MIX_ROW))
        salt = np.arange(1, bands + 1, dtype=np.uint64) * _MIX_BAND
        return _mix64(h ^ salt[None, :])


def _merge_runs(
    k1: npt.NDArray[np.uint64],
    p1: npt.NDArray[np.int32],
    k2: npt.NDArray[np.uint64],
    p2: npt.NDArray[np.int32],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]]:
    """Merge two sorted runs in O(n) extra memory: each key of the second run goes after the
    keys of the first that are ≤ it, at ``searchsorted(k1, k2, "right") + rank in run 2``."""
    n = k1.size + k2.size
    into = np.searchsorted(k1, k2, side="right") + np.arange(k2.size)
    rest = np.ones(n, dtype=bool)
    rest[into] = False
    keys = np.empty(n, dtype=np.uint64)
    pos = np.empty(n, dtype=np.int32)
    keys[into], pos[into] = k2, p2
    keys[rest], pos[rest] = k1, p1
    return keys, pos


class CompactIndex(NearDuplicateIndex):
    """The LSH index of :mod:`aicenter.exchange.dedup` in flat NumPy arrays, for millions of
    records: same banding and threshold, the best match is the highest estimated Jaccard
    (ties: the earliest record).

    Memory per record: k·4 bytes of signature + b·12 bytes of band keys (uint64) and positions
    (int32) (k = 128, b = 32: 896 bytes), instead of b dictionary entries of Python objects.
    Band keys live in sorted runs merged like a log-structured merge tree (a run is merged
    into the one before it while that one is at most twice its size), so adding n records
    costs O(n log n) and a query does two binary searches per run (O(log² n)).
    Records are identified by (dataset, record number); providers are kept per record.
    """

    def __init__(self, bands: int = 32, rows: int = 4, threshold: float = 0.7) -> None:
        super().__init__(bands, rows, threshold)
        self.k = bands * rows
        self._blocks: list[npt.NDArray[np.uint32]] = []
        self._size = 0
        self._record = array("q")
        self._dataset = array("i")
        self._provider = array("i")
        self._names: list[str] = []
        self._codes: dict[str, int] = {}
        self._runs: list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]]] = []
        self._fresh: dict[int, list[int]] = {}
        self._fresh_keys: list[npt.NDArray[np.uint64]] = []
        self._fresh_start = 0

    def __len__(self) -> int:
        return self._size

    def _code(self, name: str) -> int:
        code = self._codes.get(name)
        if code is None:
            code = self._codes[name] = len(self._names)
            self._names.append(name)
        return code

    def signature_at(self, pos: int) -> npt.NDArray[np.uint32]:
        row: npt.NDArray[np.uint32] = self._blocks[pos // _BLOCK_ROWS][pos % _BLOCK_ROWS]
        return row

    def _append_signatures(self, sigs: npt.NDArray[np.uint32]) -> None:
        done = 0
        while done < len(sigs):
            if self._size % _BLOCK_ROWS == 0:
                self._blocks.append(np.zeros((_BLOCK_ROWS, self.k), dtype=np.uint32))
            at = self._size % _BLOCK_ROWS
            take = min(_BLOCK_ROWS - at, len(sigs) - done)
            self._blocks[-1][at : at + take] = sigs[done : done + take]
            self._size += take
            done += take

    def _push_run(self, keys: npt.NDArray[np.uint64], pos: npt.NDArray[np.int64]) -> None:
        order = np.argsort(keys, kind="stable")
        self._runs.append((keys[order], pos[order].astype(np.int32)))
        while len(self._runs) >= 2 and self._runs[-2][0].size <= 2 * self._runs[-1][0].size:
            (k2, p2), (k1, p1) = self._runs.pop(), self._runs.pop()
            self._runs.append(_merge_runs(k1, p1, k2, p2))

    def _flush_fresh(self) -> None:
        if not self._fresh_keys:
            return
        keys = np.concatenate(self._fresh_keys)
        pos = np.repeat(np.arange(self._fresh_start, self._size, dtype=np.int64), self.bands)
        self._fresh.clear()
        self._fresh_keys.clear()
        self._fresh_start = self._size
        self._push_run(keys, pos)

    def extend(
        self,
        dataset: str,
        providers: Sequence[str],
        records: npt.NDArray[np.int64],
        signatures: npt.NDArray[np.uint32],
    ) -> None:
        """Load many records without querying (a stored segment, a resumed ingest)."""
        if len(signatures) == 0:
            return
        self._flush_fresh()
        start = self._size
        self._append_signatures(signatures)
        self._record.extend(int(r) for r in records)
        self._dataset.extend([self._code(dataset)] * len(signatures))
        self._provider.extend(self._code(p) for p in providers)
        keys = band_keys(signatures, self.bands, self.rows).reshape(-1)
        pos = np.repeat(np.arange(start, self._size, dtype=np.int64), self.bands)
        self._fresh_start = self._size
        self._push_run(keys, pos)

    def _run_candidates(self, keys: npt.NDArray[np.uint64]) -> list[npt.NDArray[np.int64]]:
        """For each row of ``keys`` (n × bands), the positions in the sorted runs that share a
        band key with it (two binary searches per run for the whole batch at once)."""
        n = keys.shape[0]
        flat = keys.reshape(-1)
        owners: list[npt.NDArray[np.int64]] = []
        positions: list[npt.NDArray[np.int64]] = []
        for run_keys, run_pos in self._runs:
            lo = np.searchsorted(run_keys, flat, side="left")
            lengths = np.searchsorted(run_keys, flat, side="right") - lo
            hit = np.nonzero(lengths)[0]
            if hit.size == 0:
                continue
            lens = lengths[hit]
            first = np.cumsum(lens) - lens
            offsets = np.repeat(lo[hit] - first, lens) + np.arange(int(lens.sum()))
            positions.append(run_pos[offsets].astype(np.int64))
            owners.append(np.repeat(hit // self.bands, lens).astype(np.int64))
        if not positions:
            return [np.zeros(0, dtype=np.int64)] * n
        owner, pos = np.concatenate(owners), np.concatenate(positions)
        order = np.argsort(owner, kind="stable")
        owner, pos = owner[order], pos[order]
        bounds = np.searchsorted(owner, np.arange(n + 1))
        return [pos[bounds[i] : bounds[i + 1]] for i in range(n)]

    def _best(
        self,
        signature: npt.NDArray[np.uint32],
        keys: npt.NDArray[np.uint64],
        from_runs: npt.NDArray[np.int64],
    ) -> tuple[int, float] | None:
        """The best candidate (highest J, then earliest) among ``from_runs`` and the records
        added since the last flush, if its J reaches the threshold."""
        extra = [p for key in keys.tolist() for p in self._fresh.get(key, ())]
        if extra:
            from_runs = np.concatenate((from_runs, np.asarray(extra, dtype=np.int64)))
        if from_runs.size == 0:
            return None
        candidates = np.unique(from_runs)
        sims = np.empty(candidates.size, dtype=np.int64)
        block_of = candidates // _BLOCK_ROWS
        for block in np.unique(block_of).tolist():
            sel = block_of == block
            rows = self._blocks[block][candidates[sel] % _BLOCK_ROWS]
            sims[sel] = np.count_nonzero(rows == signature[None, :], axis=1)
        best = int(np.argmax(sims))
        j = float(sims[best]) / self.k
        return (int(candidates[best]), j) if j >= self.threshold else None

    def query_keyed(
        self, signature: npt.NDArray[np.uint32], keys: npt.NDArray[np.uint64]
    ) -> tuple[int, float] | None:
        """(position, estimated J) of the best indexed match at or above the threshold."""
        return self._best(signature, keys, self._run_candidates(keys.reshape(1, -1))[0])

    def query(self, signature: npt.NDArray[np.uint32]) -> tuple[int, float] | None:
        keys = band_keys(signature.reshape(1, -1), self.bands, self.rows)[0]
        return self.query_keyed(signature, keys)

    def add_keyed(
        self,
        dataset: str,
        record: int,
        provider: str,
        signature: npt.NDArray[np.uint32],
        keys: npt.NDArray[np.uint64],
    ) -> DuplicateMatch | None:
        """Index a record and return its best earlier near-duplicate, if any."""
        best = self.query_keyed(signature, keys)
        pos = self._size
        self._append_signatures(signature.reshape(1, -1))
        self._record.append(record)
        self._dataset.append(self._code(dataset))
        self._provider.append(self._code(provider))
        for key in keys.tolist():
            self._fresh.setdefault(key, []).append(pos)
        self._fresh_keys.append(keys)
        if self._size - self._fresh_start >= _FRESH_RECORDS:
            self._flush_fresh()
        return None if best is None else self._match(dataset, record, provider, best)

    def add_batch(
        self,
        dataset: str,
        records: Sequence[int],
        provider: str,
        signatures: npt.NDArray[np.uint32],
        keys: npt.NDArray[np.uint64],
    ) -> list[DuplicateMatch | None]:
        """:meth:`add_keyed` for each record in order (same results), with the sorted runs
        searched once for the whole batch."""
        self._flush_fresh()
        from_runs = self._run_candidates(keys)
        matches: list[DuplicateMatch | None] = []
        code_d, code_p = self._code(dataset), self._code(provider)
        for i, record in enumerate(records):
            best = self._best(signatures[i], keys[i], from_runs[i])
            pos = self._size
            self._append_signatures(signatures[i : i + 1])
            self._record.append(record)
            self._dataset.append(code_d)
            self._provider.append(code_p)
            for key in keys[i].tolist():
                self._fresh.setdefault(key, []).append(pos)
            self._fresh_keys.append(keys[i])
            matches.append(None if best is None else self._match(dataset, record, provider, best))
        return matches

    def _match(
        self, dataset: str, record: int, provider: str, best: tuple[int, float]
    ) -> DuplicateMatch:
        other = best[0]
        return DuplicateMatch(
            (dataset, record),
            provider,
            (self._names[self._dataset[other]], self._record[other]),
            self._names[self._provider[other]],
            best[1],
        )

    def add(
        self, record: Hashable, provider: str, signature: npt.NDArray[np.uint32]
    ) -> DuplicateMatch | None:
        """:meth:`NearDuplicateIndex.add`: ``record`` must be a (dataset, number) pair."""
        if not (isinstance(record, tuple) and len(record) == 2):
            raise TypeError("CompactIndex records are (dataset, record number) pairs")
        keys = band_keys(signature.reshape(1, -1), self.bands, self.rows)[0]
        return self.add_keyed(str(record[0]), int(record[1]), provider, signature, keys)


SEGMENT_CHUNK_ROWS = 16384


@dataclass(frozen=True)
class SegmentFiles:
    """Index entries of one dataset on disk, raw: record numbers (int64) and signatures
    (k uint32 each). An ingest appends to them per batch and truncates them back to its
    checkpoint on resume; loading reads them in chunks, so memory holds the index, not a
    second copy of it."""

    records_path: Path
    signatures_path: Path
    k: int = 128

    def count(self) -> int:
        return self.records_path.stat().st_size // 8 if self.records_path.exists() else 0

    def truncate(self, entries: int) -> None:
        """Cut the files back to ``entries`` (entries appended after a checkpoint are dropped)."""
        for path, width in ((self.records_path, 8), (self.signatures_path, 4 * self.k)):
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("ab") as f:
                if f.seek(0, os.SEEK_END) < entries * width:
                    raise InputError(
                        f"holds fewer than the {entries} index entries its checkpoint counts; "
                        "start again with --restart",
                        file=str(path),
                    )
                f.truncate(entries * width)

    def append(self, records: Sequence[int], signatures: npt.NDArray[np.uint32]) -> None:
        with self.records_path.open("ab") as f:
            f.write(np.asarray(records, dtype=np.int64).tobytes())
        with self.signatures_path.open("ab") as f:
            f.write(np.ascontiguousarray(signatures, dtype=np.uint32).tobytes())

    def chunks(
        self, rows: int = SEGMENT_CHUNK_ROWS
    ) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32]]]:
        """(record numbers, signatures) ``rows`` entries at a time."""
        total = self.count()
        for start in range(0, total, rows):
            n = min(rows, total - start)
            records = np.fromfile(self.records_path, dtype=np.int64, count=n, offset=8 * start)
            signatures = np.fromfile(
                self.signatures_path, dtype=np.uint32, count=n * self.k, offset=4 * self.k * start
            ).reshape(n, self.k)
            yield records, signatures


def publish_segment(
    folder: Path, dataset: str, provider: str, version: str, files: SegmentFiles
) -> None:
    """Link an ingest's index entries into the store as ``dataset``'s segment (replacing the
    previous one) so later ingests check against them. The header JSON, written last with
    ``os.replace``, is the commit point; files it does not name are then removed."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {"records": f"{dataset}.{version}.records", "signatures": f"{dataset}.{version}.sig"}
    for source, name in (
        (files.records_path, names["records"]),
        (files.signatures_path, names["signatures"]),
    ):
        (folder / name).unlink(missing_ok=True)
        os.link(source, folder / name)  # the ingest's files stay until its work dir is removed
    header = {"dataset": dataset, "provider": provider, "version": version, "k": files.k, **names}
    atomic_write(folder / f"{dataset}.json", json.dumps(header).encode("utf-8"))
    for stale in folder.glob(f"{dataset}.*"):
        if stale.name not in (*names.values(), f"{dataset}.json") and stale.is_file():
            stale.unlink()


def save_segment(
    folder: Path,
    dataset: str,
    provider: str,
    records: npt.NDArray[np.int64],
    signatures: npt.NDArray[np.uint32],
    version: str = "saved",
) -> None:
    """Store index entries held in memory as ``dataset``'s segment."""
    tmp = folder / f".{dataset}.{os.getpid()}.tmp"
    files = SegmentFiles(
        tmp.with_suffix(".records"), tmp.with_suffix(".sig"), int(signatures.shape[1])
    )
    files.truncate(0)
    files.append(records.tolist(), signatures)
    publish_segment(folder, dataset, provider, version, files)
    files.records_path.unlink()
    files.signatures_path.unlink()


def load_segments(index: CompactIndex, folder: Path, skip_dataset: str | None = None) -> int:
    """Load every stored segment (except ``skip_dataset``'s) into ``index``; records loaded."""
    loaded = 0
    if not folder.exists():
        return 0
    for header_path in sorted(folder.glob("*.json")):
        header = json.loads(header_path.read_text(encoding="utf-8"))
        if header["dataset"] == skip_dataset:
            continue
        files = SegmentFiles(
            folder / header["records"], folder / header["signatures"], int(header["k"])
        )
        for records, signatures in files.chunks():
            index.extend(
                header["dataset"], [header["provider"]] * len(records), records, signatures
            )
            loaded += len(records)
    return loaded
