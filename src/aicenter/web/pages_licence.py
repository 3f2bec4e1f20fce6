"""The exchange's licences in the browser: offers a tenant may take up (accept one for a
purpose), the provider withdrawing its own, the agreements of both sides with the contract
document, and the provider's monthly royalty statement (from the ledger, with whether the
audit log's rebuild matches). Each action calls the service its API route calls
(``/offers/{id}/accept``, ``/offers/{id}/withdraw``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from aicenter.domain.errors import AicenterError
from aicenter.services import licence as licence_svc
from aicenter.services import org as org_svc
from aicenter.services import royalty as royalty_svc
from aicenter.services.context import Caller
from aicenter.web.page_kit import done, form_of, paginate, render, text
from aicenter.web.session import context_of, page_caller, page_errors

router = APIRouter(include_in_schema=False)

PageNumber = Annotated[int | None, Query(ge=1)]


def _offers_page(request: Request, who: Caller, number: int | None, *,
                 error: AicenterError | None = None) -> HTMLResponse:
    ctx = context_of(request)
    with page_errors():
        offers = sorted(licence_svc.list_offers(ctx, who),
                        key=lambda o: (o.withdrawn_at is not None, o.dataset_name, o.id))
    return render(request, "offers.html", who, error=error, page=paginate(offers, number),
                  today=ctx.clock.now().date())


@router.get("/offers")
def offers(request: Request, page: PageNumber = None) -> HTMLResponse:
    return _offers_page(request, page_caller(request), page)


@router.post("/offers/{offer_id}/accept")
async def accept(request: Request, offer_id: str) -> Response:
    """The caller's organisation accepts the offer for one of its purposes."""
    who = page_caller(request)
    form = await form_of(request)
    try:
        agreement = licence_svc.accept(context_of(request), who, offer_id,
                                       text(form, "purpose"))
    except AicenterError as exc:
        return _offers_page(request, who, None, error=exc)
    return done(f"/agreements/{agreement.id}", "offer-accepted")


@router.post("/offers/{offer_id}/withdraw")
async def withdraw(request: Request, offer_id: str) -> Response:
    who = page_caller(request)
    await form_of(request)
    try:
        licence_svc.withdraw_offer(context_of(request), who, offer_id)
    except AicenterError as exc:
        return _offers_page(request, who, None, error=exc)
    return done("/offers", "offer-withdrawn")


@router.get("/agreements")
def agreements(request: Request, page: PageNumber = None) -> HTMLResponse:
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        rows = sorted(licence_svc.list_agreements(ctx, who), key=lambda a: a.accepted_at,
                      reverse=True)
    return render(request, "agreements.html", who, page=paginate(rows, page),
                  now=ctx.clock.now())


@router.get("/agreements/{agreement_id}")
def agreement_page(request: Request, agreement_id: str) -> HTMLResponse:
    """One agreement and its contract document (the API's Markdown, shown as text)."""
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        agreement = licence_svc.get_agreement(ctx, who, agreement_id)
        document = licence_svc.contract(ctx, who, agreement_id)
    return render(request, "agreement.html", who, agreement=agreement,
                  contract=document.to_markdown(), now=ctx.clock.now())


@router.get("/royalties")
def royalties(request: Request,
              month: Annotated[str | None, Query(max_length=7)] = None,
              org_id: Annotated[str | None, Query(max_length=64)] = None) -> HTMLResponse:
    """A provider's royalty statement for a month (operators choose the provider)."""
    who = page_caller(request)
    ctx = context_of(request)
    month = month or ctx.clock.now().strftime("%Y-%m")
    provider = org_id or who.org_id
    with page_errors():
        pair = royalty_svc.statement(ctx, who, provider, month)
        orgs = org_svc.list_orgs(ctx, who) if who.sees_all else []
    return render(request, "royalties.html", who, month=month, provider=provider,
                  statement=pair.ledger, matches=pair.matches, orgs=orgs)
