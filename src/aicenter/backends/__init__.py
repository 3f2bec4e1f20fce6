"""Execution backends: where jobs really run.

The contract (value types, :class:`Capabilities`, the ``Backend`` Protocol, the rules about
restarts, logs and termination, the :class:`BackendEntry` a backend registers with) is
documented in :mod:`aicenter.backends.base`; the environment a job sees for its accelerators
in :mod:`aicenter.backends.devices` (shared: every backend that knows its devices sets it);
backends are chosen through :mod:`aicenter.backends.registry`. Each backend is a package with
a config of its own: ``local`` (processes on this machine, in the kernel box,
:mod:`aicenter.backends.local`), ``ray`` (Ray Jobs on a Ray cluster,
:mod:`aicenter.backends.ray`) and ``virtual`` (runs on a clock, :mod:`aicenter.backends.virtual`).

Typical use by the server::

    registry = default_registry()
    backend = registry.from_settings(settings, CenterSite(state_dir=home / "runs",
                                                          slots_by_chip={"nvidia-h100-sxm": 8}))
    # or, from a backend's own config:
    backend = registry.create("local", LocalConfig(home / "runs" / "local"))
    handle = backend.launch(LaunchRequest(run_id="job-42-try-1", command=("python", "train.py"),
                                          chip_type="nvidia-h100-sxm", chip_count=2,
                                          device_ids=(0, 1), max_duration_s=3600))
    store(str(handle))                      # in the job's row
    ...                                     # later, maybe in a restarted server:
    handle = RunHandle.parse(stored_text)
    backend = registry.create(handle.backend, config)
    backend.status(handle); backend.read_log(handle, offset)
    backend.terminate(handle, StopReason.PREEMPT)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aicenter.backends.base import (
        DEFAULT_GRACE_PERIOD_S,
        Backend,
        BackendEntry,
        BackendUnavailableError,
        Capabilities,
        CenterSite,
        JobLimits,
        LaunchRequest,
        LogChunk,
        PoolTarget,
        RunHandle,
        RunState,
        RunStatus,
        StopReason,
        read_whole_log,
        wait_until_finished,
    )
    from aicenter.backends.devices import accelerator_env
    from aicenter.backends.registry import BackendRegistry, default_registry

_HOME = {
    "DEFAULT_GRACE_PERIOD_S": "base",
    "Backend": "base",
    "BackendEntry": "base",
    "BackendUnavailableError": "base",
    "Capabilities": "base",
    "CenterSite": "base",
    "JobLimits": "base",
    "LaunchRequest": "base",
    "LogChunk": "base",
    "PoolTarget": "base",
    "RunHandle": "base",
    "RunState": "base",
    "RunStatus": "base",
    "StopReason": "base",
    "read_whole_log": "base",
    "wait_until_finished": "base",
    "accelerator_env": "devices",
    "BackendRegistry": "registry",
    "default_registry": "registry",
}
"""Public name -> submodule. Imported on first use (PEP 562) so that the runner process,
which imports only ``aicenter.backends.local.rundir``, starts without loading the catalog."""


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'aicenter.backends' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"aicenter.backends.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_GRACE_PERIOD_S",
    "Backend",
    "BackendEntry",
    "BackendRegistry",
    "BackendUnavailableError",
    "Capabilities",
    "CenterSite",
    "JobLimits",
    "LaunchRequest",
    "LogChunk",
    "PoolTarget",
    "RunHandle",
    "RunState",
    "RunStatus",
    "StopReason",
    "accelerator_env",
    "default_registry",
    "read_whole_log",
    "wait_until_finished",
]
