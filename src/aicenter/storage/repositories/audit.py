"""The audit log's tables: entries appended in the caller's transaction, the head row that
numbers them, and signed checkpoints.

Appending only queues the record in memory; the log is touched once, just before the
transaction commits (:meth:`AuditRepository.flush`, or before any read of the log in the same
transaction): the head row is locked and read (``SELECT ... FOR UPDATE``: on PostgreSQL a
waiting appender then reads the head as the previous one committed it; SQLite's write
transactions are already serial), the queued records are sealed in order (numbered and
chained from it), and the entries are inserted and the head moved. So the head's lock is held
from the flush to the commit, not for the whole transaction, and a submission's three entries
(its decision, ``job.submitted``, the hold's ``ledger.booked``) from three places cost two
round trips on PostgreSQL (the lock, then one statement inserting every entry and moving the
head) and three statements on SQLite. One repository per transaction
(:meth:`AuditRepository.bound`) is what lets the three places share one flush. No Merkle
hashing happens here: the tree is built at checkpoint time from the stored leaf hashes.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    LargeBinary,
    Select,
    TextClause,
    bindparam,
    insert,
    select,
    text,
)

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
IDS_PER_QUERY = 5000
"""Object ids bound in one query (SQLite allows 32,766 parameters)."""

# The append path's statements, built once: building and cache-keying SQLAlchemy
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


_COLUMNS = ("seq", "hash", "prev_hash", "body", "time", "action", "actor_id", "object_type",
            "object_id", "org_id")
_ONE_STATEMENT_MAX = 32
"""On PostgreSQL, up to this many entries are written with the head's move in one statement
(one round trip); a larger flush (a batch of deferred decisions) uses two."""


@cache
def _insert_and_move(n: int) -> TextClause:
    """``WITH moved AS (UPDATE audit_head ...) INSERT INTO audit_entries ... VALUES`` for
    ``n`` entries (PostgreSQL: a data-modifying CTE runs whether or not it is referenced)."""
    rows = ", ".join("(" + ", ".join(f":{k}_{i}" for k in _COLUMNS) + ")" for i in range(n))
    stmt = text(
        "WITH moved AS (UPDATE audit_head SET seq = :head_seq, hash = :head_hash WHERE id = 1) "
        f"INSERT INTO audit_entries ({', '.join(_COLUMNS)}) VALUES {rows}")
    typed: list[BindParameter[Any]] = [bindparam("head_hash", type_=LargeBinary)]
    for i in range(n):
        typed += [bindparam(f"hash_{i}", type_=LargeBinary),
                  bindparam(f"prev_hash_{i}", type_=LargeBinary),
                  bindparam(f"body_{i}", type_=LargeBinary),
                  bindparam(f"time_{i}", type_=UtcDateTime())]
    return stmt.bindparams(*typed)


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
        self._queued: list[AuditRecord] = []

    @classmethod
    def bound(cls, conn: Connection) -> AuditRepository:
        """The repository of the transaction on ``conn`` (every caller shares its queue and
        its one flush)."""
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
    def append(self, record: AuditRecord) -> None:
        """Queue ``record`` as the log's next entry, in the caller's transaction (it is
        sealed and written when the transaction flushes: it commits or rolls back with the
        change it records)."""
        self._queued.append(record)

    def append_all(self, records: Iterable[AuditRecord]) -> None:
        """Queue several records, in order (:meth:`append`)."""
        self._queued.extend(records)

    def flush(self) -> list[StoredEntry]:
        """Seal the queued records after the head (locked) and write them; returns them."""
        if not self._queued:
            return []
        # SQLite has no FOR UPDATE: its write transactions already hold the database lock.
        postgres = self.conn.dialect.name != "sqlite"
        head = self.conn.execute(_LOCK_HEAD if postgres else _READ_HEAD).one()
        seq, prev = int(head.seq), bytes(head.hash)
        sealed: list[StoredEntry] = []
        for record in self._queued:
            seq += 1
            entry = seal(record, seq, prev)
            sealed.append(entry)
            prev = entry.hash
        self._queued = []
        if postgres and len(sealed) <= _ONE_STATEMENT_MAX:
            values = {"head_seq": seq, "head_hash": prev}
            for i, x in enumerate(sealed):
                values.update({f"{k}_{i}": v for k, v in _values(x).items()})
            self.conn.execute(_insert_and_move(len(sealed)), values)
        else:
            self.conn.execute(_INSERT, [_values(x) for x in sealed])
            self.conn.execute(_MOVE_HEAD, {"seq": seq, "hash": prev})
        return sealed

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

    def search_objects(self, action: str, object_type: str, object_ids: Collection[str]
                       ) -> list[StoredEntry]:
        """Entries of one action about any of these objects, in sequence order, found
        through the object index (one query per :data:`IDS_PER_QUERY` ids)."""
        self.flush()
        ids = sorted(set(object_ids))
        found: list[StoredEntry] = []
        for at in range(0, len(ids), IDS_PER_QUERY):
            stmt = select(e).where(e.c.object_type == object_type,
                                   e.c.object_id.in_(ids[at:at + IDS_PER_QUERY]),
                                   e.c.action == action)
            found.extend(_entry(x) for x in self.conn.execute(stmt))
        return sorted(found, key=lambda x: x.seq)

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
