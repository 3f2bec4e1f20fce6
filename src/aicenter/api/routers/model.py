"""/api/v1/models: model versions registered from jobs' declared outputs and their signed
provenance cards (read by whoever may read the job that produced them), verification of the
registry's copy, and the public keys a tenant checks a downloaded copy with."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from aicenter.api.deps import Ctx, Who
from aicenter.api.schemas import (
    ModelCardOut,
    ModelFileOut,
    ModelVerifyOut,
    ModelVersionOut,
    SigningKeyOut,
)
from aicenter.domain.model import ModelVersion, render_card
from aicenter.services import model as svc

router = APIRouter(tags=["models"])


def _out(m: ModelVersion) -> ModelVersionOut:
    return ModelVersionOut(
        id=m.id, org_id=m.org_id, job_id=m.job_id, name=m.name, version=m.version,
        registered_at=m.registered_at, size=m.size, lineage=m.lineage,
        files=[ModelFileOut(path=f.path, sha256=f.sha256, size=f.size) for f in m.files])


@router.get("/models")
def list_models(ctx: Ctx, who: Who, org_id: Annotated[str | None, Query(max_length=40)] = None,
                name: Annotated[str | None, Query(max_length=200)] = None
                ) -> list[ModelVersionOut]:
    """Model versions of the caller's organisation (any, for operators and auditors)."""
    return [_out(m) for m in svc.list_models(ctx, who, org_id=org_id, name=name)]


@router.get("/models/keys")
def signing_keys(ctx: Ctx, who: Who) -> list[SigningKeyOut]:
    """Every public key the center has signed cards with (any authenticated caller)."""
    return [SigningKeyOut(key_id=k, public_key=raw.hex())
            for k, raw in svc.signing_keys(ctx).items()]


@router.get("/models/{model_id}")
def get_model(model_id: str, ctx: Ctx, who: Who) -> ModelVersionOut:
    return _out(svc.get_model(ctx, who, model_id))


@router.get("/models/{model_id}/card")
def card(model_id: str, ctx: Ctx, who: Who) -> ModelCardOut:
    """The signed card (DSSE envelope) and the Hugging Face model card rendered from it."""
    m = svc.get_model(ctx, who, model_id)
    return ModelCardOut(model_id=m.id, envelope=m.envelope, markdown=render_card(m.envelope))


@router.get("/models/{model_id}/verify")
def verify(model_id: str, ctx: Ctx, who: Who) -> ModelVerifyOut:
    """Check the registry's copy of the files and the card's signature."""
    result = svc.verify(ctx, who, model_id)
    c = result.check
    return ModelVerifyOut(model_id=result.model.id, ok=c.ok, key_id=c.key_id,
                          files_checked=c.files_checked, problems=list(c.problems))
