"""/api/v1/audit: the tamper-evident log — entries with filters, whole-log verification,
inclusion and consistency proofs, signed checkpoints and the center's public keys (operators
and auditors read; operators sign checkpoints and rotate the key)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from aicenter.api.deps import Ctx, Who
from aicenter.api.schemas import (
    AuditEntryOut,
    AuditFindingOut,
    AuditKeyOut,
    AuditVerifyOut,
    CheckpointOut,
    ConsistencyProofOut,
    InclusionProofOut,
)
from aicenter.domain.errors import InputError
from aicenter.ledger.audit import AuditEntry, AuditFilter, Checkpoint, Finding, to_json
from aicenter.services import audit as svc

router = APIRouter(tags=["audit"])

MAX_SEQ = 2**62


def entry_out(e: AuditEntry) -> AuditEntryOut:
    body = to_json(e)
    r = e.record
    return AuditEntryOut(
        seq=e.seq, time=body["time"], actor_kind=r.actor.kind.value, actor_id=r.actor.id,
        action=r.action, object_type=r.object_type, object_id=r.object_id, org_id=r.org_id,
        payload=dict(r.payload),
        decision=r.decision.effect.value if r.decision is not None else None,
        policy_id=r.decision.policy_id if r.decision is not None else None,
        prev_hash=e.prev_hash.hex())


def checkpoint_out(c: Checkpoint | None) -> CheckpointOut | None:
    if c is None:
        return None
    return CheckpointOut(size=c.size, root=c.root.hex(), time=c.time.isoformat(),
                         key_id=c.key_id, signature=c.signature.hex(),
                         message=c.message().decode("ascii"))


def _finding(f: Finding | None) -> AuditFindingOut | None:
    if f is None:
        return None
    return AuditFindingOut(seq=f.seq, problem=f.problem.value, detail=f.detail)


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise InputError("give a time zone (e.g. 2026-03-01T00:00:00Z)", field=name)
    return value


@router.get("/audit")
def list_entries(
    ctx: Ctx, who: Who,
    org: Annotated[str | None, Query(max_length=40, description="Organisation id")] = None,
    object_type: Annotated[str | None, Query(max_length=40)] = None,
    object_id: Annotated[str | None, Query(max_length=80)] = None,
    action: Annotated[str | None, Query(max_length=64, description="e.g. job.submitted")
                      ] = None,
    since: Annotated[datetime | None, Query(description="From this time (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="Before this time")] = None,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ, description="After this seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=svc.MAX_LIST)] = 1000,
) -> list[AuditEntryOut]:
    """Entries of the log in sequence order, filtered (operators and auditors)."""
    f = AuditFilter(org, object_type, object_id, action, _aware(since, "since"),
                    _aware(until, "until"), after, limit)
    return [entry_out(e) for e in svc.list_entries(ctx, who, f)]


@router.get("/audit/verify")
def verify(ctx: Ctx, who: Who) -> AuditVerifyOut:
    """Recompute the chain and the tree, check every checkpoint; name the first bad entry."""
    v = svc.verify(ctx, who)
    return AuditVerifyOut(ok=v.ok, entries=v.entries, checkpoints=v.checkpoints,
                          root=v.root.hex(), first=_finding(v.first),
                          findings=[x for f in v.findings if (x := _finding(f)) is not None])


@router.get("/audit/proof/inclusion")
def inclusion(ctx: Ctx, who: Who, seq: Annotated[int, Query(ge=1, le=MAX_SEQ)],
              size: Annotated[int | None, Query(ge=1, le=MAX_SEQ, description=
                                                "Tree size (default: latest checkpoint)")
                              ] = None) -> InclusionProofOut:
    """Entry ``seq``'s audit path in the tree of ``size`` entries."""
    p = svc.inclusion(ctx, who, seq, size)
    return InclusionProofOut(seq=p.seq, size=p.size,
                             body=p.body.decode("utf-8", errors="replace"),
                             leaf_hash=p.leaf_hash.hex(),
                             root=p.root.hex(), path=[h.hex() for h in p.path],
                             checkpoint=checkpoint_out(p.checkpoint))


@router.get("/audit/proof/consistency")
def consistency(ctx: Ctx, who: Who, first: Annotated[int, Query(ge=0, le=MAX_SEQ)],
                second: Annotated[int | None, Query(ge=0, le=MAX_SEQ, description=
                                                    "Default: the latest checkpoint")] = None
                ) -> ConsistencyProofOut:
    """Proof that the tree of ``first`` entries is a prefix of the tree of ``second``."""
    p = svc.consistency(ctx, who, first, second)
    return ConsistencyProofOut(first=p.first, second=p.second, first_root=p.first_root.hex(),
                               second_root=p.second_root.hex(), path=[h.hex() for h in p.path],
                               first_checkpoint=checkpoint_out(p.checkpoints[0]),
                               second_checkpoint=checkpoint_out(p.checkpoints[1]))


@router.get("/audit/checkpoints")
def list_checkpoints(ctx: Ctx, who: Who) -> list[CheckpointOut]:
    return [x for c in svc.list_checkpoints(ctx, who) if (x := checkpoint_out(c)) is not None]


@router.post("/audit/checkpoints")
def checkpoint(ctx: Ctx, who: Who) -> CheckpointOut | None:
    """Sign a checkpoint of every entry so far (operators); null if nothing is new."""
    return checkpoint_out(svc.checkpoint(ctx, who))


@router.get("/audit/keys")
def keys(ctx: Ctx, who: Who) -> list[AuditKeyOut]:
    """The public keys that sign checkpoints, old ones included."""
    return [AuditKeyOut(key_id=k.key_id, public_key=k.public_key.hex(), current=k.current)
            for k in svc.public_keys(ctx, who)]


@router.post("/audit/keys/rotate")
def rotate(ctx: Ctx, who: Who) -> AuditKeyOut:
    """A new signing key (operators); old checkpoints keep verifying with the old key."""
    key = svc.rotate_key(ctx, who)
    return AuditKeyOut(key_id=key.key_id, public_key=key.public_key.hex(), current=True)
