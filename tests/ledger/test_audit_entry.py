"""Canonical entries: one encoding per entry, round trips, refusals, chaining."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from aicenter.ledger.audit import (
    GENESIS,
    Actor,
    ActorKind,
    AuditRecord,
    Decision,
    Effect,
    EncodingError,
    decode,
    leaf_hash,
    seal,
)

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def record(**kw: object) -> AuditRecord:
    values: dict[str, object] = {
        "time": T0, "actor": Actor(ActorKind.PERSON, "usr_1"), "action": "job.submitted",
        "object_type": "job", "object_id": "job_1", "org_id": "org_1",
        "payload": {"chips": 8, "name": "모델 학습", "cost": "12.5"}}
    values.update(kw)
    return AuditRecord(**values)  # type: ignore[arg-type]


def test_the_encoding_is_canonical_and_round_trips() -> None:
    e = seal(record(), 1, GENESIS)
    assert e.body.startswith(b'{"action":"job.submitted","actor":{"id":"usr_1"')
    assert b" " not in e.body.replace("모델 학습".encode(), b"")
    assert "모델 학습".encode() in e.body  # UTF-8, not \\u escapes
    assert e.hash == leaf_hash(e.body)
    back = decode(e.body)
    assert back.seq == 1 and back.prev_hash == GENESIS and back.record == record()
    # Key order of the payload does not change the bytes.
    assert seal(record(payload={"name": "모델 학습", "cost": "12.5", "chips": 8}), 1,
                GENESIS).body == e.body


def test_decisions_carry_effect_and_policy() -> None:
    r = record(action="authz.denied", decision=Decision(Effect.DENY, "policy3"))
    e = decode(seal(r, 7, b"\x01" * 32).body)
    assert e.record.decision == Decision(Effect.DENY, "policy3")


@pytest.mark.parametrize("payload", [{"x": 1.5}, {"x": Decimal("1")}, {"x": 2**60},
                                     {1: "a"}, {"x": float("nan")}])
def test_values_without_one_encoding_are_refused(payload: dict[object, object]) -> None:
    with pytest.raises(EncodingError):
        seal(record(payload=payload), 1, GENESIS)


def test_non_canonical_or_malformed_bodies_are_refused() -> None:
    body = seal(record(), 1, GENESIS).body
    with pytest.raises(EncodingError, match="canonical"):
        decode(body.replace(b'{"action"', b'{ "action"'))
    with pytest.raises(EncodingError):
        decode(b'{"v":1}')
    with pytest.raises(EncodingError):
        decode(b"\xff")


def test_naive_times_are_refused() -> None:
    with pytest.raises(EncodingError):
        seal(record(time=datetime(2026, 1, 1)), 1, GENESIS)
