"""The virtual backend: runs that progress on an injected clock instead of processes.

:mod:`~aicenter.backends.virtual.config` holds its config, capabilities and registry entry;
:mod:`~aicenter.backends.virtual.backend` the
:class:`~aicenter.backends.virtual.backend.VirtualBackend` (imported on first use, PEP 562:
it loads the throughput model).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aicenter.backends.virtual.backend import VirtualBackend
    from aicenter.backends.virtual.config import ENTRY, VirtualConfig

_HOME = {"VirtualBackend": "backend", "ENTRY": "config", "VirtualConfig": "config"}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'aicenter.backends.virtual' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"aicenter.backends.virtual.{module}"), name)
    globals()[name] = value
    return value


__all__ = ["ENTRY", "VirtualBackend", "VirtualConfig"]
