"""Backend registry: a name -> factory map, the only place a backend is chosen by name.

The server builds one registry at start-up (``default_registry()`` holds ``local`` and ``ray``),
reads the backend name from its settings, and calls ``registry.create(name, config)``. Handles
carry the backend name, so after a restart ``registry.create(handle.backend, config)`` gives a
backend that can re-attach to the run. Importing this module does not import Ray: the ``ray``
factory imports it when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from aicenter.backends.base import Backend
from aicenter.backends.isolation import JobIsolation
from aicenter.catalog.loader import nearest
from aicenter.domain.errors import InputError


@dataclass(frozen=True, slots=True)
class BackendConfig:
    """What the server tells a backend when it creates one.

    ``state_dir``: a directory that survives server restarts (run directories, logs, notes).
    ``slots_by_chip``: the center's pools on this machine as accelerator slots, chip type ->
    number of devices (indices ``0..n-1``); used by ``local``. ``ray_address``: the Ray
    dashboard address (``http://127.0.0.1:8265``); used by ``ray``. ``isolation``: how the
    ``local`` backend keeps jobs from the center's files (None: plain processes).
    """

    state_dir: Path
    slots_by_chip: Mapping[str, int] = field(default_factory=dict)
    ray_address: str | None = None
    isolation: JobIsolation | None = None


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
    backend: Backend = RayBackend(config.ray_address, state_dir=config.state_dir / "ray")
    return backend


def default_registry() -> BackendRegistry:
    """A registry with the built-in backends: ``local`` (the default) and ``ray``."""
    registry = BackendRegistry()
    registry.register("local", _local_factory)
    registry.register("ray", _ray_factory)
    return registry
