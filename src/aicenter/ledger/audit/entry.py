"""Audit entries and their canonical encoding.

Encoding: **canonical JSON** — UTF-8, no insignificant whitespace, object keys sorted by code
point, strings as Python's ``json`` writes them with ``ensure_ascii=False``, integers only (no
floats: amounts travel as decimal strings), ``null``/``true``/``false``. One value has exactly
one encoding, so a reader re-encodes what it decoded and compares bytes: a body that is not
canonical was not written by :func:`seal`. JSON rather than CBOR because an auditor reads it
with any tool, and the subset has no float or map-order ambiguity left.

An entry commits to its predecessor (``prev``: the previous entry's leaf hash; 32 zero bytes
for the first), so a deleted or reordered entry breaks the chain at a named sequence number,
and its leaf hash ``SHA-256(0x00 || body)`` is the leaf of the log's Merkle tree
(:mod:`aicenter.ledger.audit.merkle`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from aicenter.ledger.audit.merkle import HASH_SIZE, leaf_hash

FORMAT_VERSION = 1
GENESIS = bytes(HASH_SIZE)
"""The ``prev`` of the first entry."""

MAX_SAFE_INTEGER = 2**53 - 1
"""Integers beyond this are refused: JSON readers in other languages would round them."""


class ActorKind(StrEnum):
    """Who did it: a person, an organisation, an API token, or the center itself."""

    PERSON = "person"
    ORG = "org"
    TOKEN = "token"
    SYSTEM = "system"


class Effect(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str


@dataclass(frozen=True, slots=True)
class Decision:
    """An authorisation decision: its effect and the id of the policy that decided (None when
    no policy permitted the request: Cedar's default deny)."""

    effect: Effect
    policy_id: str | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What a caller appends: everything but the sequence number and the chain link, which the
    log assigns under its lock."""

    time: datetime
    actor: Actor
    action: str
    """Dotted, past tense for state changes (``job.submitted``), ``authz.allowed`` /
    ``authz.denied`` for decisions."""
    object_type: str
    object_id: str
    org_id: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    decision: Decision | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """A sealed entry: the record, its place in the log and its link to the previous entry."""

    seq: int
    record: AuditRecord
    prev_hash: bytes


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as stored: the sequence number, the leaf hash and chain link kept beside the
    body, and the body's canonical bytes (the only part that is hashed)."""

    seq: int
    hash: bytes
    prev_hash: bytes
    body: bytes
    columns: IndexColumns | None = None
    """The searchable copies the database keeps beside the body (None: not read)."""


@dataclass(frozen=True, slots=True)
class IndexColumns:
    """Fields of the body copied into columns so the log can be filtered in SQL. They are not
    hashed; verification checks them against the body so a filter cannot be made to hide an
    entry."""

    time: datetime
    action: str
    actor_id: str
    object_type: str
    object_id: str
    org_id: str | None

    @classmethod
    def of(cls, record: AuditRecord) -> IndexColumns:
        """The copies as stored: each bounded to its column (a refused request's object id is
        whatever the caller sent, of any length or content), the body keeping the whole value."""
        return cls(record.time, bounded(record.action, 64), bounded(record.actor.id, 64),
                   bounded(record.object_type, 40), bounded(record.object_id, 80),
                   None if record.org_id is None else bounded(record.org_id, 40))


def bounded(value: str, limit: int) -> str:
    """``value`` as an index column holds it: without NUL (PostgreSQL text cannot hold one)
    and, when longer than ``limit`` characters, cut and suffixed with ``~`` and 16 hex digits of
    its SHA-256, so distinct long values stay distinct and a filter on the stored form still
    finds the entry."""
    value = value.replace("\x00", "")
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{value[:limit - 17]}~{digest}"


class EncodingError(ValueError):
    """A value that has no canonical encoding, or bytes that are not a canonical entry."""


def format_time(t: datetime) -> str:
    """RFC 3339 in UTC with microseconds: one spelling per instant."""
    if t.tzinfo is None:
        raise EncodingError("naive datetime in an audit entry")
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """The instant :func:`format_time` spelled (``2026-01-06T08:05:20.000000Z``); the
    canonical spelling is read by ``fromisoformat`` (strptime took most of a report's
    decoding), anything else as strptime reads it."""
    if len(text) == 27 and text[10] == "T" and text[19] == "." and text[26] == "Z":
        try:
            return datetime.fromisoformat(text[:26]).replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _check(value: Any, where: str) -> None:
    """Refuse what canonical JSON cannot carry exactly (floats, big ints, odd keys)."""
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise EncodingError(f"{where}: integer {value} beyond 2^53")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check(item, f"{where}[{i}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EncodingError(f"{where}: key {key!r} is not a string")
            _check(item, f"{where}.{key}")
        return
    raise EncodingError(f"{where}: {type(value).__name__} has no canonical encoding "
                        "(pass amounts as decimal strings)")


def canonical_json(value: Any) -> bytes:
    """The canonical bytes of a JSON value (see the module docstring)."""
    _check(value, "$")
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


def to_json(entry: AuditEntry) -> dict[str, Any]:
    r = entry.record
    return {
        "v": FORMAT_VERSION,
        "seq": entry.seq,
        "time": format_time(r.time),
        "actor": {"kind": r.actor.kind.value, "id": r.actor.id},
        "action": r.action,
        "object": {"type": r.object_type, "id": r.object_id},
        "org": r.org_id,
        "payload": dict(r.payload),
        "decision": None if r.decision is None else {
            "effect": r.decision.effect.value, "policy": r.decision.policy_id},
        "prev": entry.prev_hash.hex(),
    }


def encode(entry: AuditEntry) -> bytes:
    """The entry's canonical body."""
    if entry.seq < 1:
        raise EncodingError("sequence numbers start at 1")
    if len(entry.prev_hash) != HASH_SIZE:
        raise EncodingError("prev hash must be 32 bytes")
    return canonical_json(to_json(entry))


def seal(record: AuditRecord, seq: int, prev_hash: bytes) -> StoredEntry:
    """Give ``record`` its place: number it, link it to ``prev_hash``, encode and hash it."""
    body = encode(AuditEntry(seq, record, prev_hash))
    return StoredEntry(seq, leaf_hash(body), prev_hash, body, IndexColumns.of(record))


def decode(body: bytes) -> AuditEntry:
    """Parse a canonical body; :class:`EncodingError` if it is malformed or not canonical."""
    try:
        raw = json.loads(body.decode("utf-8"))
        if not isinstance(raw, dict) or raw.get("v") != FORMAT_VERSION:
            raise EncodingError("not an audit entry of format 1")
        decision = raw["decision"]
        entry = AuditEntry(
            seq=int(raw["seq"]),
            record=AuditRecord(
                time=parse_time(raw["time"]),
                actor=Actor(ActorKind(raw["actor"]["kind"]), str(raw["actor"]["id"])),
                action=str(raw["action"]),
                object_type=str(raw["object"]["type"]),
                object_id=str(raw["object"]["id"]),
                org_id=raw["org"],
                payload=raw["payload"],
                decision=None if decision is None else Decision(
                    Effect(decision["effect"]), decision["policy"]),
            ),
            prev_hash=bytes.fromhex(raw["prev"]),
        )
    except EncodingError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EncodingError(f"malformed entry: {exc}") from None
    if encode(entry) != body:
        raise EncodingError("entry is not in canonical form")
    return entry
