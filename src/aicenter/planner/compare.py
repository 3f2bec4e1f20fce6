"""Compare chip types for one run, find the cheapest type and count that meet a deadline, and
plan a mixed pool.

Deadline search, per trainable chip type ``c``: wall-clock ``W(N) = H(N) / N / 24`` with
``H(N) ∝ 1 / (peak · MFU(N))`` falls as ``N`` grows (``N · e(c, N)`` increases, since the
scaling efficiency falls only logarithmically), and chip-hours rise with ``N``. So the cheapest
count on ``c`` is the smallest ``N`` — a multiple of the tensor-parallel degree, at least the
memory minimum — with ``W(N) ≤ deadline``; it is found by doubling then bisection. The cheapest
type is the one with the lowest cost at its own smallest count, among types priced the same way.

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
from aicenter.planner.cost import CostAssumptions, RunCost, run_cost
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
            rows.append(ChipOption(chip.id, plan, None, note))
            continue
        start = max(tp, first.memory.min_chips)
        found = _smallest_meeting({}, make, start, tp, deadline_days)
        if found is None:
            rows.append(ChipOption(chip.id, None, False,
                                   f"cannot meet {deadline_days:g} days with ≤ {MAX_COUNT} chips"))
        else:
            rows.append(ChipOption(chip.id, found, True, "smallest count meeting the deadline"))
    return rows


def cheapest(rows: list[ChipOption]) -> ChipOption | None:
    """Lowest KRW cost among fitting plans priced as rental (or, if none are, any basis)."""
    planned = [
        r for r in rows
        if r.plan is not None and r.plan.fits and r.meets_deadline is not False
    ]
    rental = [r for r in planned if r.plan is not None and r.plan.cost.price_usd_per_chip_hour]
    pool = rental or planned
    if not pool:
        return None
    return min(pool, key=lambda r: r.plan.cost.krw.amount if r.plan else 0)


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
