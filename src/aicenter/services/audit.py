"""The tamper-evident audit log (:mod:`aicenter.ledger.audit`): appending in a use case's own
transaction, signed checkpoints, verification, proofs and filtered listings.

The signing key lives under the center's home (``HOME/audit-keys``): ``signing.key`` (Ed25519,
PKCS#8 PEM, mode 0600, created on first use) and one ``<key id>.pub`` per key the center has
ever used, so checkpoints signed before a rotation still verify. Verification trusts the
public keys on disk, never the database: whoever can write the database cannot forge a
checkpoint.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from aicenter.domain.errors import InputError, NotFoundError
from aicenter.ledger.audit import (
    Actor,
    ActorKind,
    AuditEntry,
    AuditFilter,
    AuditRecord,
    Checkpoint,
    Decision,
    Effect,
    EncodingError,
    Frontier,
    StoredEntry,
    Verification,
    consistency_proof,
    decode,
    inclusion_proof,
    key_id,
    raw_public_key,
    root,
    sign_checkpoint,
    verify_log,
    verify_range,
)
from aicenter.ledger.audit.entry import GENESIS, format_time
from aicenter.ledger.audit.ledger import BOOKED, reconcile
from aicenter.policy import Resource
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.errors import ConflictError
from aicenter.storage import Tx
from aicenter.storage.repositories.audit import AuditRepository

SIGNING_KEY = "signing.key"
MAX_LIST = 10_000
"""Entries one listing returns at most (page on with ``after_seq``)."""

_LOG = Resource("AuditLog", "center")


class TamperedLogError(ConflictError):
    """The center refuses to sign a checkpoint over entries that fail their checks."""


# -- appending (for the other services, inside their transaction) --------------------------
def actor_of(caller: Caller | None) -> Actor:
    """The person behind a request, or the center itself for its own loops (caller None)."""
    if caller is None:
        return Actor(ActorKind.SYSTEM, "center")
    return Actor(ActorKind.PERSON, caller.person.id)


def append(tx: Tx, record: AuditRecord) -> None:
    """Append ``record`` in ``tx``: the entry commits, or rolls back, with the change it
    records."""
    tx.audit.append(record)


def record_change(tx: Tx, time: datetime, caller: Caller | None, action: str,
                  object_type: str, object_id: str, org_id: str | None = None,
                  payload: dict[str, Any] | None = None) -> None:
    """Append a state change (``job.submitted``, ``pool.drained``...)."""
    append(tx, AuditRecord(time, actor_of(caller), action, object_type, object_id,
                                  org_id, payload or {}))


def plain(value: Any) -> Any:
    """``value`` as canonical JSON can carry it: amounts and other decimals as strings (floats
    have no one spelling), times in RFC 3339, enums by value, sets sorted."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, (Decimal, float)):
        return str(value)
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return str(value)


def changed(ctx: ServiceContext, tx: Tx, caller: Caller | None, action: str,
            object_type: str, object_id: str, org_id: str | None = None,
            **payload: Any) -> None:
    """Record a state change in the transaction that makes it (``job.launched``...): the
    caller (None: the center's own loops), the object, its organisation and what changed.
    The authorisation decisions waiting to be logged go first, so the decision that allowed
    the change precedes it."""
    tx.carry_deferred()
    record_change(tx, ctx.clock.now(), caller, action, object_type, object_id, org_id,
                  plain(payload))


def change(ctx: ServiceContext, caller: Caller | None, action: str, object_type: str,
           object_id: str, org_id: str | None = None, **payload: Any) -> AuditRecord:
    """The record of a state change, for :func:`changed_all` (a batch of changes)."""
    return AuditRecord(ctx.clock.now(), actor_of(caller), action, object_type, object_id,
                       org_id, plain(payload))


def changed_all(tx: Tx, records: list[AuditRecord]) -> None:
    """Record several changes made in ``tx`` under one lock of the log's head."""
    tx.carry_deferred()
    if records:
        tx.audit.append_all(records)


def job_change(ctx: ServiceContext, tx: Tx, caller: Caller | None, action: str, job: Any,
               **payload: Any) -> None:
    """A job's transition (``job.launched``...), filed under the job and its organisation."""
    changed(ctx, tx, caller, action, "job", job.id, job.org_id, **payload)


def record_decision(tx: Tx, time: datetime, caller: Caller, permission: str,
                    resource: Resource, allowed: bool, policy_id: str | None) -> None:
    """Append an authorisation decision (``authz.allowed``/``authz.denied``) with the policy
    that decided."""
    effect = Effect.ALLOW if allowed else Effect.DENY
    append(tx, AuditRecord(
        time, actor_of(caller), f"authz.{'allowed' if allowed else 'denied'}", resource.type,
        resource.id, resource.org_id, {"permission": permission},
        Decision(effect, policy_id)))


# -- the center's signing key --------------------------------------------------------------
class KeyStore:
    """``HOME/audit-keys``: the current private key (0600) and every public key ever used."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def of(cls, ctx: ServiceContext) -> KeyStore:
        return cls(ctx.settings.home / "audit-keys")

    @property
    def private_path(self) -> Path:
        return self.directory / SIGNING_KEY

    def signing_key(self) -> Ed25519PrivateKey:
        """The current key; created (with its public key filed) on first use."""
        path = self.private_path
        if not path.exists():
            return self._install(Ed25519PrivateKey.generate())
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise InputError(f"{path} is readable by others (mode {mode:o}); "
                             f"chmod 600 {path}")
        key = load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise InputError(f"{path} is not an Ed25519 private key")
        return key

    def rotate(self) -> Ed25519PrivateKey:
        """A new signing key; the old public key stays filed so its checkpoints verify."""
        self.signing_key()
        return self._install(Ed25519PrivateKey.generate())

    def public_keys(self) -> dict[str, bytes]:
        """Every public key the center has signed with: key id → raw 32 bytes."""
        keys: dict[str, bytes] = {}
        if self.directory.is_dir():
            for path in sorted(self.directory.glob("*.pub")):
                raw = bytes.fromhex(path.read_text("ascii").strip())
                keys[key_id(raw)] = raw
        return keys

    def current_key_id(self) -> str:
        return key_id(raw_public_key(self.signing_key().public_key()))

    def _install(self, key: Ed25519PrivateKey) -> Ed25519PrivateKey:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        raw = raw_public_key(key.public_key())
        (self.directory / f"{key_id(raw)}.pub").write_text(raw.hex() + "\n", "ascii")
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        tmp = self.directory / f".{SIGNING_KEY}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.private_path)
        return key


def ensure_key(ctx: ServiceContext) -> str:
    """Create the signing key if there is none (at the server's start); its key id."""
    return KeyStore.of(ctx).current_key_id()


@dataclass(frozen=True, slots=True)
class AuditKey:
    key_id: str
    public_key: bytes
    current: bool


def rotate_key(ctx: ServiceContext, caller: Caller) -> AuditKey:
    """A new signing key (operators). Old checkpoints keep verifying with the old public key,
    which stays filed."""
    caller.check(ctx, "audit:checkpoint", _LOG)
    raw = raw_public_key(KeyStore.of(ctx).rotate().public_key())
    return AuditKey(key_id(raw), raw, True)


def public_keys(ctx: ServiceContext, caller: Caller) -> list[AuditKey]:
    """Every public key the center has signed checkpoints with (operators, auditors): what an
    auditor pins to check checkpoints away from the center."""
    caller.check(ctx, "audit:read", _LOG)
    store = KeyStore.of(ctx)
    current = store.current_key_id()
    return [AuditKey(kid, raw, kid == current) for kid, raw in store.public_keys().items()]


# -- checkpoints ---------------------------------------------------------------------------
def checkpoint_now(ctx: ServiceContext) -> Checkpoint | None:
    """Sign the tree of every entry committed so far (None if nothing was appended since the
    last checkpoint). Only the entries since the last checkpoint are read and hashed, and
    they are checked first: the center never signs entries that fail their checks."""
    key = KeyStore.of(ctx).signing_key()
    # Not carrying the waiting decisions (this request's among them): a checkpoint signs what
    # is committed, and asking twice finds nothing new.
    with ctx.db.transaction(carry_audit=False) as tx:
        repo = tx.audit
        size = repo.head().seq
        latest = repo.latest_checkpoint()
        frontier = latest[1] if latest is not None else Frontier()
        if size <= frontier.size:
            return None
        prev = GENESIS
        if frontier.size:
            before = repo.get(frontier.size)
            if before is None:
                raise TamperedLogError(f"entry {frontier.size}, the last checkpointed, "
                                       "is missing: run 'aicenter audit verify'")
            prev = before.hash
        new = list(repo.stream(frontier.size + 1, size))
        findings = verify_range(new, prev, frontier.size + 1)
        if findings or len(new) != size - frontier.size:
            first = findings[0] if findings else f"entries up to {size} missing"
            raise TamperedLogError(f"not signing the log: {first}")
        for entry in new:
            frontier.append(entry.hash)
        cp = sign_checkpoint(key, size, frontier.root(), ctx.clock.now())
        repo.add_checkpoint(cp, frontier)
    return cp


class PeriodicCheckpoint:
    """The scheduling loop's share of the log: every ``audit_checkpoint_interval_s`` (the
    first one interval after start) it writes the decisions still waiting (those of read
    requests that no write has carried yet) and signs a checkpoint; :meth:`final` does the
    same on a clean shutdown."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.last = ctx.clock.now()
        self.signed = 0

    def tick(self) -> Checkpoint | None:
        now = self.ctx.clock.now()
        if (now - self.last).total_seconds() < self.ctx.settings.audit_checkpoint_interval_s:
            return None
        self.last = now
        return self._sign()

    def final(self) -> Checkpoint | None:
        return self._sign()

    def _sign(self) -> Checkpoint | None:
        self.ctx.db.flush_audit()
        cp = checkpoint_now(self.ctx)
        self.signed += cp is not None
        return cp


def checkpoint(ctx: ServiceContext, caller: Caller) -> Checkpoint | None:
    """Sign a checkpoint now (operators)."""
    caller.check(ctx, "audit:checkpoint", _LOG)
    return checkpoint_now(ctx)


def list_checkpoints(ctx: ServiceContext, caller: Caller) -> list[Checkpoint]:
    caller.check(ctx, "audit:read", _LOG)
    with ctx.db.transaction(write=False) as tx:
        return tx.audit.checkpoints()


# -- verification and proofs ---------------------------------------------------------------
def verify(ctx: ServiceContext, caller: Caller) -> Verification:
    """Check the whole log against its checkpoints and the center's public keys, and the
    credit ledger's tables against the log's ledger entries (operators, auditors)."""
    caller.check(ctx, "audit:read", _LOG)
    keys = KeyStore.of(ctx).public_keys()
    with ctx.db.transaction(write=False) as tx:
        repo = tx.audit
        head = repo.head()
        result = verify_log(repo.stream(1, head.seq), repo.checkpoints(), keys, head)
        for finding in reconcile(_decoded(repo.search(AuditFilter(action=BOOKED)), skip=True),
                                 tx.ledger.stream_postings(), tx.ledger.running_balances()):
            result.add(finding)
        return result


@dataclass(frozen=True, slots=True)
class InclusionProof:
    seq: int
    size: int
    body: bytes
    """The entry as stored: a checker hashes it itself rather than trust ``leaf_hash``."""
    leaf_hash: bytes
    root: bytes
    path: list[bytes]
    checkpoint: Checkpoint | None
    """The signed checkpoint of ``size``, when there is one."""


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    first: int
    second: int
    first_root: bytes
    second_root: bytes
    path: list[bytes]
    checkpoints: tuple[Checkpoint | None, Checkpoint | None]


def _size(repo: AuditRepository, size: int | None) -> int:
    """``size``, or the latest checkpoint's; refused beyond the log's head."""
    if size is None:
        latest = repo.latest_checkpoint()
        if latest is None:
            raise NotFoundError("no checkpoint yet: run 'aicenter audit checkpoint'")
        return latest[0].size
    head = repo.head().seq
    if not 0 <= size <= head:
        raise InputError(f"size {size} is beyond the log's {head} entries", field="size")
    return size


def inclusion(ctx: ServiceContext, caller: Caller, seq: int, size: int | None = None
              ) -> InclusionProof:
    """The proof that entry ``seq`` is leaf ``seq - 1`` of the tree of ``size`` entries
    (default: the latest checkpoint), computed from the stored leaf hashes."""
    caller.check(ctx, "audit:read", _LOG)
    with ctx.db.transaction(write=False) as tx:
        repo = tx.audit
        n = _size(repo, size)
        if not 1 <= seq <= n:
            raise InputError(f"entry {seq} is not in a tree of {n} entries", field="seq")
        leaves = repo.leaf_hashes(n)
        cp = repo.checkpoint(n)
        entry = repo.get(seq)
    if entry is None or len(leaves) != n:
        raise TamperedLogError(f"entries of the tree of {n} are missing: run 'aicenter audit "
                               "verify'")
    return InclusionProof(seq, n, entry.body, leaves[seq - 1], root(leaves),
                          inclusion_proof(seq - 1, leaves), cp)


def consistency(ctx: ServiceContext, caller: Caller, first: int, second: int | None = None
                ) -> ConsistencyProof:
    """The proof that the tree of ``first`` entries is a prefix of the tree of ``second``
    (default: the latest checkpoint)."""
    caller.check(ctx, "audit:read", _LOG)
    with ctx.db.transaction(write=False) as tx:
        repo = tx.audit
        n = _size(repo, second)
        if not 0 <= first <= n:
            raise InputError(f"size {first} is not within 0..{n}", field="first")
        leaves = repo.leaf_hashes(n)
        cps = (repo.checkpoint(first), repo.checkpoint(n))
    if len(leaves) != n:
        raise TamperedLogError(f"entries of the tree of {n} are missing: run 'aicenter audit "
                               "verify'")
    return ConsistencyProof(first, n, root(leaves[:first]), root(leaves),
                            consistency_proof(first, leaves), cps)


# -- listing -------------------------------------------------------------------------------
def list_entries(ctx: ServiceContext, caller: Caller, f: AuditFilter) -> list[AuditEntry]:
    """Entries matching ``f`` (operators and auditors), decoded from their signed bodies."""
    caller.check(ctx, "audit:read", _LOG)
    limit = min(f.limit or MAX_LIST, MAX_LIST)
    with ctx.db.transaction(write=False) as tx:
        rows = tx.audit.search(AuditFilter(
            f.org_id, f.object_type, f.object_id, f.action, f.since, f.until, f.after_seq,
            limit))
    return list(_decoded(rows))


def _decoded(rows: list[StoredEntry], *, skip: bool = False) -> Iterator[AuditEntry]:
    """The entries of ``rows``; one that does not decode raises, or with ``skip`` (verify has
    already named it) is left out."""
    for row in rows:
        try:
            yield decode(row.body)
        except EncodingError as exc:
            if skip:
                continue
            raise TamperedLogError(f"entry {row.seq} is not a valid entry ({exc}): run "
                                   "'aicenter audit verify'") from None
