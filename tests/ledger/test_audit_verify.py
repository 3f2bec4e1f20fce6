"""verify_log on in-memory logs: every kind of tampering is named at the right entry; key
rotation keeps old checkpoints verifiable."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aicenter.ledger.audit import (
    GENESIS,
    Actor,
    ActorKind,
    AuditRecord,
    Checkpoint,
    Frontier,
    Head,
    Problem,
    StoredEntry,
    key_id,
    raw_public_key,
    seal,
    sign_checkpoint,
    verify_log,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def build(n: int) -> list[StoredEntry]:
    out: list[StoredEntry] = []
    prev = GENESIS
    for i in range(1, n + 1):
        e = seal(AuditRecord(T0 + timedelta(seconds=i), Actor(ActorKind.SYSTEM, "center"),
                             "job.started", "job", f"job_{i}", "org_a", {"i": i}), i, prev)
        out.append(e)
        prev = e.hash
    return out


def sign_at(key: Ed25519PrivateKey, log: list[StoredEntry], size: int) -> Checkpoint:
    f = Frontier()
    for e in log[:size]:
        f.append(e.hash)
    return sign_checkpoint(key, size, f.root(), T0 + timedelta(hours=size))


def keys(*ks: Ed25519PrivateKey) -> dict[str, bytes]:
    return {key_id(raw_public_key(k.public_key())): raw_public_key(k.public_key()) for k in ks}


KEY = Ed25519PrivateKey.generate()


def check(log: list[StoredEntry], cps: list[Checkpoint], head: Head | None = None,
          ks: dict[str, bytes] | None = None):  # type: ignore[no-untyped-def]
    return verify_log(log, cps, keys(KEY) if ks is None else ks, head)


def test_an_intact_log_verifies() -> None:
    log = build(20)
    result = check(log, [sign_at(KEY, log, 7), sign_at(KEY, log, 20)], Head(20, log[-1].hash))
    assert result.ok and result.entries == 20 and result.checkpoints == 2
    assert verify_log([], [], {}).ok


def test_edited_body_is_named() -> None:
    log = build(10)
    log[4] = replace(log[4], body=log[4].body.replace(b'"i":5', b'"i":6'))
    first = check(log, [sign_at(KEY, build(10), 10)]).first
    assert first is not None and (first.seq, first.problem) == (5, Problem.EDITED)


def test_edited_and_rehashed_entry_is_named_by_the_next_link() -> None:
    log = build(10)
    body = log[4].body.replace(b'"i":5', b'"i":6')
    from aicenter.ledger.audit import leaf_hash
    log[4] = replace(log[4], body=body, hash=leaf_hash(body))
    first = check(log, []).first
    assert first is not None and (first.seq, first.problem) == (5, Problem.EDITED)


def test_deleted_entry_is_named() -> None:
    log = build(10)
    del log[3]
    first = check(log, [sign_at(KEY, build(10), 10)]).first
    assert first is not None and (first.seq, first.problem) == (4, Problem.DELETED)


def test_reordered_entries_are_named() -> None:
    log = build(10)
    a, b = log[5], log[6]
    log[5], log[6] = replace(b, seq=6), replace(a, seq=7)
    first = check(log, []).first
    assert first is not None and (first.seq, first.problem) == (6, Problem.REORDERED)


def test_truncation_is_caught_by_a_checkpoint_or_the_head() -> None:
    log = build(10)
    cp = sign_at(KEY, log, 10)
    first = check(log[:8], [cp]).first
    assert first is not None and (first.seq, first.problem) == (9, Problem.TRUNCATED)
    first = check(log[:8], [], Head(10, log[-1].hash)).first
    assert first is not None and (first.seq, first.problem) == (9, Problem.TRUNCATED)


def test_a_rebuilt_chain_is_caught_by_the_signed_root() -> None:
    original = build(10)
    cp = sign_at(KEY, original, 10)
    forged = build(10)
    body = forged[2].body.replace(b'"i":3', b'"i":33')
    # Re-chain from entry 3 on, as an attacker with write access to the database would.
    from aicenter.ledger.audit import decode
    prev = forged[1].hash
    for k in range(2, 10):
        rec = decode(body if k == 2 else forged[k].body).record
        forged[k] = seal(rec, k + 1, prev)
        prev = forged[k].hash
    first = check(forged, [sign_at(KEY, original, 4), cp]).first
    assert first is not None and first.problem is Problem.REWRITTEN and first.seq == 1


def test_forged_checkpoints_are_named() -> None:
    log = build(10)
    cp = sign_at(KEY, log, 10)
    changed = replace(cp, size=9)
    result = check(log, [changed])
    assert not result.ok and result.findings[0].problem is Problem.FORGED_CHECKPOINT
    other = Ed25519PrivateKey.generate()
    result = check(log, [sign_at(other, log, 10)])
    assert not result.ok and "unknown key" in result.findings[0].detail


def test_key_rotation_keeps_old_checkpoints_verifiable() -> None:
    log = build(10)
    new = Ed25519PrivateKey.generate()
    cps = [sign_at(KEY, log, 5), sign_at(new, log, 10)]
    assert check(log, cps, ks=keys(KEY, new)).ok
    assert not check(log, cps, ks=keys(new)).ok
