"""The local backend's configuration and registry entry.

:class:`LocalConfig` holds what only this backend needs: its state directory, the accelerator
slots of this machine and how jobs are boxed (:class:`JobIsolation`). :func:`from_settings`
maps the server's settings to it; :data:`ENTRY` registers it. Light on purpose: the registry
imports it, and the backend's code (:mod:`aicenter.backends.local.backend`) is imported only
when a backend is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aicenter.backends.base import (
    Backend,
    BackendEntry,
    Capabilities,
    CenterSite,
    RunHandle,
)
from aicenter.backends.local.isolation import JobIsolation
from aicenter.domain.errors import InputError

if TYPE_CHECKING:
    from aicenter.settings import Settings

NAME = "local"

WORK_DIR = "work"
"""An isolated job's working directory inside its run directory (unless the request names one)."""

CAPABILITIES = Capabilities(
    runs_code=True, contains_jobs=True, cuts_network=True, enforces_limits=True,
    gives_egress=True, runs_sidecars=True, owns_devices=True, graceful_stop=True,
    places_pools=True,
)
"""Every claim holds where the host allows it (root, user namespaces, cgroups, nftables); where
it does not, a job runs only with the operator's consent and its log says what it lacked. A
request's pool is a range of its chip type's device indices (``PoolTarget.devices``): the run
takes free indices there and nowhere else."""


@dataclass(frozen=True, slots=True)
class LocalConfig:
    """``root``: the backend's state directory (one directory per run; survives restarts).
    ``slots_by_chip``: chip type -> devices on this machine (indices ``0..n-1``; empty: no
    slot checks). ``isolation``: how jobs are boxed (``None``: plain processes, for a library
    user's backend; the server always sets it)."""

    root: Path
    slots_by_chip: Mapping[str, int] = field(default_factory=dict)
    isolation: JobIsolation | None = None

    def __post_init__(self) -> None:
        for chip, count in self.slots_by_chip.items():
            if count < 0:
                raise InputError(f"{chip} has {count} slots; slots must be >= 0",
                                 field="slots_by_chip")


def job_isolation(settings: Settings, hidden: tuple[Path, ...],
                  read_only: tuple[Path, ...]) -> JobIsolation:
    """How jobs are boxed, from the settings (``job_isolation``, ``job_uid_range``,
    ``org_gid_range``, ``project_root``, ``job_egress_subnet``, the operator's consent to a
    weak box, to jobs without limits) and what the center hides from jobs or shows them
    read-only."""
    return JobIsolation(settings.job_isolation, hidden, read_only=read_only,
                        uid_range=settings.job_uids, gid_range=settings.org_gids,
                        project_root=settings.project_root,
                        egress_subnet=settings.job_egress_subnet,
                        allow_weak=settings.unsafe_allow_weak_isolation,
                        allow_unlimited=settings.unsafe_allow_unlimited_jobs)


def from_settings(settings: Settings, site: CenterSite) -> LocalConfig:
    """The server's local backend: runs under ``<state dir>/local``, the pools as slots."""
    return LocalConfig(site.state_dir / NAME, dict(site.slots_by_chip),
                       job_isolation(settings, site.hidden, site.job_read_only))


def build(config: LocalConfig) -> Backend:
    """A :class:`~aicenter.backends.local.backend.LocalBackend` (imported here, when built)."""
    # lazy: the registry imports this module; the backend loads the catalog
    from aicenter.backends.local.backend import LocalBackend

    return LocalBackend.from_config(config)


def work_dir(handle: RunHandle) -> Path:
    """A run's working files: ``<run dir>/work`` (the locator is the run directory)."""
    return Path(handle.locator) / WORK_DIR


ENTRY: BackendEntry[LocalConfig] = BackendEntry(
    NAME, CAPABILITIES, LocalConfig, build, from_settings, work_dir)
"""The local backend's registration (:mod:`aicenter.backends.registry`)."""
