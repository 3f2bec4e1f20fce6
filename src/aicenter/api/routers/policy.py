"""/api/v1/policy: the center's Cedar policies — read the text in force, list the versions,
and (operators) put a new version in force."""

from __future__ import annotations

from fastapi import APIRouter

from aicenter.api.deps import Ctx, Who
from aicenter.api.schemas import PolicyIn, PolicyOut
from aicenter.domain.policy import PolicyVersion
from aicenter.services import policy as svc

router = APIRouter(tags=["policy"])


def _out(p: PolicyVersion, *, text: bool = True) -> PolicyOut:
    return PolicyOut(version=p.version, sha256=p.sha256,
                     set_at=p.set_at.isoformat() if p.set_at else None, set_by=p.set_by,
                     text=p.text if text else None)


@router.get("/policy")
def show_policy(ctx: Ctx, who: Who) -> PolicyOut:
    """The policy text in force, its version and sha256."""
    return _out(svc.show(ctx, who))


@router.get("/policy/versions")
def list_policy_versions(ctx: Ctx, who: Who) -> list[PolicyOut]:
    """Every version (0: the packaged policies), oldest first, without their texts."""
    return [_out(p, text=False) for p in svc.versions(ctx, who)]


@router.put("/policy")
def set_policy(body: PolicyIn, ctx: Ctx, who: Who) -> PolicyOut:
    """Put a new policy text in force (operators); 422 naming the policy and line of each
    problem if it does not validate against the schema."""
    return _out(svc.set_policy(ctx, who, body.text))
