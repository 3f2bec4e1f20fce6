"""The audit log in the database (SQLite and PostgreSQL): appends commit with their
transaction, checkpoints are signed and batched, and every edit, deletion, reordering and
truncation made directly in the tables is found and named by ``verify``."""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest
from sqlalchemy import delete, text, update

from aicenter.ledger.audit import (
    AuditFilter,
    Problem,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from aicenter.policy import PermissionDeniedError
from aicenter.services import audit as svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.storage.tables import audit_entries, audit_head


@pytest.fixture
def operator() -> Caller:
    """An operator that is not stored: bootstrapping one would put its organisation, person
    and token in the log, and these tests number the entries they append from 1."""
    from datetime import UTC, datetime

    from aicenter.domain.person import Person, Role

    return Caller(Person("usr_op", "org_center", "Operator", "op@center.local", Role.OPERATOR,
                         datetime(2025, 1, 1, tzinfo=UTC)))


def fill(ctx: ServiceContext, n: int, *, org: str = "org_a", start: int = 0) -> None:
    for i in range(start, start + n):
        with ctx.db.transaction() as tx:
            svc.record_change(tx, ctx.clock.now(), None, "job.submitted", "job", f"job_{i}",
                              org if i % 2 == 0 else "org_b", {"i": i})
        ctx.clock.advance(1)  # type: ignore[attr-defined]


def tamper(ctx: ServiceContext, stmt) -> None:  # type: ignore[no-untyped-def]
    with ctx.db.engine.begin() as conn:
        conn.execute(stmt)


def first(ctx: ServiceContext, operator: Caller):  # type: ignore[no-untyped-def]
    result = svc.verify(ctx, operator)
    assert not result.ok
    return result.first


def test_appends_commit_with_their_transaction(ctx: ServiceContext, operator: Caller) -> None:
    fill(ctx, 3)
    with pytest.raises(RuntimeError), ctx.db.transaction() as tx:
        svc.record_change(tx, ctx.clock.now(), operator, "pool.added", "pool", "p", None)
        raise RuntimeError("the state change failed")
    fill(ctx, 1, start=3)
    entries = svc.list_entries(ctx, operator, AuditFilter(object_type="job"))
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert [e.record.object_id for e in entries] == ["job_0", "job_1", "job_2", "job_3"]
    assert svc.verify(ctx, operator).ok


def test_checkpoints_are_signed_batched_and_proofs_verify(ctx: ServiceContext,
                                                         operator: Caller) -> None:
    # The loop's checkpoints (no caller: no authorisation decision joins the log meanwhile).
    assert svc.checkpoint_now(ctx) is None  # nothing to sign yet
    fill(ctx, 5)
    cp5 = svc.checkpoint_now(ctx)
    assert cp5 is not None and cp5.size == 5
    assert svc.checkpoint_now(ctx) is None
    fill(ctx, 8, start=5)
    cp13 = svc.checkpoint_now(ctx)
    assert cp13 is not None and cp13.size == 13
    assert [c.size for c in svc.list_checkpoints(ctx, operator)] == [5, 13]
    proof = svc.inclusion(ctx, operator, 4)
    assert proof.size == 13 and proof.checkpoint == cp13 and proof.root == cp13.root
    assert verify_inclusion(3, 13, proof.leaf_hash, proof.path, cp13.root)
    assert not verify_inclusion(3, 13, leaf_hash(b"x"), proof.path, cp13.root)
    cons = svc.consistency(ctx, operator, 5)
    assert (cons.first_root, cons.second_root) == (cp5.root, cp13.root)
    assert verify_consistency(5, 13, cp5.root, cp13.root, cons.path)
    assert not verify_consistency(5, 13, cp5.root, cp13.root, cons.path[:-1])
    result = svc.verify(ctx, operator)  # the decisions of these reads wait for a write
    assert result.ok and result.entries == 13 and result.checkpoints == 2
    assert result.root == cp13.root


def test_filters(ctx: ServiceContext, operator: Caller) -> None:
    t0 = ctx.clock.now()
    fill(ctx, 6)
    got = svc.list_entries(ctx, operator, AuditFilter(org_id="org_a"))
    assert [e.record.object_id for e in got] == ["job_0", "job_2", "job_4"]
    got = svc.list_entries(ctx, operator, AuditFilter(object_type="job", object_id="job_3"))
    assert [e.seq for e in got] == [4]
    got = svc.list_entries(ctx, operator, AuditFilter(
        since=t0 + timedelta(seconds=2), until=t0 + timedelta(seconds=4)))
    assert [e.seq for e in got] == [3, 4]
    assert svc.list_entries(ctx, operator, AuditFilter(action="pool.added")) == []


def test_an_edited_body_is_named(ctx: ServiceContext, operator: Caller) -> None:
    fill(ctx, 6)
    svc.checkpoint(ctx, operator)
    tamper(ctx, text("UPDATE audit_entries SET body = :b WHERE seq = 3").bindparams(
        b=b'{"forged":true}'))
    f = first(ctx, operator)
    assert (f.seq, f.problem) == (3, Problem.EDITED)


def test_an_edit_with_a_recomputed_hash_is_named(ctx: ServiceContext, operator: Caller) -> None:
    fill(ctx, 6)
    with ctx.db.transaction(write=False) as tx:
        row = tx.conn.execute(audit_entries.select().where(audit_entries.c.seq == 2)).one()
    body = bytes(row.body).replace(b'"i":1', b'"i":9')
    tamper(ctx, update(audit_entries).where(audit_entries.c.seq == 2).values(
        body=body, hash=leaf_hash(body)))
    f = first(ctx, operator)
    assert (f.seq, f.problem) == (2, Problem.EDITED)


def test_a_searchable_column_edit_is_named(ctx: ServiceContext, operator: Caller) -> None:
    """Moving an entry to another organisation in the column would hide it from a filter."""
    fill(ctx, 4)
    tamper(ctx, update(audit_entries).where(audit_entries.c.seq == 3).values(org_id="org_z"))
    f = first(ctx, operator)
    assert (f.seq, f.problem) == (3, Problem.EDITED) and "org_id" in f.detail


def test_a_deleted_entry_is_named(ctx: ServiceContext, operator: Caller) -> None:
    fill(ctx, 6)
    svc.checkpoint(ctx, operator)
    tamper(ctx, delete(audit_entries).where(audit_entries.c.seq == 4))
    f = first(ctx, operator)
    assert (f.seq, f.problem) == (4, Problem.DELETED)


def test_reordered_entries_are_named(ctx: ServiceContext, operator: Caller) -> None:
    fill(ctx, 6)
    tamper(ctx, update(audit_entries).where(audit_entries.c.seq == 2).values(seq=-2))
    tamper(ctx, update(audit_entries).where(audit_entries.c.seq == 5).values(seq=2))
    tamper(ctx, update(audit_entries).where(audit_entries.c.seq == -2).values(seq=5))
    f = first(ctx, operator)
    assert (f.seq, f.problem) == (2, Problem.REORDERED)


def test_truncation_is_named(ctx: ServiceContext, operator: Caller) -> None:
    fill(ctx, 6)
    svc.checkpoint(ctx, operator)
    # Cut the tail and make the head agree: the signed checkpoint still counts 6 entries.
    with ctx.db.transaction(write=False) as tx:
        h4 = tx.conn.execute(audit_entries.select().where(audit_entries.c.seq == 4)).one().hash
    tamper(ctx, delete(audit_entries).where(audit_entries.c.seq > 4))
    tamper(ctx, update(audit_head).values(seq=4, hash=h4))
    f = first(ctx, operator)
    assert (f.seq, f.problem) == (5, Problem.TRUNCATED)


def test_a_forged_checkpoint_is_named(ctx: ServiceContext, operator: Caller) -> None:
    fill(ctx, 4)
    svc.checkpoint(ctx, operator)
    tamper(ctx, text("UPDATE audit_checkpoints SET root = :r").bindparams(r=bytes(32)))
    f = first(ctx, operator)
    assert f.problem is Problem.FORGED_CHECKPOINT


def test_no_checkpoint_over_a_tampered_log(ctx: ServiceContext, operator: Caller) -> None:
    fill(ctx, 4)
    tamper(ctx, delete(audit_entries).where(audit_entries.c.seq == 2))
    with pytest.raises(svc.TamperedLogError, match="entry 2"):
        svc.checkpoint(ctx, operator)


def test_the_key_is_private_and_rotation_keeps_old_checkpoints(
        ctx: ServiceContext, operator: Caller) -> None:
    fill(ctx, 3)
    cp1 = svc.checkpoint(ctx, operator)
    store = svc.KeyStore.of(ctx)
    assert stat.S_IMODE(store.private_path.stat().st_mode) == 0o600
    new_id = svc.rotate_key(ctx, operator).key_id
    assert cp1 is not None and new_id != cp1.key_id
    fill(ctx, 2, start=3)
    cp2 = svc.checkpoint(ctx, operator)
    assert cp2 is not None and cp2.key_id == new_id
    keys = svc.public_keys(ctx, operator)
    assert {k.key_id for k in keys} == {cp1.key_id, new_id}
    assert [k.key_id for k in keys if k.current] == [new_id]
    assert stat.S_IMODE(store.private_path.stat().st_mode) == 0o600
    assert svc.verify(ctx, operator).ok
    os.chmod(store.private_path, 0o644)
    with pytest.raises(Exception, match="chmod 600"):
        svc.checkpoint(ctx, operator)


def test_only_operators_and_auditors_read_the_log(ctx: ServiceContext, operator: Caller) -> None:
    from aicenter.domain.org import OrgClass
    from aicenter.domain.person import Role
    from aicenter.services import org as org_svc

    org = org_svc.create_org(ctx, operator, "Lab", OrgClass("university"))
    member = Caller(org_svc.add_person(ctx, operator, org.id, "M", "m@x.kr", Role.MEMBER))
    with pytest.raises(PermissionDeniedError):
        svc.list_entries(ctx, member, AuditFilter())
    with pytest.raises(PermissionDeniedError):
        svc.verify(ctx, member)
    with pytest.raises(PermissionDeniedError):
        svc.checkpoint(ctx, member)


def test_a_callers_absurd_object_id_is_logged_and_breaks_nothing(
        ctx: ServiceContext, operator: Caller) -> None:
    """Found by schemathesis: a refused or allowed request's decision names whatever id the
    caller sent (any length, NUL, astral characters); its index copies are bounded so the
    write that carries it succeeds on PostgreSQL, the body keeps the whole id, and the log
    still verifies."""
    from aicenter.policy import Resource

    absurd = "t\U000224dd@\x00\U00106da1" * 60
    with ctx.db.transaction() as tx:
        svc.record_decision(tx, ctx.clock.now(), operator, "pool:read",
                                     Resource("Pool", absurd, "org_" + "x" * 90), True, "p")
    fill(ctx, 1)  # the next write goes through
    assert svc.verify(ctx, operator).ok
    entries = svc.list_entries(ctx, operator, AuditFilter(object_type="Pool"))
    assert [e.record.object_id for e in entries] == [absurd]
