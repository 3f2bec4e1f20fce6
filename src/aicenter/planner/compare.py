"""Compare chip types for one run, find the cheapest type and count that meet a deadline, and
plan a mixed pool.

Deadline search, per trainable chip type ``c``: wall-clock ``W(N) = H(N) / N / 24`` with
``H(N) ∝ 1 / (peak · MFU(N))`` falls as ``N`` grows (``N · e(c, N)`` increases, since the
scaling efficiency falls only logarithmically), and chip-hours rise with ``N``. So the cheapest
count on ``c`` is the smallest ``N`` — a multiple of the tensor-parallel degree, at least the
memory minimum — with ``W(N) ≤ deadline``; it is found by doubling then bisection. The cheapest
type is the one with the lowest cost at its own smallest count (cost is linear in chip-hours on
either basis, so the smallest count is the cheapest on both).

Cost basis: every row carries its rental cost (catalog price per chip-hour) and its owned cost
(amortised capex + energy + operations, :mod:`aicenter.planner.cost`) side by side, each
``None`` with the reason when that basis has no price. "Cheapest" is chosen on one basis
(rental by default) among every fitting row priced on it; rows without a price on that basis
are listed by :func:`unpriced`, never silently dropped or priced on the other basis.

Mixed pool ``{c: N_c}``: each type holds whole model replicas (so each must fit on its own
share) and takes a share of every global batch proportional to its throughput, so the pool
runs at ``Σ_c N_c · peak_c · MFU_c(N_c) · η`` model FLOP/s, where ``η`` =
:data:`HETEROGENEOUS_EFFICIENCY` covers load imbalance and cross-vendor gradient exchange (an
assumption: no published measurement). Each type is busy for the whole wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass

from aicenter.catalog import Catalog
from aicenter.domain.errors import InfeasibleError, InputError
from aicenter.planner.cost import (
    BasisCosts,
    CostAssumptions,
    Ownership,
    RunCost,
    basis_costs,
    run_cost,
)
from aicenter.planner.memory import training_refusal
from aicenter.planner.model import ModelSpec, StageSpec
from aicenter.planner.plan import Plan, PlanOptions, plan_run
from aicenter.planner.throughput import Calibration

MAX_COUNT = 131072
HETEROGENEOUS_EFFICIENCY = 0.9


@dataclass(frozen=True, slots=True)
class ChipOption:
    """One row of a comparison: a plan on a chip type, or why there is none."""

    chip_id: str
    plan: Plan | None
    meets_deadline: bool | None
    note: str
    costs: BasisCosts | None = None


def _smallest_meeting(
    plan_at: dict[int, Plan], make: object, start: int, step: int, deadline_days: float
) -> Plan | None:
    assert callable(make)
    n = start
    while n <= MAX_COUNT:
        plan = plan_at.setdefault(n, make(n))
        if plan.fits and plan.wall_days <= deadline_days:
            break
        n *= 2
    else:
        return None
    low = max(start, n // 2)
    high = n
    if low == high:
        return plan_at[high]
    # bisection on multiples of step between low (too slow or start) and high (meets)
    lo_k, hi_k = low // step, high // step
    while hi_k - lo_k > 1:
        mid = (lo_k + hi_k) // 2
        candidate = plan_at.setdefault(mid * step, make(mid * step))
        if candidate.fits and candidate.wall_days <= deadline_days:
            hi_k = mid
        else:
            lo_k = mid
    first = plan_at.setdefault(lo_k * step, make(lo_k * step))
    if first.fits and first.wall_days <= deadline_days:
        return first
    return plan_at[hi_k * step]


def compare_chips(
    model: ModelSpec,
    stages: list[StageSpec],
    count: int,
    calibration: Calibration,
    catalog: Catalog,
    assumptions: CostAssumptions | None = None,
    options: PlanOptions | None = None,
    deadline_days: float | None = None,
) -> list[ChipOption]:
    """One row per trainable chip type: at ``count`` chips (raised to the memory minimum), or
    with a deadline at the smallest count that meets it."""
    if deadline_days is not None and not deadline_days > 0:
        raise InputError(f"{deadline_days} must be a positive number of days", field="deadline")
    rows: list[ChipOption] = []
    priced_assumptions = assumptions or CostAssumptions()
    for chip in catalog:
        if training_refusal(chip):
            continue

        def make(n: int, chip_id: str = chip.id) -> Plan:
            return plan_run(model, catalog.get(chip_id), n, stages, calibration, catalog,
                            assumptions, options)

        first = make(count)
        note = ""
        tp = first.memory.tensor_parallel
        if first.memory.min_chips is None:
            rows.append(ChipOption(chip.id, None, False if deadline_days else None,
                                   first.memory.reason))
            continue
        if deadline_days is None:
            plan = first
            if not first.fits:
                plan = make(first.memory.min_chips)
                note = f"raised from {count} to the memory minimum {plan.count}"
            rows.append(ChipOption(chip.id, plan, None, note, basis_costs(
                chip, plan.chip_hours, priced_assumptions, catalog)))
            continue
        start = max(tp, first.memory.min_chips)
        found = _smallest_meeting({}, make, start, tp, deadline_days)
        if found is None:
            rows.append(ChipOption(chip.id, None, False,
                                   f"cannot meet {deadline_days:g} days with ≤ {MAX_COUNT} chips"))
        else:
            rows.append(ChipOption(chip.id, found, True, "smallest count meeting the deadline",
                                   basis_costs(chip, found.chip_hours, priced_assumptions,
                                               catalog)))
    return rows


def _candidates(rows: list[ChipOption]) -> list[ChipOption]:
    return [r for r in rows
            if r.plan is not None and r.plan.fits and r.meets_deadline is not False]


def row_cost(row: ChipOption, basis: Ownership) -> RunCost | None:
    """The row's cost on ``basis`` (None when that basis has no price for the chip)."""
    return row.costs.on(basis) if row.costs is not None else None


def cheapest(rows: list[ChipOption], basis: Ownership = Ownership.RENTAL) -> ChipOption | None:
    """Lowest KRW cost on ``basis`` among every fitting (and deadline-meeting) row priced on
    that basis; rows without a price on it are named by :func:`unpriced`."""
    priced = [(cost.krw.amount, r) for r in _candidates(rows)
              if (cost := row_cost(r, basis)) is not None]
    if not priced:
        return None
    return min(priced, key=lambda pair: pair[0])[1]


def unpriced(rows: list[ChipOption], basis: Ownership) -> list[tuple[str, str]]:
    """(chip id, why) of fitting rows left out of :func:`cheapest` for lack of a price."""
    out = []
    for r in _candidates(rows):
        if row_cost(r, basis) is None:
            assert r.costs is not None
            why = r.costs.rental_missing if basis is Ownership.RENTAL else r.costs.owned_missing
            out.append((r.chip_id, why))
    return out


@dataclass(frozen=True, slots=True)
class PoolPlan:
    """A run on a mixed pool: per-type plans at the pool's shared wall-clock."""

    parts: tuple[tuple[Plan, float, RunCost], ...]  # (plan on that type, chip-hours, cost)
    wall_days: float
    flops: float
    efficiency: float

    @property
    def chip_hours(self) -> float:
        return sum(h for _, h, _ in self.parts)

    @property
    def energy_kwh(self) -> float:
        return sum(c.energy_kwh for _, _, c in self.parts)


def plan_pool(
    model: ModelSpec,
    stages: list[StageSpec],
    pool: dict[str, int],
    calibration: Calibration,
    catalog: Catalog,
    assumptions: CostAssumptions | None = None,
    options: PlanOptions | None = None,
) -> PoolPlan:
    """Plan one run on a mixed pool (maths in the module docstring)."""
    if not pool:
        raise InputError("the pool is empty", field="pool")
    assumptions = assumptions or CostAssumptions()
    plans = []
    for chip_id, n in pool.items():
        chip = catalog.get(chip_id)
        refusal = training_refusal(chip)
        if refusal:
            raise InfeasibleError(refusal)
        plans.append(plan_run(model, chip, n, stages, calibration, catalog, assumptions, options))
    misfits = [p.memory.reason for p in plans if not p.fits]
    if misfits:
        raise InfeasibleError("; ".join(misfits))
    # each plan alone would take wall_days_i; combined rate is the sum of rates
    rate = sum(1.0 / p.wall_days for p in plans) * HETEROGENEOUS_EFFICIENCY
    wall_days = 1.0 / rate
    parts = []
    for p in plans:
        hours = p.count * wall_days * 24.0
        parts.append((p, hours, run_cost(p.chip, hours, assumptions, catalog)))
    return PoolPlan(tuple(parts), wall_days, plans[0].flops, HETEROGENEOUS_EFFICIENCY)


def parse_pool(text: str) -> dict[str, int]:
    """``"nvidia-h100-sxm=1024,amd-mi300x=512"`` -> ``{chip_id: count}``."""
    pool: dict[str, int] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        chip_id, sep, count_text = part.partition("=")
        try:
            count = int(count_text)
        except ValueError:
            count = 0
        if not sep or count < 1:
            raise InputError(f"'{part.strip()}' is not CHIP=COUNT with COUNT ≥ 1", field="pool")
        pool[chip_id.strip()] = pool.get(chip_id.strip(), 0) + count
    return pool
