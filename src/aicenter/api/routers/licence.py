"""/api/v1 offers, agreements (with their contract document), royalty statements and the
withheld output of jobs that read a provider's datasets."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse

from aicenter.api.deps import Ctx, Who
from aicenter.api.schemas import (
    AcceptIn,
    AgreementOut,
    Month,
    OfferIn,
    OfferOut,
    PriceChangeIn,
    RoyaltyStatementOut,
    TerminateIn,
    WithheldOut,
)
from aicenter.domain.licence import Agreement, LicenceOffer, offer_to_dict
from aicenter.domain.output_release import OutputRelease
from aicenter.services import licence as svc
from aicenter.services import output_release as release_svc
from aicenter.services import royalty as royalty_svc

router = APIRouter(tags=["licences"])


def offer_out(o: LicenceOffer) -> OfferOut:
    return OfferOut(id=o.id, provider_id=o.provider_id, dataset_id=o.dataset_id,
                    terms=offer_to_dict(o))


def agreement_out(a: Agreement) -> AgreementOut:
    return AgreementOut(id=a.id, offer_id=a.offer.id, dataset_id=a.dataset_id, org_id=a.org_id,
                        provider_id=a.provider_id, purpose=a.purpose.value,
                        accepted_at=a.accepted_at, valid_until=a.valid_until,
                        waiver_until=a.waiver_until, price_basis=a.offer.price.basis.value,
                        price_krw=str(a.offer.price.amount.amount), ends_at=a.ends_at,
                        terminated_at=a.terminated_at,
                        termination=a.termination.value if a.termination else None,
                        termination_reason=a.termination_reason,
                        end_requested_by=sorted(a.end_requested_by),
                        renewed_from=a.renewed_from, renewed_by=a.renewed_by)


@router.post("/datasets/{dataset_id}/offers", status_code=201)
def create_offer(dataset_id: str, body: OfferIn, ctx: Ctx, who: Who) -> OfferOut:
    """The dataset's provider offers it on these terms."""
    return offer_out(svc.create_offer(ctx, who, dataset_id, body.model_dump(mode="json")))


@router.get("/offers")
def list_offers(ctx: Ctx, who: Who, dataset_id: str | None = None) -> list[OfferOut]:
    return [offer_out(o) for o in svc.list_offers(ctx, who, dataset_id)]


@router.post("/offers/{offer_id}/accept", status_code=201)
def accept(offer_id: str, body: AcceptIn, ctx: Ctx, who: Who) -> AgreementOut:
    """Accept an offer for one purpose: the agreement jobs are admitted under."""
    return agreement_out(svc.accept(ctx, who, offer_id, body.purpose, body.org_id))


@router.post("/offers/{offer_id}/withdraw")
def withdraw_offer(offer_id: str, ctx: Ctx, who: Who) -> OfferOut:
    """The provider withdraws its offer: no new agreement or renewal; agreements already made
    run to term. 404 for a private offer not made to you."""
    return offer_out(svc.withdraw_offer(ctx, who, offer_id))


@router.post("/offers/{offer_id}/price")
def announce_price(offer_id: str, body: PriceChangeIn, ctx: Ctx, who: Who) -> OfferOut:
    """The provider announces a new price from a date at least the notice period away; it
    applies to agreements accepted or renewed from then, existing ones keep theirs."""
    return offer_out(svc.announce_price(ctx, who, offer_id,
                                        body.price.model_dump(mode="json"),
                                        body.effective_from))


@router.post("/agreements/{agreement_id}/terminate")
def terminate_agreement(agreement_id: str, body: TerminateIn, ctx: Ctx, who: Who
                        ) -> AgreementOut:
    """End an agreement: the provider for cause, or either party asking for a mutual end
    (it ends once both have). Reads under it are refused from then."""
    return agreement_out(svc.terminate(ctx, who, agreement_id, body.kind, body.reason))


@router.post("/agreements/{agreement_id}/renew", status_code=201)
def renew_agreement(agreement_id: str, ctx: Ctx, who: Who) -> AgreementOut:
    """The licensee renews: a new agreement from now under the offer's current price. 409
    (with the reason) for a terminated agreement, a withdrawn offer, or one renewed already."""
    return agreement_out(svc.renew(ctx, who, agreement_id))


@router.get("/agreements")
def list_agreements(ctx: Ctx, who: Who) -> list[AgreementOut]:
    return [agreement_out(a) for a in svc.list_agreements(ctx, who)]


@router.get("/agreements/{agreement_id}")
def show_agreement(agreement_id: str, ctx: Ctx, who: Who) -> AgreementOut:
    return agreement_out(svc.get_agreement(ctx, who, agreement_id))


@router.get("/agreements/{agreement_id}/contract", response_model=None)
def contract(agreement_id: str, ctx: Ctx, who: Who,
             fmt: Annotated[Literal["markdown", "json"], Query(alias="format")] = "markdown"
             ) -> PlainTextResponse | dict[str, object]:
    """The agreement as a contract document (Markdown or JSON)."""
    document = svc.contract(ctx, who, agreement_id)
    if fmt == "json":
        return document.to_dict()
    return PlainTextResponse(document.to_markdown(), media_type="text/markdown")


def withheld_out(r: OutputRelease, files: dict[str, str] | None = None) -> WithheldOut:
    return WithheldOut(job_id=r.job_id, verdict=r.verdict, policy=r.policy, reason=r.reason,
                       datasets=list(r.datasets), findings=list(r.findings),
                       checked_bytes=r.checked_bytes, decided_at=r.decided_at, files=files)


@router.get("/data/withheld")
def list_withheld(ctx: Ctx, who: Who) -> list[WithheldOut]:
    """Withheld output of jobs that read your datasets (all, for operators), for review."""
    return [withheld_out(r) for r in release_svc.list_withheld(ctx, who)]


@router.get("/data/withheld/{job_id}")
def show_withheld(job_id: str, ctx: Ctx, who: Who) -> WithheldOut:
    """One job's withheld log and outputs, for the providers of what it read and operators."""
    out = release_svc.withheld_output(ctx, who, job_id)
    return withheld_out(out.release, out.files)


@router.get("/orgs/{org_id}/royalty-statements/{month}")
def royalty_statement(org_id: str, month: Annotated[Month, Path(description="YYYY-MM")],
                      ctx: Ctx, who: Who) -> RoyaltyStatementOut:
    """A provider's monthly royalty statement, from the ledger and rebuilt from the audit log."""
    pair = royalty_svc.statement(ctx, who, org_id, month)
    return RoyaltyStatementOut(provider_id=org_id, month=month, ledger=pair.ledger.to_dict(),
                               audit_log=pair.audit_log.to_dict(), matches=pair.matches)
