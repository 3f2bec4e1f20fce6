"""Core value types of the scheduler: jobs, tenants, pools, snapshots and allocations.

Everything here is pure data. Time is float seconds on whatever clock the caller uses (the
simulator's virtual clock, or seconds since the epoch in the live service); nothing here reads
a clock. Chip types are plain strings: catalog ids (``nvidia-h100-sxm``) in the service, Gavel's
``v100``/``p100``/``k80`` in trace replays.

Work is measured in the units of the job's class: a job carries ``total_work`` units and the
:class:`~aicenter.scheduler.throughput.ThroughputMatrix` says how many units per second it makes
on ``count`` chips of a type (steps/s for Gavel traces, H100-seconds/s for catalog estimates).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

from aicenter.domain.units import H100eHours, Money


class PriorityClass(IntEnum):
    """Priority lanes; a larger value preempts a smaller one within its guaranteed share."""

    BEST_EFFORT = 0
    STANDARD = 1
    CHASE = 2


@dataclass(frozen=True, slots=True)
class ChipDemand:
    """One way to run a job: ``count`` chips of exactly ``chip_type``."""

    chip_type: str
    count: int


@dataclass(frozen=True, slots=True)
class AnyChipDemand:
    """One way to run a job: ``count`` chips of any type with at least ``min_memory_gib``."""

    min_memory_gib: float
    count: int


Demand = ChipDemand | AnyChipDemand


@dataclass(frozen=True, slots=True)
class Job:
    """A job as submitted: who, what it needs, how much work, and constraints.

    ``demand`` lists alternatives; the job runs on exactly one of them at a time, as a gang of
    ``count`` chips when ``gang`` is true (all or nothing). ``residency`` is an ISO country code:
    the job only runs on pools in that country; ``countries``, when set, are the only countries
    it may run in (the center's placement policy, decided before the round). ``deadline_s``
    is absolute, on the caller's clock.
    ``cap_group`` names the concurrent chip limit it counts against (its grant:
    ``Snapshot.chip_caps``). ``programme`` is the programme it draws on (the call of the
    grant it runs on; when absent, its tenant's). ``budget_h100e_h``, when set, is what the
    job itself may still spend (the live center's hold on its grant, which metering never
    exceeds): a round costs its tenant and programme at most that much, and a waiting job
    with nothing left is not started (``QuotaExhausted``).
    """

    id: str
    tenant: str
    job_class: str
    demand: tuple[Demand, ...]
    total_work: float
    arrival_s: float
    programme: str | None = None
    priority_class: PriorityClass = PriorityClass.STANDARD
    gang: bool = True
    weight: float = 1.0
    deadline_s: float | None = None
    residency: str | None = None
    cap_group: str | None = None
    countries: frozenset[str] | None = None
    budget_h100e_h: float | None = None


@dataclass(frozen=True, slots=True)
class JobProgress:
    """A queued or running job with what it has done so far.

    ``attained_s`` is wall-clock seconds the job has run on each pool (cumulative);
    ``running_on`` is the pool it holds now (``None`` if waiting).
    """

    job: Job
    remaining_work: float
    attained_s: Mapping[str, float] = field(default_factory=dict)
    running_on: str | None = None

    @property
    def id(self) -> str:
        return self.job.id


@dataclass(frozen=True, slots=True)
class Programme:
    """A funding programme (for example a national GPU call) with its weight, grant and the
    H100e it is guaranteed to hold at once (``guaranteed_h100e``: see :class:`Tenant`)."""

    id: str
    weight: float = 1.0
    quota: H100eHours | None = None
    guaranteed_h100e: float = 0.0


@dataclass(frozen=True, slots=True)
class Tenant:
    """An organisation that submits jobs. ``quota`` is its grant; ``used`` what it consumed.

    ``guaranteed_h100e``: the H100e (chips × H100e per chip) its jobs may hold at once ahead of
    everyone else's, as a Kueue nominal quota or a Run:ai deserved quota: its jobs are placed
    first within it, preempting jobs that borrowed the capacity while it was idle; beyond it
    they borrow idle capacity like anyone. ``decayed_usage_h100e_h``: its usage with each
    hour's weight halving every half-life (Slurm's decay), when the caller computed it
    (:func:`aicenter.scheduler.snapshot.decayed_usage`); ``fair_share`` uses it instead of
    decaying ``used`` itself, so a restarted server keeps the history."""

    id: str
    weight: float = 1.0
    quota: H100eHours | None = None
    used: H100eHours = field(default_factory=lambda: H100eHours(0.0))
    programme: str | None = None
    guaranteed_h100e: float = 0.0
    decayed_usage_h100e_h: float | None = None


@dataclass(frozen=True, slots=True)
class Pool:
    """Identical chips at one site: ``count`` chips in nodes of ``node_size``.

    ``h100e_per_chip`` converts chip-hours into H100-equivalent hours for quotas; ``price`` is per
    chip-hour (``None`` when unpriced). A ``draining`` pool keeps the jobs running on it and
    takes no other.
    """

    id: str
    chip_type: str
    count: int
    node_size: int
    country: str = "KR"
    memory_gib: float = 0.0
    h100e_per_chip: float = 1.0
    price_per_chip_hour: Money | None = None
    draining: bool = False

    @property
    def nodes(self) -> int:
        return -(-self.count // self.node_size)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the scheduler sees in one cycle: pools, tenants and programmes.

    ``chase_share`` is the fraction of every pool guaranteed to the chase-team class.
    ``chip_caps[group][chip_type]``: the most chips of that type the jobs of a cap group (a
    grant: what was awarded, within the call's per-project cap) may hold at once.
    """

    pools: tuple[Pool, ...]
    tenants: Mapping[str, Tenant] = field(default_factory=dict)
    programmes: Mapping[str, Programme] = field(default_factory=dict)
    chase_share: float = 0.0
    chip_caps: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def pool(self, pool_id: str) -> Pool:
        for p in self.pools:
            if p.id == pool_id:
                return p
        raise KeyError(pool_id)


@dataclass(frozen=True, slots=True)
class Placement:
    """A job placed for the coming round: ``count`` chips of ``pool`` on nodes ``nodes``.

    ``nodes`` lists the node index of every chip (length ``count``).
    """

    job_id: str
    pool_id: str
    chip_type: str
    count: int
    nodes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Allocation:
    """The result of one scheduling cycle.

    ``fractions[job][pool]`` is the long-run share of time the policy wants the job to spend on
    the pool (rows sum to at most 1); ``placements`` are concrete for the coming round;
    ``preempted`` are jobs that ran last round and do not now; ``migrated`` moved pool.
    """

    fractions: Mapping[str, Mapping[str, float]]
    placements: tuple[Placement, ...]
    preempted: tuple[str, ...] = ()
    migrated: tuple[str, ...] = ()
    resolved: bool = False

    def placement_of(self, job_id: str) -> Placement | None:
        for p in self.placements:
            if p.job_id == job_id:
                return p
        return None
