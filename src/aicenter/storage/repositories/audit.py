"""The audit log's tables: entries appended in the caller's transaction, the head row that
numbers them, and signed checkpoints.

A transaction's appends are three statements however many there are: the first locks the head
row (``SELECT ... FOR UPDATE``: on PostgreSQL a waiting appender then reads the head as the
previous one committed it; SQLite's write transactions are already serial) and later ones
number on from it in memory; the sealed entries are inserted in one statement and the head
moved once, just before the transaction commits (:meth:`AuditRepository.flush`, or before
any read of the log in the same transaction). A submission appends three entries (its
decision, ``job.submitted``, the hold's ``ledger.booked``) from three places: one repository
per transaction (:meth:`AuditRepository.bound`) makes that 3 statements instead of 9. No
Merkle hashing happens here: the tree is built at checkpoint time from the stored leaf
hashes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, LargeBinary, Select, bindparam, insert, select, text

from aicenter.ledger.audit import (
    AuditFilter,
    AuditRecord,
    Checkpoint,
    Frontier,
    Head,
    IndexColumns,
    StoredEntry,
    seal,
)
from aicenter.storage.tables import audit_checkpoints as c
from aicenter.storage.tables import audit_entries as e
from aicenter.storage.tables import audit_head as h
from aicenter.storage.types import UtcDateTime

STREAM_BATCH = 2000
"""Rows fetched at a time when a range of the log is streamed."""

# The append path's three statements, built once: building and cache-keying SQLAlchemy
# expressions per call cost more than executing them (~1.4 -> ~0.5 ms an append on SQLite).
_LOCK_HEAD = text("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
_READ_HEAD = text("SELECT seq, hash FROM audit_head WHERE id = 1")
_INSERT = text(
    "INSERT INTO audit_entries (seq, hash, prev_hash, body, time, action, actor_id, "
    "object_type, object_id, org_id) VALUES (:seq, :hash, :prev_hash, :body, :time, :action, "
    ":actor_id, :object_type, :object_id, :org_id)").bindparams(
    bindparam("hash", type_=LargeBinary), bindparam("prev_hash", type_=LargeBinary),
    bindparam("body", type_=LargeBinary), bindparam("time", type_=UtcDateTime))
_MOVE_HEAD = text("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1").bindparams(
    bindparam("hash", type_=LargeBinary))


def _entry(x: Any) -> StoredEntry:
    return StoredEntry(int(x.seq), bytes(x.hash), bytes(x.prev_hash), bytes(x.body),
                       IndexColumns(x.time, x.action, x.actor_id, x.object_type, x.object_id,
                                    x.org_id))


def _checkpoint(x: Any) -> Checkpoint:
    return Checkpoint(int(x.size), bytes(x.root), x.time, x.key_id, bytes(x.signature))


_BOUND = "aicenter.audit"
"""Key of the transaction's repository in ``Connection.info``."""


class AuditRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._head: tuple[int, bytes] | None = None
        self._pending: list[StoredEntry] = []

    @classmethod
    def bound(cls, conn: Connection) -> AuditRepository:
        """The repository of the transaction on ``conn`` (every caller shares its numbering
        and its pending entries)."""
        repo = conn.info.get(_BOUND)
        if repo is None:
            repo = conn.info[_BOUND] = cls(conn)
        return repo

    @staticmethod
    def unbind(conn: Connection) -> AuditRepository | None:
        """Forget the transaction's repository (its transaction ended); returns it."""
        repo: AuditRepository | None = conn.info.pop(_BOUND, None)
        return repo

    # -- appending ------------------------------------------------------------------------
    def append(self, record: AuditRecord) -> StoredEntry:
        """Seal ``record`` as the next entry, in the caller's transaction (it commits or rolls
        back with the change it records)."""
        return self.append_all([record])[0]

    def append_all(self, records: Iterable[AuditRecord]) -> list[StoredEntry]:
        """Seal several records in order; written by :meth:`flush` (before commit)."""
        if self._head is None:
            # SQLite has no FOR UPDATE: its write transactions already hold the database lock.
            lock = _READ_HEAD if self.conn.dialect.name == "sqlite" else _LOCK_HEAD
            head = self.conn.execute(lock).one()
            self._head = int(head.seq), bytes(head.hash)
        seq, prev = self._head
        sealed: list[StoredEntry] = []
        for record in records:
            seq += 1
            entry = seal(record, seq, prev)
            sealed.append(entry)
            prev = entry.hash
        self._head = seq, prev
        self._pending.extend(sealed)
        return sealed

    def flush(self) -> None:
        """Insert the entries sealed so far and move the head (one statement each)."""
        if not self._pending or self._head is None:
            return
        self.conn.execute(_INSERT, [_values(x) for x in self._pending])
        self.conn.execute(_MOVE_HEAD, {"seq": self._head[0], "hash": self._head[1]})
        self._pending = []

    # -- reading --------------------------------------------------------------------------
    def head(self) -> Head:
        self.flush()
        row = self.conn.execute(select(h.c.seq, h.c.hash).where(h.c.id == 1)).one()
        return Head(int(row.seq), bytes(row.hash))

    def get(self, seq: int) -> StoredEntry | None:
        self.flush()
        row = self.conn.execute(select(e).where(e.c.seq == seq)).first()
        return _entry(row) if row is not None else None

    def stream(self, first: int = 1, last: int | None = None) -> Iterator[StoredEntry]:
        """Entries ``first..last`` (inclusive; to the end when None) in stored order, fetched
        in batches so a large log is never held in memory at once."""
        self.flush()
        stmt = select(e).where(e.c.seq >= first).order_by(e.c.seq)
        if last is not None:
            stmt = stmt.where(e.c.seq <= last)
        result = self.conn.execute(stmt.execution_options(yield_per=STREAM_BATCH))
        for row in result:
            yield _entry(row)

    def leaf_hashes(self, size: int) -> list[bytes]:
        """The stored leaf hashes of entries ``1..size`` in order (for proofs)."""
        self.flush()
        rows = self.conn.execute(
            select(e.c.hash).where(e.c.seq <= size).order_by(e.c.seq)
            .execution_options(yield_per=STREAM_BATCH))
        return [bytes(x.hash) for x in rows]

    def search(self, f: AuditFilter) -> list[StoredEntry]:
        """Entries matching ``f`` in sequence order."""
        self.flush()
        stmt: Select[Any] = select(e).where(e.c.seq > f.after_seq).order_by(e.c.seq)
        if f.org_id is not None:
            stmt = stmt.where(e.c.org_id == f.org_id)
        if f.object_type is not None:
            stmt = stmt.where(e.c.object_type == f.object_type)
        if f.object_id is not None:
            stmt = stmt.where(e.c.object_id == f.object_id)
        if f.action is not None:
            stmt = stmt.where(e.c.action == f.action)
        if f.since is not None:
            stmt = stmt.where(e.c.time >= f.since)
        if f.until is not None:
            stmt = stmt.where(e.c.time < f.until)
        if f.limit is not None:
            stmt = stmt.limit(f.limit)
        return [_entry(x) for x in self.conn.execute(stmt)]

    # -- checkpoints ----------------------------------------------------------------------
    def add_checkpoint(self, checkpoint: Checkpoint, frontier: Frontier) -> None:
        self.conn.execute(insert(c).values(
            size=checkpoint.size, root=checkpoint.root, time=checkpoint.time,
            key_id=checkpoint.key_id, signature=checkpoint.signature,
            frontier=frontier.to_bytes()))

    def checkpoints(self) -> list[Checkpoint]:
        return [_checkpoint(x) for x in self.conn.execute(select(c).order_by(c.c.size))]

    def checkpoint(self, size: int) -> Checkpoint | None:
        row = self.conn.execute(select(c).where(c.c.size == size)).first()
        return _checkpoint(row) if row is not None else None

    def latest_checkpoint(self) -> tuple[Checkpoint, Frontier] | None:
        """The largest checkpoint and the tree frontier stored with it."""
        row = self.conn.execute(select(c).order_by(c.c.size.desc()).limit(1)).first()
        if row is None:
            return None
        return _checkpoint(row), Frontier.from_bytes(int(row.size), bytes(row.frontier))


def _values(x: StoredEntry) -> dict[str, Any]:
    cols = x.columns
    assert cols is not None  # seal() always fills them
    return {"seq": x.seq, "hash": x.hash, "prev_hash": x.prev_hash, "body": x.body,
            "time": cols.time, "action": cols.action, "actor_id": cols.actor_id,
            "object_type": cols.object_type, "object_id": cols.object_id,
            "org_id": cols.org_id}
