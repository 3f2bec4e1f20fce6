"""Fleet and proposal scoring and the procurement optimiser, over the API and the pages: the
rubric engine (:mod:`aicenter.fleet.rubric`) and the MILP (:mod:`aicenter.fleet.procurement`)
on YAML texts a caller sends, in the formats ``aicenter fleet score``, ``aicenter proposals
rank`` and ``aicenter procure`` read from files (:mod:`aicenter.fleet.proposal_file`,
:mod:`aicenter.fleet.rubric_file`, the offers file of :mod:`aicenter.fleet.procurement`).

Nothing is read from the database and nothing is stored or logged. A rubric is a packaged
preset by name or a rubric YAML text: a server never opens a path a request names. Every text
goes through :func:`aicenter.fleet.yamlio.parse_text` (size, nesting and aliases bounded
before anything is built), and a problem is an :class:`InputError` naming the text's name as
the file, its line and the field path, as the CLI names them.

Who may call: scoring, everyone signed in (it reads nothing of the center, the text is the
caller's own, the presets are public; a bidder checks a proposal as the CLI would offline;
the work is linear in the text). Procurement, the center's staff (Cedar ``fleet:procure``:
operators and auditors): it is the center's capital decision, and its solve time grows
combinatorially with the offers and the rubric's levels, so it is the one request whose cost
a small body can blow up; :data:`MAX_OFFERS` bounds it further."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from aicenter.catalog.loader import nearest
from aicenter.domain.accelerator import WorkloadClass
from aicenter.domain.errors import InputError, NotFoundError
from aicenter.fleet.procurement import OfferBook, offers_from_data, optimise
from aicenter.fleet.proposal_file import proposal_from_data
from aicenter.fleet.rubric import Rubric, RubricResult
from aicenter.fleet.rubric_file import load_rubric, preset_names, rubric_from_data
from aicenter.fleet.yamlio import MAX_TEXT_CHARS, parse_text
from aicenter.policy import Resource
from aicenter.services.context import Caller, ServiceContext

MAX_PROPOSALS = 20
"""Proposals ranked in one request (a call draws a handful)."""
MAX_TOTAL_CHARS = 4 * MAX_TEXT_CHARS
"""Characters of all the proposals of one ranking together."""
MAX_OFFERS = 100
"""Offers in one procurement (each is an integer variable of the MILP)."""
MAX_BUDGET_KRW = Decimal(10) ** 15
"""A quadrillion won: beyond any national budget, so a larger figure is a typing mistake."""
MAX_POWER_MW = 100_000.0


@dataclass(frozen=True, slots=True)
class YamlText:
    """A YAML text and the name its problems are reported under (the uploaded file's name,
    or a default such as ``proposal.yaml``)."""

    name: str
    text: str


@dataclass(frozen=True, slots=True)
class RubricChoice:
    """A packaged preset by name, or a rubric YAML text (exactly one)."""

    preset: str | None = None
    text: YamlText | None = None


@dataclass(frozen=True, slots=True)
class RubricPreset:
    """A packaged rubric: its file name (what a request names), title, description, maximum
    and criteria (id, type, max points)."""

    preset: str
    name: str
    description: str
    max_points: float
    criteria: tuple[tuple[str, str, float], ...]


@dataclass(frozen=True, slots=True)
class RankedProposal:
    """A proposal's place (1 = best; ties broken by label), its text's name and its score."""

    rank: int
    name: str
    result: RubricResult


@dataclass(frozen=True, slots=True)
class ProcurementRequest:
    """What ``aicenter procure`` takes: the offers, the capital budget, optionally the site's
    power cap (MW, IT load × PUE) and a rubric with the minimum score the mix must reach."""

    offers: YamlText
    budget_krw: Decimal
    power_mw: float | None = None
    rubric: RubricChoice | None = None
    min_score: float | None = None


@dataclass(frozen=True, slots=True)
class PurchaseLine:
    """One offer: chips bought of those available, their dense-training H100-equivalents,
    capital cost and power (PUE included)."""

    offer_id: str
    supplier: str
    chip_id: str
    chips: int
    available: int
    lot: int
    h100e: float
    cost_krw: Decimal
    power_mw: float


@dataclass(frozen=True, slots=True)
class Procurement:
    """The optimiser's purchase with its totals; ``scored`` is the chosen fleet scored with
    the rubric (per criterion), when one was given."""

    name: str
    lines: tuple[PurchaseLine, ...]
    capacity_h100e: float
    cost_krw: Decimal
    budget_krw: Decimal
    power_mw: float
    power_cap_mw: float | None
    pue: float
    min_score: float | None
    credited_score: float | None
    scored: RubricResult | None
    solve_seconds: float


def rubric_presets(ctx: ServiceContext, caller: Caller) -> list[RubricPreset]:
    """The rubric presets shipped with aicenter (what ``aicenter fleet rubrics`` lists)."""
    found = []
    for preset in preset_names():
        r = load_rubric(preset)
        found.append(RubricPreset(preset, r.name, r.description, r.max_points,
                                  tuple((c.id, c.type_name, c.max_points) for c in r.criteria)))
    return found


def _rubric(choice: RubricChoice) -> Rubric:
    if (choice.preset is None) == (choice.text is None):
        raise InputError("give a rubric preset or a rubric YAML text (one of them)",
                         field="rubric")
    if choice.text is not None:
        data, lines = parse_text(choice.text.text, choice.text.name)
        return rubric_from_data(data, choice.text.name, lines)
    names = preset_names()
    if choice.preset not in names:
        hints = nearest(str(choice.preset), names)
        hint = f"did you mean {', '.join(hints)}? " if hints else ""
        raise NotFoundError(f"no rubric preset '{choice.preset}'; {hint}presets: "
                            f"{', '.join(names)}")
    return load_rubric(str(choice.preset))


def _name(text: YamlText, default: str) -> YamlText:
    return YamlText(text.name.strip()[:200] or default, text.text)


def score_fleet(ctx: ServiceContext, caller: Caller, fleet: YamlText,
                rubric: RubricChoice) -> RubricResult:
    """One fleet or proposal scored alone: per criterion the points, the maximum and why
    (``aicenter fleet score``); relative criteria compare it with itself."""
    return score_proposals(ctx, caller, [_name(fleet, "fleet.yaml")], rubric)[0].result


def score_proposals(ctx: ServiceContext, caller: Caller, proposals: list[YamlText],
                    rubric: RubricChoice) -> list[RankedProposal]:
    """Proposals scored together (relative criteria, such as price against the best bid,
    see every one) and ranked by total, best first (``aicenter proposals rank``)."""
    if not 1 <= len(proposals) <= MAX_PROPOSALS:
        raise InputError(f"give 1 to {MAX_PROPOSALS} proposals, not {len(proposals)}",
                         field="proposals")
    if sum(len(p.text) for p in proposals) > MAX_TOTAL_CHARS:
        raise InputError(f"the proposals together are over {MAX_TOTAL_CHARS:,} characters",
                         field="proposals")
    chosen = _rubric(rubric)
    named = [_name(p, f"proposal-{i}.yaml" if len(proposals) > 1 else "proposal.yaml")
             for i, p in enumerate(proposals, start=1)]
    parsed = []
    for p in named:
        data, lines = parse_text(p.text, p.name)
        parsed.append(proposal_from_data(data, p.name, lines, ctx.catalog))
    results = chosen.score_all(parsed, ctx.performance)
    order = sorted(range(len(results)), key=lambda i: (-results[i].total, results[i].proposal))
    return [RankedProposal(rank, named[i].name, results[i])
            for rank, i in enumerate(order, start=1)]


def _offers(ctx: ServiceContext, text: YamlText) -> OfferBook:
    data, lines = parse_text(text.text, text.name)
    book = offers_from_data(data, text.name, lines, ctx.catalog)
    if len(book.offers) > MAX_OFFERS:
        raise InputError(f"{len(book.offers)} offers is more than the {MAX_OFFERS} one "
                         "procurement takes", file=text.name, field="offers")
    return book


def procure(ctx: ServiceContext, caller: Caller, request: ProcurementRequest) -> Procurement:
    """The chip mix that maximises dense-training H100-equivalents within the budget, the
    power cap and the minimum rubric score (the MILP of :mod:`aicenter.fleet.procurement`);
    :class:`~aicenter.domain.errors.InfeasibleError` when no purchase qualifies."""
    caller.check(ctx, "fleet:procure", Resource("Procurement", "new"))
    if not 0 < request.budget_krw <= MAX_BUDGET_KRW:
        raise InputError(f"must be positive, at most {MAX_BUDGET_KRW:,}", field="budget_krw")
    if request.power_mw is not None and not 0 < request.power_mw <= MAX_POWER_MW:
        raise InputError(f"must be positive, at most {MAX_POWER_MW:,.0f}", field="power_mw")
    if (request.rubric is None) != (request.min_score is None):
        raise InputError("a rubric and a minimum score go together", field="min_score")
    book = _offers(ctx, _name(request.offers, "offers.yaml"))
    rubric = _rubric(request.rubric) if request.rubric is not None else None
    if rubric is not None and request.min_score is not None and not (
            0 <= request.min_score <= rubric.max_points):
        raise InputError(f"must be within 0..{rubric.max_points:g}, the rubric's maximum",
                         field="min_score")
    perf = ctx.performance
    purchase = optimise(book, perf, request.budget_krw, request.power_mw, rubric,
                        request.min_score)
    lines = tuple(
        PurchaseLine(o.id, o.supplier, o.chip_id, n, o.available, o.lot,
                     n * perf.ratio(o.chip_id, WorkloadClass.DENSE_TRAINING),
                     o.unit_cost_krw * n, n * o.power_w * book.site.pue / 1e6)
        for o, n in zip(book.offers, purchase.chips, strict=True))
    scored = rubric.score_all([purchase.fleet], perf)[0] if rubric is not None else None
    return Procurement(book.name, lines, purchase.capacity_h100e, purchase.cost_krw,
                       request.budget_krw, purchase.power_mw, request.power_mw, book.site.pue,
                       request.min_score, purchase.credited_score, scored,
                       purchase.solve_seconds)
