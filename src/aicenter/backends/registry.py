"""Backend registry: a name -> :class:`~aicenter.backends.base.BackendEntry` map, the only
place a backend is chosen by name.

The server builds one registry at start-up (``default_registry()`` holds ``local``, ``ray`` and
``virtual``; a new backend package, ``slurm`` say, adds its ``ENTRY`` there), reads the backend
name from its settings and calls ``registry.from_settings(settings, site)``: the entry maps the
settings to the backend's own config and builds it. Handles carry the backend name, so after a
restart ``registry.create(handle.backend, config)`` gives a backend that can re-attach to the
run. Importing this module imports no backend's code (nor Ray): each entry builds its backend
when asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aicenter.backends.base import (
    Backend,
    BackendEntry,
    Capabilities,
    CenterSite,
    RunHandle,
)
from aicenter.backends.local.config import ENTRY as LOCAL
from aicenter.backends.ray.config import ENTRY as RAY
from aicenter.backends.slurm.config import ENTRY as SLURM
from aicenter.backends.virtual.config import ENTRY as VIRTUAL
from aicenter.catalog.loader import nearest
from aicenter.domain.errors import InputError
from aicenter.extras import require

if TYPE_CHECKING:
    from pathlib import Path

    from aicenter.settings import Settings

WEAK_CONSENT = "AICENTER_UNSAFE_ALLOW_WEAK_ISOLATION"
"""The setting an operator sets to run tenants' code on a backend that cannot contain it."""


class BackendRegistry:
    """Backends by name. ``register`` adds one; ``create`` and ``from_settings`` build one."""

    def __init__(self) -> None:
        self._entries: dict[str, BackendEntry[Any]] = {}

    def register(self, entry: BackendEntry[Any]) -> None:
        """Add a backend; a name can be registered once."""
        if entry.name in self._entries:
            raise ValueError(f"backend {entry.name!r} is already registered")
        self._entries[entry.name] = entry

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[BackendEntry[Any]]:
        """Every registered backend, by name."""
        return [self._entries[name] for name in self.names()]

    def entry(self, name: str) -> BackendEntry[Any]:
        """The entry called ``name``; ``InputError`` naming the known ones if unknown."""
        found = self._entries.get(name)
        if found is None:
            hint = nearest(name, self.names())
            raise InputError(
                f"unknown backend {name!r}; known: {', '.join(self.names())}"
                + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                field="backend",
            )
        return found

    def capabilities(self, name: str) -> Capabilities:
        """What the backend called ``name`` can do, without building it."""
        return self.entry(name).capabilities

    def create(self, name: str, config: Any) -> Backend:
        """Build the backend called ``name`` from its own config type."""
        return self.entry(name).create(config)

    def from_settings(self, settings: Settings, site: CenterSite) -> Backend:
        """The backend the settings name, configured from them and ``site``.

        Refuses (``InputError``) a backend that runs tenants' code but cannot contain it,
        unless the operator consented with ``unsafe_allow_weak_isolation``: the center never
        runs jobs it cannot contain by default."""
        entry = self.entry(settings.backend)
        if entry.extra is not None:  # the first thing to fix: nothing else can be tried
            require(entry.extra, f"the {entry.name} backend")
        caps = entry.capabilities
        if caps.runs_code and not caps.contains_jobs and not settings.unsafe_allow_weak_isolation:
            raise InputError(
                f"the {entry.name} backend cannot contain jobs (they run as its workers' user, "
                "with their network and files); the center refuses to run jobs it cannot "
                f"contain unless the operator sets {WEAK_CONSENT}=true", field="backend")
        return entry.create(entry.from_settings(settings, site))

    def work_dir(self, handle: RunHandle) -> Path | None:
        """Where the run's working files are on this machine (``None``: not here, or a
        backend this registry does not know)."""
        found = self._entries.get(handle.backend)
        return None if found is None else found.work_dir(handle)


def default_registry() -> BackendRegistry:
    """A registry with the built-in backends: ``local`` (the default), ``ray`` and
    ``virtual`` (runs on the service's clock, for replays and drills)."""
    registry = BackendRegistry()
    for entry in (LOCAL, RAY, SLURM, VIRTUAL):
        registry.register(entry)
    return registry
