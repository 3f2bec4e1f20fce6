"""The ray backend's configuration and registry entry.

:class:`RayConfig` holds what only this backend needs: the cluster's job server address and a
directory for its stop notes. :func:`from_settings` maps the server's settings to it. Light
on purpose: nothing here imports Ray; :mod:`aicenter.backends.ray.backend` is imported when a
backend is built, and Ray itself when the backend first talks to the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aicenter.backends.base import Backend, BackendEntry, Capabilities, CenterSite
from aicenter.domain.errors import InputError

if TYPE_CHECKING:
    from aicenter.settings import Settings

NAME = "ray"

CAPABILITIES = Capabilities(runs_code=True, graceful_stop=True)
"""Ray runs the command and stops it with SIGTERM, then SIGKILL after
``RAY_JOB_STOP_WAIT_TIME_S``; it contains nothing (jobs run as the Ray workers' user, with
their network and files), runs no sidecar and picks the devices itself (its custom
``accel:<chip>`` resources); one Ray job's entrypoint runs on one node."""


@dataclass(frozen=True, slots=True)
class RayConfig:
    """``address``: the Ray dashboard / job server (``http://127.0.0.1:8265``).
    ``state_dir``: where stop reasons are noted (``None``: a stopped run reads CANCELLED)."""

    address: str
    state_dir: Path | None = None

    def __post_init__(self) -> None:
        if not self.address:
            raise InputError("the ray backend needs a Ray address", field="ray_address")


def from_settings(settings: Settings, site: CenterSite) -> RayConfig:
    """``ray_address`` from the settings; notes under ``<state dir>/ray``."""
    if not settings.ray_address:
        raise InputError("the ray backend needs a Ray address (AICENTER_RAY_ADDRESS)",
                         field="ray_address")
    return RayConfig(settings.ray_address, site.state_dir / NAME)


def build(config: RayConfig) -> Backend:
    """A :class:`~aicenter.backends.ray.backend.RayBackend` (imported here, when built)."""
    # lazy: the registry imports this module; the backend loads the catalog
    from aicenter.backends.ray.backend import RayBackend

    return RayBackend(config.address, state_dir=config.state_dir)


ENTRY: BackendEntry[RayConfig] = BackendEntry(NAME, CAPABILITIES, RayConfig, build, from_settings,
                                               extra="ray")
"""The ray backend's registration (:mod:`aicenter.backends.registry`)."""
