"""Pools operated through the services: validation, update, drain, remove, the fleet file, the
backend's slots; on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from aicenter.backends.local import LocalBackend
from aicenter.catalog import load_catalog
from aicenter.domain.errors import InputError, NotFoundError
from aicenter.domain.job import Job, JobStatus, parse_job_spec
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.domain.pool import PoolState
from aicenter.fleet.pool_file import load_pool_file
from aicenter.policy import PermissionDeniedError
from aicenter.services import org as org_svc
from aicenter.services import pool as svc
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.services.errors import ConflictError
from tests.services.fixtures import seed_center

H100 = "nvidia-h100-sxm"


@pytest.mark.parametrize(("args", "field"), [
    (("no-such-chip", 8), "chip_id"),
    ((H100, 0), "chip_count"),
    ((H100, 1_000_001), "chip_count"),
    ((H100, 8, ""), "site"),
    ((H100, 8, "   "), "site"),
    ((H100, 8, "ha\x00enam"), "site"),
    ((H100, 8, "s" * 81), "site"),
    ((H100, 8, "haenam", "kr"), "country"),
    ((H100, 8, "haenam", "KOR"), "country"),
])
def test_add_refuses_bad_fields_naming_them(ctx: ServiceContext, operator: Caller,
                                            args: tuple, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InputError) as caught:
        svc.add_pool(ctx, operator, *args)
    assert caught.value.field == field
    with ctx.db.transaction(write=False) as tx:
        assert tx.pools.list(include_removed=True) == []


def test_only_operators_operate_pools(ctx: ServiceContext, operator: Caller) -> None:
    pool = svc.add_pool(ctx, operator, H100, 8)
    org = org_svc.create_org(ctx, operator, "A", OrgClass.SME)
    admin = Caller(org_svc.add_person(ctx, operator, org.id, "Ad", "ad@a.kr", Role.ORG_ADMIN))
    for act in (lambda: svc.add_pool(ctx, admin, H100, 8),
                lambda: svc.update_pool(ctx, admin, pool.id, chip_count=4),
                lambda: svc.drain_pool(ctx, admin, pool.id),
                lambda: svc.undrain_pool(ctx, admin, pool.id),
                lambda: svc.remove_pool(ctx, admin, pool.id)):
        with pytest.raises(PermissionDeniedError):
            act()
    assert [p.pool.id for p in svc.list_pools(ctx, admin)] == [pool.id]  # everyone reads


def test_update_drain_undrain_remove(ctx: ServiceContext, operator: Caller) -> None:
    pool = svc.add_pool(ctx, operator, H100, 8, pool_id="h100-haenam")
    assert pool.created_at == ctx.clock.now() and pool.state is PoolState.ACTIVE
    with pytest.raises(ConflictError, match="already exists"):
        svc.add_pool(ctx, operator, H100, 8, pool_id="h100-haenam")
    with pytest.raises(InputError) as bad_id:
        svc.add_pool(ctx, operator, H100, 8, pool_id="Bad Id")
    assert bad_id.value.field == "id"

    moved = svc.update_pool(ctx, operator, pool.id, chip_count=16, site="gwangju",
                            country="US")
    assert (moved.chip_count, moved.site, moved.country) == (16, "gwangju", "US")
    with pytest.raises(InputError) as bad:
        svc.update_pool(ctx, operator, pool.id, country="usa")
    assert bad.value.field == "country"
    assert svc.get_pool(ctx, operator, pool.id).pool == moved  # the bad update changed nothing

    assert svc.drain_pool(ctx, operator, pool.id).state is PoolState.DRAINING
    assert svc.get_pool(ctx, operator, pool.id).pool.state is PoolState.DRAINING
    assert svc.undrain_pool(ctx, operator, pool.id).state is PoolState.ACTIVE

    removed = svc.remove_pool(ctx, operator, pool.id)
    assert removed.state is PoolState.REMOVED
    assert svc.list_pools(ctx, operator) == []
    assert [p.pool.state for p in svc.list_pools(ctx, operator, include_removed=True)] == [
        PoolState.REMOVED]
    assert svc.get_pool(ctx, operator, pool.id).pool.state is PoolState.REMOVED
    for act in (lambda: svc.update_pool(ctx, operator, pool.id, chip_count=4),
                lambda: svc.drain_pool(ctx, operator, pool.id),
                lambda: svc.remove_pool(ctx, operator, pool.id)):
        with pytest.raises(NotFoundError, match="removed"):
            act()
    with pytest.raises(NotFoundError):
        svc.get_pool(ctx, operator, "pool_missing")


def _running_job(ctx: ServiceContext, operator: Caller, pool_id: str, chips: int) -> Job:
    """A job record running on ``pool_id`` (as the scheduler leaves it after a launch)."""
    _org, member, grant = seed_center(ctx, operator, pools={"rebellions-atom": 4})
    spec = parse_job_spec(f"name: j\ncommand: 'true'\nresources: [{{chip: {H100}, count: "
                          f"{chips}}}]\nmax_duration: 60s\n")
    job = Job(new_id("job"), member.org_id, member.person.id, grant.grant.id, spec,
              JobStatus.RUNNING, None, Decimal(1), ctx.clock.now(), chip=H100,
              chip_count=chips, pool_id=pool_id, site="haenam", country="KR")
    with ctx.db.transaction() as tx:
        tx.jobs.add(job)
    return job


def test_running_jobs_keep_their_chips(ctx: ServiceContext, operator: Caller) -> None:
    pool = svc.add_pool(ctx, operator, H100, 8)
    other = svc.add_pool(ctx, operator, H100, 8)
    job = _running_job(ctx, operator, pool.id, 6)
    busy = {p.pool.id: p.busy for p in svc.list_pools(ctx, operator)}
    assert busy[pool.id] == 6 and busy[other.id] == 0
    assert svc.get_pool(ctx, operator, pool.id).free == 2

    with pytest.raises(ConflictError, match="hold 6 chips"):
        svc.update_pool(ctx, operator, pool.id, chip_count=4)
    assert svc.update_pool(ctx, operator, pool.id, chip_count=6).chip_count == 6
    with pytest.raises(ConflictError, match=job.id):
        svc.remove_pool(ctx, operator, pool.id)
    svc.drain_pool(ctx, operator, pool.id)  # draining is allowed: the job runs on
    assert svc.get_pool(ctx, operator, pool.id).busy == 6

    with ctx.db.transaction() as tx:
        tx.jobs.update(job.id, status=JobStatus.SUCCEEDED)
    assert svc.remove_pool(ctx, operator, pool.id).state is PoolState.REMOVED
    with ctx.db.transaction(write=False) as tx:  # the job's record still names the pool
        assert tx.jobs.get(job.id).pool_id == pool.id


def test_the_backend_gets_the_pools_as_slots(ctx: ServiceContext, operator: Caller,
                                             tmp_path: Path) -> None:
    ctx.backend = LocalBackend(tmp_path / "runs")
    first = svc.add_pool(ctx, operator, H100, 8)
    svc.add_pool(ctx, operator, H100, 4, site="gwangju")
    atom = svc.add_pool(ctx, operator, "rebellions-atom", 2)
    assert ctx.backend.slots_by_chip == {H100: 12, "rebellions-atom": 2}
    svc.update_pool(ctx, operator, first.id, chip_count=2)
    svc.drain_pool(ctx, operator, atom.id)  # a draining pool still runs its jobs
    assert ctx.backend.slots_by_chip == {H100: 6, "rebellions-atom": 2}
    svc.remove_pool(ctx, operator, atom.id)
    assert ctx.backend.slots_by_chip == {H100: 6}


FLEET = """\
pools:
  - id: h100-haenam
    chip: nvidia-h100-sxm
    count: 8
    site: haenam
  - chip: rebellions-atom
    count: 4
    site: gwangju
    country: KR
  - {chip: nvidia-h200, count: 2, site: virginia, country: US}
"""


def test_a_fleet_file_adds_then_updates(ctx: ServiceContext, operator: Caller,
                                        tmp_path: Path) -> None:
    path = tmp_path / "pools.yaml"
    path.write_text(FLEET)
    entries = load_pool_file(path, load_catalog())
    first = svc.apply_fleet(ctx, entries, str(path))
    assert len(first.added) == 3 and first.updated == [] and "h100-haenam" in first.added
    again = svc.apply_fleet(ctx, entries, str(path))
    assert again.added == [] and again.updated == [] and len(again.unchanged) == 3

    svc.remove_pool(ctx, operator, "h100-haenam")
    grown = [replace(e, chip_count=e.chip_count * 2) for e in entries]
    third = svc.apply_fleet(ctx, grown, str(path))
    assert third.added == [] and len(third.updated) == 3
    pools = {p.pool.chip_id: p.pool for p in svc.list_pools(ctx, operator)}
    assert pools[H100].state is PoolState.ACTIVE  # named by id: back in the fleet
    assert {c: p.chip_count for c, p in pools.items()} == {
        H100: 16, "rebellions-atom": 8, "nvidia-h200": 4}
    assert pools["nvidia-h200"].country == "US" and pools["rebellions-atom"].site == "gwangju"


def test_a_fleet_file_applies_all_or_nothing(ctx: ServiceContext, operator: Caller,
                                             tmp_path: Path) -> None:
    pool = svc.add_pool(ctx, operator, H100, 8, pool_id="h100-haenam")
    _running_job(ctx, operator, pool.id, 6)
    before = svc.list_pools(ctx, operator)
    path = tmp_path / "pools.yaml"
    path.write_text("pools:\n  - {chip: nvidia-h200, count: 2}\n"
                    "  - {id: h100-haenam, chip: nvidia-h100-sxm, count: 4}\n")
    with pytest.raises(ConflictError) as caught:
        svc.apply_fleet(ctx, load_pool_file(path, load_catalog()), str(path))
    assert str(caught.value).startswith(f"{path}:3: pool h100-haenam: running jobs hold 6")
    assert svc.list_pools(ctx, operator) == before  # the h200 pool was not added either

    path.write_text("pools:\n  - {id: h100-haenam, chip: nvidia-h200, count: 8}\n")
    with pytest.raises(InputError) as chip:
        svc.apply_fleet(ctx, load_pool_file(path, load_catalog()), str(path))
    assert chip.value.line == 2 and chip.value.field == "chip"


def test_an_ambiguous_fleet_entry_asks_for_an_id(ctx: ServiceContext, operator: Caller,
                                                 tmp_path: Path) -> None:
    svc.add_pool(ctx, operator, H100, 8)
    svc.add_pool(ctx, operator, H100, 4)
    path = tmp_path / "pools.yaml"
    path.write_text("pools:\n  - {chip: nvidia-h100-sxm, count: 2}\n")
    with pytest.raises(InputError) as caught:
        svc.apply_fleet(ctx, load_pool_file(path, load_catalog()), str(path))
    assert caught.value.field == "id" and caught.value.line == 2
    assert "give the one meant" in str(caught.value)
