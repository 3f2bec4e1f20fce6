"""Datasets in the browser: the exchange's catalogue, one dataset with its statistics and its
PII, TDM and deduplication reports (masked samples only for those the service shows them to),
its offers and the metered reads of it, the provider's uploads with their ingest state, and the
provider's action of offering a dataset on terms. The offer form is validated by the API's own
request model (``OfferIn``) and calls the service ``POST /datasets/{id}/offers`` calls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from aicenter.api.schemas import OfferIn
from aicenter.domain.errors import AicenterError, InputError
from aicenter.domain.licence import ModelRelease, OutputPolicy, Purpose
from aicenter.services import dataset as dataset_svc
from aicenter.services import licence as licence_svc
from aicenter.services import org as org_svc
from aicenter.services import upload as upload_svc
from aicenter.services.context import Caller
from aicenter.web.page_kit import done, form_of, paginate, render, text, texts
from aicenter.web.session import context_of, page_caller, page_errors

router = APIRouter(include_in_schema=False)


def _datasets_page(request: Request, who: Caller, number: int | None) -> HTMLResponse:
    ctx = context_of(request)
    with page_errors():
        datasets = sorted(dataset_svc.list_datasets(ctx, who),
                          key=lambda d: (d.name, d.created_at))
        names = {o.id: o.name for o in org_svc.list_orgs(ctx, who)}
    return render(request, "datasets.html", who, page=paginate(datasets, number),
                  names=names)


@router.get("/datasets")
def datasets(request: Request, page: Annotated[int | None, Query(ge=1)] = None
             ) -> HTMLResponse:
    return _datasets_page(request, page_caller(request), page)


@router.get("/uploads")
def uploads(request: Request, page: Annotated[int | None, Query(ge=1)] = None
            ) -> HTMLResponse:
    """The provider's uploads, newest first, with their ingest state and message; a page
    with one still ingesting refreshes itself (htmx) until none is."""
    who = page_caller(request)
    with page_errors():
        rows = sorted(upload_svc.list_uploads(context_of(request), who),
                      key=lambda u: u.created_at, reverse=True)
    busy = any(u.finished_at is None for u in rows)
    return render(request, "uploads.html", who, page=paginate(rows, page), busy=busy)


def _report_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """A nested report as (dotted key, value) rows, lists of scalars joined."""
    rows: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key in sorted(value):
                walk(f"{prefix}.{key}" if prefix else str(key), value[key])
        elif isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
            rows.append((prefix, ", ".join(str(v) for v in value)))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(f"{prefix}[{i}]", item)
        else:
            rows.append((prefix, str(value)))

    walk("", report)
    return rows


def _dataset_page(request: Request, who: Caller, dataset_id: str, *,
                  error: AicenterError | None = None, form: dict[str, list[str]] | None = None
                  ) -> HTMLResponse:
    ctx = context_of(request)
    with page_errors():
        dataset = dataset_svc.get_dataset(ctx, who, dataset_id)
        offers = licence_svc.list_offers(ctx, who, dataset_id)
        reads = dataset_svc.usage(ctx, who, dataset_id=dataset_id)
        orgs = org_svc.list_orgs(ctx, who)
    provides = who.org_id == dataset.provider_org_id
    now = ctx.clock.now()
    today = now.date()
    return render(request, "dataset.html", who, error=error, dataset=dataset, offers=offers,
                  now=now,
                  reads=reads, provides=provides, stats=_report_rows(dataset.stats),
                  pii=_report_rows(dataset.pii_report), orgs=orgs, today=today,
                  purposes=list(Purpose), releases=list(ModelRelease),
                  output_policies=list(OutputPolicy), form=form or {})


@router.get("/datasets/{dataset_id}")
def dataset_page(request: Request, dataset_id: str) -> HTMLResponse:
    return _dataset_page(request, page_caller(request), dataset_id)


def offer_terms(form: dict[str, list[str]]) -> dict[str, Any]:
    """The offer form as the API's request body, validated by the API's model."""
    body: dict[str, Any] = {
        "purposes": texts(form, "purposes"), "term_start": text(form, "term_start"),
        "term_end": text(form, "term_end"),
        "territory": [t.upper() for t in text(form, "territory", required=False)
                      .replace(",", " ").split()] or ["KR"],
        "model_release": text(form, "model_release", required=False) or "internal-only",
        "price": {"basis": text(form, "price_basis"), "amount": text(form, "price_amount")},
        "attribution": text(form, "attribution", required=False),
        "exclusive": bool(texts(form, "exclusive")),
        "output_policy": text(form, "output_policy", required=False) or "withhold",
    }
    offered_to = texts(form, "offered_to")
    if offered_to:
        body["offered_to"] = offered_to
    days = text(form, "agreement_days", required=False)
    if days:
        body["agreement_days"] = days
    try:
        return OfferIn.model_validate(body).model_dump(mode="json")
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{field}: {first['msg']}", field=field) from None


@router.post("/datasets/{dataset_id}/offers")
async def create_offer(request: Request, dataset_id: str) -> Response:
    who = page_caller(request)
    form = await form_of(request)
    try:
        licence_svc.create_offer(context_of(request), who, dataset_id, offer_terms(form))
    except AicenterError as exc:
        return _dataset_page(request, who, dataset_id, error=exc, form=form)
    return done(f"/datasets/{dataset_id}", "offer-created")
