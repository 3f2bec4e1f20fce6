"""Bodies of ``/api/v1/fleet``, ``/api/v1/proposals`` and ``/api/v1/procurement``: rubric
scoring of fleet and proposal YAML texts, and the procurement optimiser. A leaf module beside
:mod:`aicenter.client.models` (which is past the size the design asks for), importing only
pydantic and that module's bases."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from aicenter.client.models import Amount, Model, Strict, Text

MAX_TEXT_CHARS = 65_536
"""A YAML text's limit (the server's :data:`aicenter.fleet.yamlio.MAX_TEXT_CHARS`)."""

YamlText = Annotated[Text, Field(min_length=1, max_length=MAX_TEXT_CHARS, description=(
    "The file's YAML text (what the CLI reads from the file)"))]
FileName = Annotated[Text, Field(max_length=200, description=(
    "The file's name, used to locate problems (file:line: field)"))]
RubricName = Annotated[Text, Field(min_length=1, max_length=200, description=(
    "A packaged rubric preset (GET /fleet/rubrics lists them)"))]
RubricYaml = Annotated[Text, Field(min_length=1, max_length=MAX_TEXT_CHARS, description=(
    "A rubric YAML text, instead of a preset"))]


class RubricPresetOut(Model):
    preset: str = Field(description="What a request names as `rubric`")
    name: str
    description: str
    max_points: float
    criteria: list[str] = Field(description="Criterion ids in the rubric's order")


class CriterionOut(Model):
    id: str
    type: str = Field(description="The criterion type (capacity, domestic_share, price, ...)")
    points: float
    max: float
    explanation: str = Field(description="How the points came out")


class ScoreOut(Model):
    """One fleet's score: the total and, per criterion, the points, the maximum and why."""

    rubric: str
    proposal: str = Field(description="The fleet's name, else its bidder")
    total: float
    max: float
    criteria: list[CriterionOut]


class FleetScoreIn(Strict):
    fleet: YamlText
    name: FileName = ""
    rubric: RubricName | None = None
    rubric_yaml: RubricYaml | None = None


class ProposalIn(Strict):
    text: YamlText
    name: FileName = ""


class ProposalsScoreIn(Strict):
    proposals: list[ProposalIn] = Field(min_length=1, max_length=20)
    rubric: RubricName | None = None
    rubric_yaml: RubricYaml | None = None


class RankedProposalOut(Model):
    rank: int = Field(description="1 is the best total; ties by name")
    name: str = Field(description="The proposal's file name")
    score: ScoreOut


class ProcurementIn(Strict):
    offers: YamlText
    name: FileName = ""
    budget_krw: Amount = Field(gt=0, description="Capital budget in KRW")
    power_mw: float | None = Field(default=None, gt=0, le=100_000,
                                   description="Site power cap in MW (IT load × PUE)")
    rubric: RubricName | None = None
    rubric_yaml: RubricYaml | None = None
    min_score: float | None = Field(default=None, ge=0, le=100_000,
                                    description="Minimum rubric score of the mix (with a rubric)")


class PurchaseLineOut(Model):
    offer: str
    supplier: str
    chip: str
    chips: int = Field(description="Chips bought (whole lots)")
    available: int
    lot: int
    h100e: float = Field(description="Dense-training H100-equivalents of the chips bought")
    cost_krw: str = Field(description="Exact decimal")
    power_mw: float = Field(description="Including the site's PUE")


class ProcurementOut(Model):
    name: str
    mix: list[PurchaseLineOut] = Field(description="Every offer, bought or not")
    capacity_h100e: float
    cost_krw: str = Field(description="Exact decimal")
    budget_krw: str
    power_mw: float
    power_cap_mw: float | None
    pue: float
    min_score: float | None
    credited_score: float | None = Field(
        description="The score the optimiser's level model guarantees (at most `score`)")
    score: ScoreOut | None = Field(description="The chosen fleet scored with the rubric")
    solve_seconds: float
