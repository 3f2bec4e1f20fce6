"""Every extension point of aicenter, in one place.

An extension point is an interface (a Protocol or an abstract class) plus the registry its
implementations are added to; code that uses one asks the registry and never looks a name up
as a string elsewhere (DESIGN rule 5). The built-in implementations register the same way an
outside one would. ``tests/test_extensions.py`` checks that every registered implementation of
every point is documented and complete (it has every member of the interface); execution
backends also pass the behaviour contract in ``tests/backends/test_contract.py``.

The points (interface; registry):

* **execution backends**: :class:`aicenter.backends.base.Backend`, registered as a
  :class:`~aicenter.backends.base.BackendEntry` (own config,
  :class:`~aicenter.backends.base.Capabilities`);
  ``aicenter.backends.registry.default_registry()``.
* **PII detectors**: :class:`aicenter.exchange.pii.base.CompleteDetector`;
  ``aicenter.exchange.pii.registry.STRUCTURED`` and ``NAMES``.
* **rubric criteria**: :class:`aicenter.fleet.rubric.Criterion`;
  ``aicenter.fleet.rubric.CRITERION_TYPES`` (``@register_criterion``).
* **royalty schemes**: :class:`aicenter.exchange.royalty.RoyaltyScheme`;
  ``aicenter.exchange.royalty.SCHEMES``.
* **scheduling policies**: :class:`aicenter.scheduler.policy.PolicyFactory`;
  ``aicenter.scheduler.policy.register``.
* **trace readers** (the simulator's input formats, ``aicenter simulate --trace-format``):
  :class:`aicenter.simulator.readers.TraceReader`; ``aicenter.simulator.readers.register``.

Each point's implementations are loaded only when asked (:attr:`ExtensionPoint.load`): the
registries pull in their own dependencies (NumPy for the policies, the PII core), and
importing this module must stay cheap.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ExtensionPoint:
    """One extension point: its ``name``, the ``interface`` implementations satisfy
    (``module:attribute``), the ``registry`` they are added to (``module:attribute``) and how
    to read the registered implementations out of it (``implementations``)."""

    name: str
    interface: str
    registry: str
    implementations: Callable[[Any], Iterable[Any]]
    how_to_add: str

    def load_interface(self) -> Any:
        """The interface class (imports its module)."""
        return _resolve(self.interface)

    def load(self) -> list[Any]:
        """Every registered implementation (imports the registry's module)."""
        return list(self.implementations(_resolve(self.registry)))


def _resolve(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _backend_entries(default_registry: Any) -> Iterable[Any]:
    return list(default_registry().entries())


def _detectors(structured: Any) -> Iterable[Any]:
    names = _resolve("aicenter.exchange.pii.registry:NAMES")
    return (*structured, names)


def _criteria(types: Any) -> Iterable[Any]:
    importlib.import_module("aicenter.fleet.criteria")  # the built-ins register when imported
    return list(types.values())


def _schemes(schemes: Any) -> Iterable[Any]:
    return list(schemes.values())


def _policies(factories: Any) -> Iterable[Any]:
    _resolve("aicenter.scheduler.registry:DEFAULT_POLICY")  # the built-ins register on import
    return list(factories())


def _trace_readers(readers: Any) -> Iterable[Any]:
    return list(readers())  # the built-ins register when the registry's module is imported


POINTS: tuple[ExtensionPoint, ...] = (
    ExtensionPoint(
        "execution backends", "aicenter.backends.base:Backend",
        "aicenter.backends.registry:default_registry", _backend_entries,
        "a package under aicenter/backends/ with a config.py defining its config dataclass, "
        "CAPABILITIES and ENTRY (a BackendEntry), listed in default_registry()"),
    ExtensionPoint(
        "PII detectors", "aicenter.exchange.pii.base:CompleteDetector",
        "aicenter.exchange.pii.registry:STRUCTURED", _detectors,
        "one module under aicenter/exchange/pii/ with a CompleteDetector (finding, default "
        "action, normalisation, masking, samples) and a line in STRUCTURED"),
    ExtensionPoint(
        "rubric criteria", "aicenter.fleet.rubric:Criterion",
        "aicenter.fleet.rubric:CRITERION_TYPES", _criteria,
        "a Criterion subclass with type_name, Params and description, decorated with "
        "@register_criterion"),
    ExtensionPoint(
        "royalty schemes", "aicenter.exchange.royalty:RoyaltyScheme",
        "aicenter.exchange.royalty:SCHEMES", _schemes,
        "a PriceBasis member and its scheme in SCHEMES"),
    ExtensionPoint(
        "scheduling policies", "aicenter.scheduler.policy:PolicyFactory",
        "aicenter.scheduler.policy:policy_factories", _policies,
        "a PolicyFactory passed to aicenter.scheduler.policy.register"),
    ExtensionPoint(
        "trace readers", "aicenter.simulator.readers:TraceReader",
        "aicenter.simulator.readers:trace_readers", _trace_readers,
        "a TraceReader (name, description, suffixes for --trace-format auto, the throughput "
        "matrix it replays on, read) passed to aicenter.simulator.readers.register"),
)
"""Every extension point, in the order of the module docstring's table."""


def point(name: str) -> ExtensionPoint:
    """The extension point called ``name`` (``KeyError`` naming the known ones)."""
    for found in POINTS:
        if found.name == name:
            return found
    raise KeyError(f"no extension point {name!r}; known: {', '.join(p.name for p in POINTS)}")
