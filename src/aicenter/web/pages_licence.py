"""The exchange's licences in the browser: offers a tenant may take up (accept one for a
purpose), the provider withdrawing its own or announcing a new price ahead (the announced
prices show on the offer with the date each applies from), the agreements of both sides with
the contract document, ending one (the provider for cause, either party asking for a mutual
end) and the licensee renewing one, and the provider's monthly royalty statement (from the
ledger, with whether the audit log's rebuild matches). Each action calls the service its API
route calls (``/offers/{id}/accept``, ``/offers/{id}/withdraw``, ``/offers/{id}/price``,
``/agreements/{id}/terminate``, ``/agreements/{id}/renew``); a form's fields are validated by
the API's own request model."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from aicenter.api.schemas import PriceChangeIn, TerminateIn
from aicenter.domain.errors import AicenterError, InputError
from aicenter.services import licence as licence_svc
from aicenter.services import org as org_svc
from aicenter.services import royalty as royalty_svc
from aicenter.services.context import Caller
from aicenter.web.page_kit import done, form_of, paginate, render, text
from aicenter.web.session import context_of, page_caller, page_errors

router = APIRouter(include_in_schema=False)

PageNumber = Annotated[int | None, Query(ge=1)]
M = TypeVar("M", bound=BaseModel)


def _offers_page(request: Request, who: Caller, number: int | None, *,
                 error: AicenterError | None = None) -> HTMLResponse:
    ctx = context_of(request)
    with page_errors():
        offers = sorted(licence_svc.list_offers(ctx, who),
                        key=lambda o: (o.withdrawn_at is not None, o.dataset_name, o.id))
    now = ctx.clock.now()
    notice = ctx.settings.exchange_price_notice_days
    return render(request, "offers.html", who, error=error, page=paginate(offers, number),
                  today=now.date(), now=now, notice_days=notice,
                  earliest=now.date() + timedelta(days=notice))


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


def _validated(model: type[M], body: dict[str, object]) -> M:
    """A form as the API's request body, checked by the API's model (the field named)."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{field}: {first['msg']}", field=field) from None


@router.post("/offers/{offer_id}/price")
async def announce_price(request: Request, offer_id: str) -> Response:
    """The provider announces a new price (on the offer's basis) from a date at least the
    notice period away; agreements already made keep theirs until renewed."""
    who = page_caller(request)
    form = await form_of(request)
    try:
        change = _validated(PriceChangeIn, {
            "price": {"basis": text(form, "price_basis"), "amount": text(form, "price_amount")},
            "effective_from": text(form, "effective_from")})
        licence_svc.announce_price(context_of(request), who, offer_id,
                                   change.price.model_dump(mode="json"),
                                   change.effective_from)
    except AicenterError as exc:
        return _offers_page(request, who, None, error=exc)
    return done("/offers", "price-announced")


@router.get("/agreements")
def agreements(request: Request, page: PageNumber = None) -> HTMLResponse:
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        rows = sorted(licence_svc.list_agreements(ctx, who), key=lambda a: a.accepted_at,
                      reverse=True)
    return render(request, "agreements.html", who, page=paginate(rows, page),
                  now=ctx.clock.now())


def _agreement_page(request: Request, who: Caller, agreement_id: str, *,
                    error: AicenterError | None = None) -> HTMLResponse:
    ctx = context_of(request)
    with page_errors():
        agreement = licence_svc.get_agreement(ctx, who, agreement_id)
        document = licence_svc.contract(ctx, who, agreement_id)
        offers = licence_svc.list_offers(ctx, who, agreement.dataset_id)
    offer = next((o for o in offers if o.id == agreement.offer.id), None)
    now = ctx.clock.now()
    return render(request, "agreement.html", who, error=error, agreement=agreement,
                  contract=document.to_markdown(), now=now,
                  offer_withdrawn=offer is None or offer.withdrawn_at is not None,
                  renewal_price=offer.price_at(now) if offer is not None else None,
                  licensee=who.org_id == agreement.org_id,
                  provider=who.org_id == agreement.provider_id)


@router.get("/agreements/{agreement_id}")
def agreement_page(request: Request, agreement_id: str) -> HTMLResponse:
    """One agreement, its contract document (the API's Markdown, shown as text) and what
    the caller's side may do with it: end it, or renew it."""
    return _agreement_page(request, page_caller(request), agreement_id)


@router.post("/agreements/{agreement_id}/terminate")
async def terminate(request: Request, agreement_id: str) -> Response:
    """``kind`` cause (the provider, with the reason: at once) or mutual (it ends when both
    parties have asked; the first request is recorded)."""
    who = page_caller(request)
    form = await form_of(request)
    try:
        asked = _validated(TerminateIn, {"kind": text(form, "kind"),
                                         "reason": text(form, "reason", required=False)})
        agreement = licence_svc.terminate(context_of(request), who, agreement_id, asked.kind,
                                          asked.reason)
    except AicenterError as exc:
        return _agreement_page(request, who, agreement_id, error=exc)
    ended = agreement.terminated_at is not None
    return done(f"/agreements/{agreement_id}",
                "agreement-terminated" if ended else "agreement-end-asked")


@router.post("/agreements/{agreement_id}/renew")
async def renew(request: Request, agreement_id: str) -> Response:
    """The licensee renews: a new agreement from now under the offer's current price."""
    who = page_caller(request)
    await form_of(request)
    try:
        renewal = licence_svc.renew(context_of(request), who, agreement_id)
    except AicenterError as exc:
        return _agreement_page(request, who, agreement_id, error=exc)
    return done(f"/agreements/{renewal.id}", "agreement-renewed")


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
