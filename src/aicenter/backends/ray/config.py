"""The ray backend's configuration and registry entry.

:class:`RayConfig` holds what only this backend needs: the cluster's job server address, a
directory for its stop notes and the Ray nodes' Python. :func:`from_settings` maps the server's
settings (``AICENTER_RAY_ADDRESS``, and ``AICENTER_RAY_PYTHON`` through :class:`RaySettings`)
to it and asks for the start-up check of the cluster. Light
on purpose: nothing here imports Ray; :mod:`aicenter.backends.ray.backend` is imported when a
backend is built, and Ray itself when the backend first talks to the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from aicenter.backends.base import Backend, BackendEntry, Capabilities, CenterSite
from aicenter.domain.errors import InputError

if TYPE_CHECKING:
    from aicenter.settings import Settings

NAME = "ray"

CAPABILITIES = Capabilities(runs_code=True, graceful_stop=True, multi_node=True,
                            reports_capacity=True, places_pools=True)
"""Ray runs the command and stops it with SIGTERM, then SIGKILL after
``RAY_JOB_STOP_WAIT_TIME_S``; a run larger than a node is a gang over nodes (a placement group,
one worker per bundle, :mod:`aicenter.backends.ray.driver`); its capacity is what the cluster's
nodes advertise (``accel:<chip>`` resources). It contains nothing (jobs run as the Ray workers'
user, with their network and files) and runs no sidecar; the devices are its own (each run
claims indices on its node), so it does not take the center's slots (``owns_devices``). A run
placed on a pool goes to the nodes that declare ``pool:<pool id>``
(:mod:`aicenter.backends.ray.backend`)."""

DEFAULT_PYTHON = "python"
"""The Ray nodes' Python (the one with Ray installed: ``python`` in Ray's and KubeRay's
images)."""


@dataclass(frozen=True, slots=True)
class RayConfig:
    """``address``: the Ray dashboard / job server (``http://127.0.0.1:8265``).
    ``state_dir``: where stop reasons are noted (``None``: a stopped run reads CANCELLED).
    ``python``: the command that runs Python with Ray on the cluster's nodes (each run's
    driver). ``check_at_start``: building the backend asks the cluster once, so a server
    pointed at a cluster it cannot reach or is not allowed into stops at start with one line
    saying which (tests and tools that build it offline leave it off)."""

    address: str
    state_dir: Path | None = None
    python: str = DEFAULT_PYTHON
    check_at_start: bool = False

    def __post_init__(self) -> None:
        if not self.address:
            raise InputError("the ray backend needs a Ray address", field="ray_address")


class RaySettings(BaseSettings):
    """The ray backend's own settings, from ``AICENTER_RAY_*`` variables (the address is the
    server's ``ray_address`` setting)."""

    model_config = SettingsConfigDict(env_prefix="AICENTER_RAY_", extra="ignore")

    python: str = Field(default=DEFAULT_PYTHON, description="Command that runs the Ray nodes' "
                        "Python, with Ray installed (AICENTER_RAY_PYTHON): each run's driver "
                        "runs with it.")


def from_settings(settings: Settings, site: CenterSite) -> RayConfig:
    """``ray_address`` from the settings; notes under ``<state dir>/ray``; the cluster is
    checked when the backend is built (the server's start)."""
    if not settings.ray_address:
        raise InputError("the ray backend needs a Ray address (AICENTER_RAY_ADDRESS)",
                         field="ray_address")
    return RayConfig(settings.ray_address, site.state_dir / NAME, RaySettings().python,
                     check_at_start=True)


def build(config: RayConfig) -> Backend:
    """A :class:`~aicenter.backends.ray.backend.RayBackend` (imported here, when built)."""
    # lazy: the registry imports this module; the backend loads the catalog
    from aicenter.backends.ray.backend import RayBackend

    backend = RayBackend(config.address, state_dir=config.state_dir, python=config.python)
    if config.check_at_start:
        backend.check_cluster()
    return backend


ENTRY: BackendEntry[RayConfig] = BackendEntry(NAME, CAPABILITIES, RayConfig, build, from_settings,
                                               extra="ray")
"""The ray backend's registration (:mod:`aicenter.backends.registry`)."""
