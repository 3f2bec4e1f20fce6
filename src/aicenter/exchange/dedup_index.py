"""The near-duplicate index of everything stored, and its per-dataset segment files.

:class:`CompactIndex` holds every stored record's LSH band keys in sorted NumPy arrays (the
pure :class:`~aicenter.exchange.dedup.NearDuplicateIndex` contract, at a few bytes a record);
a dataset's latest version keeps its segment in the store's ``dedup/`` folder
(``<dataset>.json`` header, ``.records`` record numbers, ``.sig`` signatures), written
atomically by :func:`publish_segment` and read back by :func:`load_segments`. Split from
:mod:`aicenter.exchange.store` (the parts and manifests) so each stays small.
"""

from __future__ import annotations

import json
import os
from array import array
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from aicenter.domain.errors import InputError
from aicenter.exchange.dedup import DuplicateMatch, NearDuplicateIndex
from aicenter.exchange.store import atomic_write

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
