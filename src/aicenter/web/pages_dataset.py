"""Datasets in the browser: the exchange's catalogue, one dataset with its statistics and its
PII, TDM and deduplication reports (masked samples only for those the service shows them to),
its offers and the metered reads of it, who read a provider's datasets under which agreement
(``/dataset-reads``), and the provider's action of offering a dataset on terms (uploads are
in :mod:`aicenter.web.pages_upload`). The offer form is validated by the API's own request
model (``OfferIn``) and calls the service ``POST /datasets/{id}/offers`` calls."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from aicenter.api.schemas import OfferIn
from aicenter.domain.dataset import DatasetRead, Usage
from aicenter.domain.errors import AicenterError, InputError
from aicenter.domain.licence import ModelRelease, OutputPolicy, Purpose
from aicenter.services import dataset as dataset_svc
from aicenter.services import licence as licence_svc
from aicenter.services import org as org_svc
from aicenter.services.context import Caller
from aicenter.web.dataset_reports import reports_of
from aicenter.web.page_kit import done, form_of, paginate, render, text, texts
from aicenter.web.session import context_of, page_caller, page_errors

router = APIRouter(include_in_schema=False)


def _datasets_page(request: Request, who: Caller, number: int | None) -> HTMLResponse:
    ctx = context_of(request)
    with page_errors():
        datasets = sorted(dataset_svc.list_datasets(ctx, who),
                          key=lambda d: (d.name, d.created_at))
        page = paginate(datasets, number)
        ids = {d.provider_org_id for d in page.items}
        names = {o.id: o.name for o in org_svc.list_orgs(ctx, who, ids=ids)} if ids else {}
    return render(request, "datasets.html", who, page=page, names=names)


@router.get("/datasets")
def datasets(request: Request, page: Annotated[int | None, Query(ge=1)] = None
             ) -> HTMLResponse:
    return _datasets_page(request, page_caller(request), page)


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
                  now=now, reads=reads, provides=provides, reports=reports_of(dataset),
                  orgs=orgs, today=today,
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


@dataclass(frozen=True, slots=True)
class ReadGroup:
    """What one organisation's jobs read of one dataset under one agreement."""

    dataset_id: str
    org_id: str
    agreement_id: str
    jobs: tuple[str, ...]
    usage: Usage
    last_read: datetime


def group_reads(reads: Iterable[DatasetRead]) -> list[ReadGroup]:
    """Metered reads summed per (dataset, organisation, agreement), by dataset, then the
    most recently read first."""
    groups: dict[tuple[str, str, str], list[DatasetRead]] = defaultdict(list)
    for r in reads:
        groups[(r.dataset_id, r.org_id, r.agreement_id)].append(r)
    rows = [ReadGroup(d, o, a, tuple(sorted({r.job_id for r in rs})),
                      sum((r.usage for r in rs), Usage()), max(r.updated_at for r in rs))
            for (d, o, a), rs in groups.items()]
    rows.sort(key=lambda g: (g.dataset_id, -g.last_read.timestamp(), g.org_id))
    return rows


@router.get("/dataset-reads")
def dataset_reads(request: Request, page: Annotated[int | None, Query(ge=1)] = None,
                  dataset: Annotated[str | None, Query(max_length=200)] = None
                  ) -> HTMLResponse:
    """Who read the caller's organisation's datasets (every dataset's, for operators and
    auditors), how much, under which agreement: the metered reads of ``GET /dataset-reads``
    summed per dataset, organisation and agreement."""
    who = page_caller(request)
    ctx = context_of(request)
    with page_errors():
        provided = dataset_svc.list_datasets(ctx, who, None if who.sees_all else who.org_id)
        reads = dataset_svc.usage(ctx, who)
        agreements = {a.id: a for a in licence_svc.list_agreements(ctx, who)}
    ids = {d.id for d in provided if dataset is None or d.id == dataset}
    mine = [r for r in reads if r.dataset_id in ids]
    totals: dict[str, Usage] = defaultdict(Usage)
    readers: dict[str, set[str]] = defaultdict(set)
    for r in mine:
        totals[r.dataset_id] += r.usage
        readers[r.dataset_id].add(r.org_id)
    return render(request, "dataset_reads.html", who, page=paginate(group_reads(mine), page),
                  datasets=sorted((d for d in provided if d.id in ids), key=lambda d: d.name),
                  totals=totals, readers=readers, agreements=agreements, dataset=dataset)
