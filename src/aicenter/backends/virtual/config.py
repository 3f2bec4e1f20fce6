"""The virtual backend's configuration and registry entry.

:class:`VirtualConfig` holds what only this backend needs: a state directory, the clock its
runs progress on and the H100-equivalent ratios their rates come from. Light on purpose: the
throughput model (NumPy) is imported when a backend is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aicenter.backends.base import Backend, BackendEntry, Capabilities, CenterSite
from aicenter.domain.errors import InputError

if TYPE_CHECKING:
    from aicenter.catalog.performance import PerformanceTable
    from aicenter.settings import Settings

NAME = "virtual"

CAPABILITIES = Capabilities(places_pools=True)
"""Nothing runs: a run is work done at a rate on the clock, stopped at once (no grace, no
process to checkpoint); no box, sidecar, devices or limits are needed for a model. A run
placed on a pool counts against that pool's chips (its own accounting) and its status names
the pool."""


@dataclass(frozen=True, slots=True)
class VirtualConfig:
    """``state_dir``: where ``state.json`` lives. ``clock``: the time runs progress on (the
    service's clock). ``performance``: the chips' H100-equivalent ratios the throughput matrix
    is built from (``None``: the packaged catalog's). ``restart_cost_s``: lost by a job's every
    run after its first."""

    state_dir: Path
    clock: Callable[[], datetime]
    performance: PerformanceTable | None = None
    restart_cost_s: float = 0.0

    def __post_init__(self) -> None:
        if self.restart_cost_s < 0:
            raise InputError("restart cost must be >= 0 seconds", field="restart_cost_s")


def from_settings(settings: Settings, site: CenterSite) -> VirtualConfig:
    """Runs on the service's clock, under ``<state dir>/virtual``, with its ratios."""
    if site.clock is None:
        raise InputError("the virtual backend needs a clock to run on", field="clock")
    return VirtualConfig(site.state_dir / NAME, site.clock, site.performance)


def build(config: VirtualConfig) -> Backend:
    """A :class:`~aicenter.backends.virtual.backend.VirtualBackend` (imported here, when
    built, with the throughput model)."""
    # lazy: the registry imports this module; the throughput model loads NumPy
    from aicenter.backends.virtual.backend import VirtualBackend
    from aicenter.catalog import PerformanceTable, load_catalog
    from aicenter.scheduler.throughput import ThroughputMatrix

    perf = config.performance or PerformanceTable.from_catalog(load_catalog())
    return VirtualBackend(config.state_dir, config.clock,
                          ThroughputMatrix.from_performance(perf), config.restart_cost_s)


ENTRY: BackendEntry[VirtualConfig] = BackendEntry(
    NAME, CAPABILITIES, VirtualConfig, build, from_settings)
"""The virtual backend's registration (:mod:`aicenter.backends.registry`)."""
