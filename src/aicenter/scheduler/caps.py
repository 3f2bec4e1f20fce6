"""What one round has handed out against concurrent limits: chips per cap group (a grant's
chips of each type) and H100e per tenant and programme against their guaranteed shares.

Both are *concurrent* quantities (what jobs hold at once), unlike quotas, which are
H100e-hours used over time (:func:`aicenter.scheduler.problem.quota_left_h100e_h`)."""

from __future__ import annotations

from aicenter.scheduler.types import Job, Snapshot


class CapLedger:
    """Per round: chips taken per (cap group, chip type) and H100e taken per tenant and
    programme, checked against ``Snapshot.chip_caps`` and the guaranteed shares."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._caps = snapshot.chip_caps
        self._chips: dict[tuple[str, str], int] = {}
        self._guarantee: dict[str, float] = {
            t.id: t.guaranteed_h100e for t in snapshot.tenants.values() if t.guaranteed_h100e > 0}
        self._guarantee.update({f"programme:{g.id}": g.guaranteed_h100e
                                for g in snapshot.programmes.values() if g.guaranteed_h100e > 0})
        self._tenant_programme = {t.id: t.programme for t in snapshot.tenants.values()}

    @property
    def has_guarantees(self) -> bool:
        return bool(self._guarantee)

    def fits(self, job: Job, chip_type: str, count: int) -> bool:
        """Whether ``count`` more chips of ``chip_type`` keep the job's group within its cap
        (a job in a group with no chips of that type may not use it at all)."""
        group = job.cap_group
        if group is None or group not in self._caps:
            return True
        limit = self._caps[group].get(chip_type, 0)
        return self._chips.get((group, chip_type), 0) + count <= limit

    def _accounts(self, job: Job) -> list[str]:
        programme = job.programme or self._tenant_programme.get(job.tenant)
        return [job.tenant] + ([f"programme:{programme}"] if programme else [])

    def guaranteed(self, job: Job, h100e: float) -> bool:
        """Whether the job fits in what is left of its tenant's or programme's guarantee."""
        return any(self._guarantee.get(k, 0.0) >= h100e - 1e-9 for k in self._accounts(job))

    def take(self, job: Job, chip_type: str, count: int, h100e: float) -> None:
        if job.cap_group is not None:
            key = (job.cap_group, chip_type)
            self._chips[key] = self._chips.get(key, 0) + count
        for k in self._accounts(job):
            if k in self._guarantee:
                self._guarantee[k] -= h100e
