"""Engine, transactions and migrations.

SQLite runs in WAL mode with a busy timeout; a write transaction starts with ``BEGIN
IMMEDIATE`` so that its reads already hold the write lock (SQLite's equivalent of the row locks
PostgreSQL transactions take with ``SELECT ... FOR UPDATE``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.pool import NullPool

from aicenter.domain.errors import DuplicateError, StoredValueError
from aicenter.extras import require
from aicenter.ledger.audit import AuditRecord
from aicenter.storage.repositories.audit import AuditRepository
from aicenter.storage.repositories.call import CallRepository
from aicenter.storage.repositories.compliance import ComplianceRepository
from aicenter.storage.repositories.dataset import DatasetRepository
from aicenter.storage.repositories.grant import GrantRepository
from aicenter.storage.repositories.identity import IdentityRepository
from aicenter.storage.repositories.job import JobRepository
from aicenter.storage.repositories.ledger import LedgerRepository
from aicenter.storage.repositories.licence import LicenceRepository
from aicenter.storage.repositories.model import ModelRepository
from aicenter.storage.repositories.org import OrgRepository
from aicenter.storage.repositories.output_release import OutputReleaseRepository
from aicenter.storage.repositories.person import PersonRepository
from aicenter.storage.repositories.policy import PolicyRepository
from aicenter.storage.repositories.pool import PoolRepository
from aicenter.storage.repositories.share import ShareRepository
from aicenter.storage.repositories.token import TokenRepository
from aicenter.storage.repositories.upload import UploadRepository
from aicenter.storage.repositories.usage import UsageRepository
from aicenter.storage.repositories.web_session import WebSessionRepository

MIGRATIONS = Path(__file__).parent / "migrations"
FLUSH_DEFERRED_AT = 256
"""Deferred audit records that make a transaction's end write them in one of their own."""

log = logging.getLogger("aicenter.storage")


class DeferredAudit:
    """Audit records waiting for a write transaction to carry them: authorisation decisions,
    which are taken before (or outside) the transaction of the change they allow, and those
    of read requests, which have no write transaction at all. Any write transaction that
    commits carries the waiting records into the log; one that rolls back gives them back, so
    a decision outlives the request it refused."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[AuditRecord] = []
        self._urgent = False

    def put(self, record: AuditRecord, *, urgent: bool = False) -> None:
        """Queue ``record``; ``urgent`` (a refusal): write it as soon as no transaction of
        this thread is open, instead of with the next change."""
        with self._lock:
            self._records.append(record)
            self._urgent = self._urgent or urgent

    def take(self) -> list[AuditRecord]:
        with self._lock:
            records, self._records, self._urgent = self._records, [], False
        return records

    def give_back(self, records: list[AuditRecord]) -> None:
        """Requeue records a rolled-back transaction carried, ahead of newer ones."""
        if records:
            with self._lock:
                self._records[:0] = records
                self._urgent = True

    def due(self) -> bool:
        return self._urgent or len(self._records) >= FLUSH_DEFERRED_AT

    def __len__(self) -> int:
        return len(self._records)


class Tx:
    """One database transaction with the repositories bound to it."""

    def __init__(self, conn: Connection, deferred: DeferredAudit | None = None) -> None:
        self.conn = conn
        AuditRepository.unbind(conn)  # a pooled connection: nothing of an earlier transaction
        self._deferred = deferred
        self.carried: list[AuditRecord] = []

    def carry_deferred(self) -> None:
        """Append the waiting audit records (decisions) here; done before a change's own
        entry so a decision precedes what it allowed, and again before commit."""
        if self._deferred is None or not len(self._deferred):
            return
        records = self._deferred.take()
        if records:
            self.carried.extend(records)
            self.audit.append_all(records)

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    @property
    def audit(self) -> AuditRepository:
        return AuditRepository.bound(self.conn)

    @cached_property
    def shares(self) -> ShareRepository:
        return ShareRepository(self.conn)

    @cached_property
    def policies(self) -> PolicyRepository:
        return PolicyRepository(self.conn)

    @cached_property
    def orgs(self) -> OrgRepository:
        return OrgRepository(self.conn)

    @cached_property
    def people(self) -> PersonRepository:
        return PersonRepository(self.conn)

    @cached_property
    def tokens(self) -> TokenRepository:
        return TokenRepository(self.conn)

    @cached_property
    def calls(self) -> CallRepository:
        return CallRepository(self.conn)

    @cached_property
    def grants(self) -> GrantRepository:
        return GrantRepository(self.conn)

    @cached_property
    def jobs(self) -> JobRepository:
        return JobRepository(self.conn)

    @cached_property
    def usage(self) -> UsageRepository:
        return UsageRepository(self.conn)

    @cached_property
    def ledger(self) -> LedgerRepository:
        return LedgerRepository(self.conn)

    @cached_property
    def pools(self) -> PoolRepository:
        return PoolRepository(self.conn)

    @cached_property
    def datasets(self) -> DatasetRepository:
        return DatasetRepository(self.conn)

    @cached_property
    def compliance(self) -> ComplianceRepository:
        return ComplianceRepository(self.conn)

    @cached_property
    def uploads(self) -> UploadRepository:
        return UploadRepository(self.conn)

    @cached_property
    def licences(self) -> LicenceRepository:
        return LicenceRepository(self.conn)

    @cached_property
    def output_releases(self) -> OutputReleaseRepository:
        return OutputReleaseRepository(self.conn)

    @cached_property
    def models(self) -> ModelRepository:
        return ModelRepository(self.conn)

    @cached_property
    def web_sessions(self) -> WebSessionRepository:
        return WebSessionRepository(self.conn)

    @cached_property
    def identities(self) -> IdentityRepository:
        return IdentityRepository(self.conn)


def _sqlite_engine(url: str) -> Engine:
    path = url.removeprefix("sqlite:///")
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False},
                           poolclass=NullPool if path == ":memory:" else None)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's begin event issues BEGIN itself
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")

    return engine


class Database:
    """The center's database: an engine plus read and write transactions."""

    def __init__(self, url: str, *, pool_size: int = 30, max_overflow: int | None = None,
                 connect_args: dict[str, Any] | None = None) -> None:
        self.url = url
        self.deferred_audit = DeferredAudit()
        self._thread = threading.local()
        if url.startswith("sqlite"):
            self.engine = _sqlite_engine(url)
        else:
            if make_url(url).get_driver_name() in ("psycopg", "psycopg_async"):
                require("postgres", "a PostgreSQL database")  # before SQLAlchemy imports it
            # No pre-ping: it cost one round trip per transaction (two of a submission's
            # eleven); connections are recycled instead, and a dead one fails its request once.
            # The pool keeps as many connections as the server has request threads (anyio's
            # 40 = pool_size + max_overflow): overflow connections are closed on return, and
            # under load that meant a new PostgreSQL backend per request. A server passes
            # ``max_overflow=0`` and its share of the connection budget (storage.budget).
            if max_overflow is None:
                max_overflow = max(pool_size // 3, 1)
            self.engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow,
                                        pool_recycle=300, connect_args=connect_args or {})

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, write: bool = True, carry_audit: bool = True) -> Iterator[Tx]:
        """One transaction: committed when the block ends, rolled back if it raises. A write
        transaction also carries the deferred audit records (:class:`DeferredAudit`) unless
        ``carry_audit`` is False; when the thread's outermost transaction ends and a refusal
        waits, it is written at once."""
        state = self._thread
        state.depth = getattr(state, "depth", 0) + 1
        tx: Tx | None = None
        try:
            with self.engine.connect() as conn:
                conn.info["write"] = write
                with conn.begin():
                    tx = Tx(conn, self.deferred_audit if write and carry_audit else None)
                    yield tx
                    tx.carry_deferred()
                    audit = AuditRepository.unbind(conn)
                    if audit is not None:
                        audit.flush()  # the transaction's entries, just before it commits
        except BaseException as exc:
            if tx is not None:  # its unwritten entries are dropped when the connection's
                self.deferred_audit.give_back(tx.carried)  # next transaction begins
            # Services see the store's refusals as domain errors, never the driver's.
            if isinstance(exc, IntegrityError):
                raise DuplicateError(f"a record with the same key exists: {exc.orig}") from exc
            if isinstance(exc, DataError):
                log.warning("the database refused a value: %s", exc.orig)
                raise StoredValueError(
                    "a value is out of the range the database can store") from exc
            raise
        finally:
            state.depth -= 1
            if state.depth == 0 and self.deferred_audit.due():
                self.flush_audit(quiet=True)

    def in_transaction(self) -> bool:
        """Whether this thread has a transaction open (a write now could wait on it)."""
        return getattr(self._thread, "depth", 0) > 0

    def flush_audit(self, *, quiet: bool = False) -> None:
        """Write the deferred audit records now, in a transaction of their own. ``quiet`` (at
        a transaction's end, after a refusal): a failure is logged and the records stay
        queued (they are given back) rather than replace the error the request raised."""
        state = self._thread
        if getattr(state, "flushing", False) or not len(self.deferred_audit):
            return
        state.flushing = True
        try:
            with self.transaction():
                pass  # the transaction carries them before it commits
        except Exception:
            if not quiet:
                raise
            log.warning("deferred audit records not written yet (%d waiting)",
                        len(self.deferred_audit), exc_info=True)
        finally:
            state.flushing = False

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        with self.engine.connect() as conn:
            conn.info["write"] = True
            config = alembic_config(self.url)
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()

    def connection_limit(self) -> int | None:
        """Connections the database server accepts from ordinary roles (PostgreSQL's
        ``max_connections`` less the reserved slots), or None where there is no such limit."""
        if self.dialect != "postgresql":
            return None
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT name, setting FROM pg_settings WHERE name IN ('max_connections', "
                "'superuser_reserved_connections', 'reserved_connections')").all()
        values: dict[str, int] = {str(name): int(setting) for name, setting in rows}
        reserved = values.get("superuser_reserved_connections", 0) + values.get(
            "reserved_connections", 0)
        return values["max_connections"] - reserved

    def table_names(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    def dispose(self) -> None:
        """Close the connections, first writing the audit records still waiting."""
        self.flush_audit(quiet=True)
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    """An Alembic configuration for the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
