"""Backend registry: a name -> factory map, the only place a backend is chosen by name.

The server builds one registry at start-up (``default_registry()`` holds ``local``, ``ray`` and
``virtual``),
reads the backend name from its settings, and calls ``registry.create(name, config)``. Handles
carry the backend name, so after a restart ``registry.create(handle.backend, config)`` gives a
backend that can re-attach to the run. Importing this module does not import Ray: the ``ray``
factory imports it when called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from aicenter.backends.base import Backend
from aicenter.backends.isolation import JobIsolation
from aicenter.catalog.loader import nearest
from aicenter.domain.errors import InputError

if TYPE_CHECKING:
    from aicenter.catalog.performance import PerformanceTable


@dataclass(frozen=True, slots=True)
class BackendConfig:
    """What the server tells a backend when it creates one.

    ``state_dir``: a directory that survives server restarts (run directories, logs, notes).
    ``slots_by_chip``: the center's pools on this machine as accelerator slots, chip type ->
    number of devices (indices ``0..n-1``); used by ``local``. ``ray_address``: the Ray
    dashboard address (``http://127.0.0.1:8265``); used by ``ray``. ``isolation``: how the
    ``local`` backend keeps jobs from the center's files (None: plain processes). ``clock``:
    the time the ``virtual`` backend's runs progress on (the service's clock; None: that
    backend refuses to be built). ``performance``: the chips' H100-equivalent ratios its
    throughput matrix is built from, the service's own (None: the packaged catalog's).
    """

    state_dir: Path
    slots_by_chip: Mapping[str, int] = field(default_factory=dict)
    ray_address: str | None = None
    isolation: JobIsolation | None = None
    clock: Callable[[], datetime] | None = None
    performance: PerformanceTable | None = None


class BackendFactory(Protocol):
    """Builds a backend from the server's configuration."""

    def __call__(self, config: BackendConfig) -> Backend: ...


class BackendRegistry:
    """Backends by name. ``register`` adds one; ``create`` builds one."""

    def __init__(self) -> None:
        self._factories: dict[str, BackendFactory] = {}

    def register(self, name: str, factory: BackendFactory) -> None:
        """Add a backend; a name can be registered once."""
        if name in self._factories:
            raise ValueError(f"backend {name!r} is already registered")
        self._factories[name] = factory

    def names(self) -> list[str]:
        return sorted(self._factories)

    def create(self, name: str, config: BackendConfig) -> Backend:
        """Build the backend called ``name``; ``InputError`` naming the known ones if unknown."""
        factory = self._factories.get(name)
        if factory is None:
            hint = nearest(name, self.names())
            raise InputError(
                f"unknown backend {name!r}; known: {', '.join(self.names())}"
                + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                field="backend",
            )
        return factory(config)


def _local_factory(config: BackendConfig) -> Backend:
    from aicenter.backends.local import LocalBackend

    backend: Backend = LocalBackend(
        config.state_dir / "local", slots_by_chip=config.slots_by_chip,
        isolation=config.isolation,
    )
    return backend


def _ray_factory(config: BackendConfig) -> Backend:
    from aicenter.backends.ray_jobs import RayBackend

    if not config.ray_address:
        raise InputError("the ray backend needs a Ray address", field="ray_address")
    if config.isolation is not None and not config.isolation.allow_weak:
        raise InputError(
            "the ray backend cannot contain jobs (they run as the Ray workers' user, with their "
            "network and files); the center refuses to run jobs it cannot contain unless the "
            "operator sets AICENTER_UNSAFE_ALLOW_WEAK_ISOLATION=true", field="backend")
    backend: Backend = RayBackend(config.ray_address, state_dir=config.state_dir / "ray")
    return backend


def _virtual_factory(config: BackendConfig) -> Backend:
    from aicenter.backends.virtual import VirtualBackend
    from aicenter.scheduler.throughput import ThroughputMatrix

    if config.clock is None:
        raise InputError("the virtual backend needs a clock to run on", field="clock")
    perf = config.performance
    if perf is None:
        from aicenter.catalog import PerformanceTable, load_catalog

        perf = PerformanceTable.from_catalog(load_catalog())
    backend: Backend = VirtualBackend(config.state_dir / "virtual", config.clock,
                                      ThroughputMatrix.from_performance(perf))
    return backend


def default_registry() -> BackendRegistry:
    """A registry with the built-in backends: ``local`` (the default), ``ray`` and
    ``virtual`` (runs on the service's clock, for replays and drills)."""
    registry = BackendRegistry()
    registry.register("local", _local_factory)
    registry.register("ray", _ray_factory)
    registry.register("virtual", _virtual_factory)
    return registry
