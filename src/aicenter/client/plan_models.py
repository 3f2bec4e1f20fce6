"""Bodies of ``/api/v1/plans``: a training run's plan on one chip type and its comparison
across every trainable type. A leaf module beside :mod:`aicenter.client.models` (which is
past the size the design asks for), importing only pydantic and that module's bases."""

from __future__ import annotations

from pydantic import Field

from aicenter.client.models import Model, Strict, Text


class PlanIn(Strict):
    model: Text = Field(min_length=1, max_length=200,
                        description="A packaged model preset (GET /plans/models lists them)")
    tokens: float = Field(gt=0, le=1e16, description="Training tokens of the main stage")
    chip: Text = Field(min_length=1, max_length=200, description="Catalog chip id")
    count: int = Field(default=1024, ge=1, le=131072, description="Number of chips")


class CompareIn(Strict):
    model: Text = Field(min_length=1, max_length=200)
    tokens: float = Field(gt=0, le=1e16)
    count: int = Field(default=1024, ge=1, le=131072, description="Chips tried on every type")
    deadline_days: float | None = Field(
        default=None, gt=0, le=36500,
        description="Instead of count: the smallest count on each type that meets it")


class CostOut(Model):
    """A run's cost on one basis; ``krw`` is null with ``note`` saying why when the chip has
    no price on that basis."""

    krw: float | None = Field(description="Whole won")
    usd: float | None
    energy_kwh: float | None
    note: str = Field(description="How the cost is made up, or why there is none")


class PlanOut(Model):
    model: str
    chip: str
    count: int
    fits: bool
    memory_note: str = Field(description="Why the model does not fit, or a caveat")
    min_chips: int | None = Field(description="Fewest chips the model fits on")
    flops: float
    mfu: float
    chip_hours: float
    wall_days: float
    energy_kwh: float
    rental: CostOut
    owned: CostOut
    warnings: list[str]


class ChipRowOut(Model):
    chip: str
    count: int | None = Field(description="Null when no count of this type can train it")
    fits: bool
    mfu: float | None
    chip_hours: float | None
    wall_days: float | None
    energy_kwh: float | None
    rental: CostOut | None
    owned: CostOut | None
    meets_deadline: bool | None
    note: str


class CompareOut(Model):
    model: str
    rows: list[ChipRowOut]
    cheapest_rental: str | None = Field(description="Chip id of the cheapest rental row")
    cheapest_owned: str | None = Field(description="Chip id of the cheapest owned row")
