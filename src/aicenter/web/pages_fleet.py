"""Fleet and proposal scoring and the procurement optimiser in the browser.

``/fleet``: a fleet or proposal YAML, pasted or read from a file (``static/yaml-file.js``
puts a chosen file's text in the text area: the form stays URL-encoded, no multipart), scored
with a rubric preset or a pasted rubric; the per-criterion table (points, maximum, why).
Several proposals separated by ``---`` lines are scored together and ranked, as ``aicenter
proposals rank`` does with several files. Lines in a message are lines of the text area:
each document is read at its own place in the text.

``/procurement``: the offers YAML, budget, power cap and an optional rubric with a minimum
score; the chosen purchase as a table, its totals and the rubric's breakdown of it.

Nothing changes, so the answers are rendered at once (no redirect) and a reload only asks
again. Each calls the service function its API route calls (``POST /fleet/score``,
``/proposals/score``, ``/procurement``, ``GET /fleet/rubrics``)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from aicenter.domain.errors import AicenterError, InputError
from aicenter.services import fleet as fleet_svc
from aicenter.services.context import Caller
from aicenter.web.page_kit import decimal, form_of, optional, render, status_of, text
from aicenter.web.session import context_of, page_caller, page_errors

router = APIRouter(include_in_schema=False)

DEFAULT_RUBRIC = "korea-nacc-2025"
SEPARATOR = re.compile(r"^---[ \t]*(#.*)?$")


def documents(text_: str) -> list[str]:
    """The YAML documents of ``text_`` split at ``---`` lines, each padded with empty lines
    so that its line numbers are those of the whole text (a message names the line the
    person sees); empty documents are left out."""
    found: list[str] = []
    start, lines = 0, text_.splitlines()
    for i, line in enumerate([*lines, "---"]):
        if SEPARATOR.match(line):
            body = "\n".join(lines[start:i])
            if body.strip():
                found.append("\n" * start + body + "\n")
            start = i + 1
    return found


def raw(form: dict[str, list[str]], name: str) -> str:
    """A text area's value as sent (not stripped: its first line's indentation and its line
    numbers are the person's)."""
    return (form.get(name) or [""])[0]


def _rubric_choice(form: dict[str, list[str]]) -> fleet_svc.RubricChoice | None:
    """The pasted rubric when given, else the chosen preset (None: the form chose none)."""
    pasted = raw(form, "rubric_yaml")
    if pasted.strip():
        return fleet_svc.RubricChoice(text=fleet_svc.YamlText("rubric.yaml", pasted))
    preset = text(form, "rubric", required=False)
    return fleet_svc.RubricChoice(preset=preset) if preset else None


def _page(request: Request, who: Caller, name: str, form: dict[str, list[str]] | None,
          error: AicenterError | None = None, **values: Any) -> HTMLResponse:
    with page_errors():
        presets = fleet_svc.rubric_presets(context_of(request), who)
    return render(request, name, who, code=status_of(error) if error else 200, error=error,
                  presets=presets, form=form or {}, default_rubric=DEFAULT_RUBRIC, **values)


@router.get("/fleet")
def fleet_page(request: Request) -> HTMLResponse:
    return _page(request, page_caller(request), "fleet.html", None)


@router.post("/fleet")
async def score(request: Request) -> HTMLResponse:
    """One document: its score; several: ranked, each with its breakdown."""
    who = page_caller(request)
    form = await form_of(request)
    try:
        name = text(form, "name", required=False) or "fleet.yaml"
        docs = documents(raw(form, "fleet"))
        if not docs:
            raise InputError("paste a fleet or proposal YAML, or choose a file", field="fleet")
        rubric = _rubric_choice(form) or fleet_svc.RubricChoice(preset=DEFAULT_RUBRIC)
        ctx = context_of(request)
        if len(docs) == 1:
            result = fleet_svc.score_fleet(ctx, who, fleet_svc.YamlText(name, docs[0]), rubric)
            return _page(request, who, "fleet.html", form, results=[(1, name, result)],
                         ranked=False)
        ranked = fleet_svc.score_proposals(ctx, who, [fleet_svc.YamlText(name, d)
                                                      for d in docs], rubric)
    except AicenterError as exc:
        return _page(request, who, "fleet.html", form, error=exc)
    return _page(request, who, "fleet.html", form, ranked=True,
                 results=[(r.rank, r.name, r.result) for r in ranked])


@router.get("/procurement")
def procurement_page(request: Request) -> HTMLResponse:
    return _page(request, page_caller(request), "procurement.html", None)


@router.post("/procurement")
async def procure(request: Request) -> HTMLResponse:
    who = page_caller(request)
    form = await form_of(request)
    try:
        power = optional(form, "power_mw", decimal)
        score = optional(form, "min_score", decimal)
        result = fleet_svc.procure(context_of(request), who, fleet_svc.ProcurementRequest(
            fleet_svc.YamlText(text(form, "name", required=False) or "offers.yaml",
                               raw(form, "offers")),
            decimal("budget_krw", text(form, "budget_krw")),
            float(power) if power is not None else None, _rubric_choice(form),
            float(score) if score is not None else None))
    except AicenterError as exc:
        return _page(request, who, "procurement.html", form, error=exc)
    return _page(request, who, "procurement.html", form, result=result)
