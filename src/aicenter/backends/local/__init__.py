"""The local backend: jobs as processes on this machine, in the kernel box.

Layout: :mod:`~aicenter.backends.local.config` (its config, capabilities and registry entry),
:mod:`~aicenter.backends.local.backend` (the :class:`LocalBackend`),
:mod:`~aicenter.backends.local.box` (which box jobs get), :mod:`~aicenter.backends.local.runner`
and :mod:`~aicenter.backends.local.rundir` (the runner process that outlives the server and
its files), and the containment it alone provides: :mod:`~aicenter.backends.local.isolation`
(the wrapper), :mod:`~aicenter.backends.local.container` (the contained box),
:mod:`~aicenter.backends.local.isolation_sys` (the Linux calls),
:mod:`~aicenter.backends.local.cgroups` (limits) and :mod:`~aicenter.backends.local.egress`
(filtered egress). These are this backend's because they box a process on the server's own
host; a backend on other machines (Ray, Slurm) contains jobs with that engine's means, or
declares that it cannot (:class:`~aicenter.backends.base.Capabilities`).

Names are imported on first use (PEP 562): the runner and the isolation wrapper, started for
every job as ``python -m aicenter.backends.local.<module>``, load this package and must not
load the catalog with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aicenter.backends.local.backend import LocalBackend
    from aicenter.backends.local.box import ContainmentUnavailableError
    from aicenter.backends.local.config import ENTRY, WORK_DIR, LocalConfig

_HOME = {
    "LocalBackend": "backend",
    "ContainmentUnavailableError": "box",
    "ENTRY": "config",
    "LocalConfig": "config",
    "WORK_DIR": "config",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'aicenter.backends.local' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"aicenter.backends.local.{module}"), name)
    globals()[name] = value
    return value


__all__ = ["ENTRY", "WORK_DIR", "ContainmentUnavailableError", "LocalBackend", "LocalConfig"]
