"""Trace readers: one per trace format, registered by name (DESIGN rule 5).

A reader turns a file into a :class:`~aicenter.simulator.trace.Trace` and says which
throughput matrix that trace replays on: Gavel's job types exist only in Gavel's measured
rates, while aicenter's own traces and Slurm's records name catalog chips and job classes,
so they replay on the catalog's and the planner's estimates with measured rates laid over
them (:func:`estimated_throughputs`). ``aicenter simulate --trace-format`` offers the
registered names, plus ``auto``, which picks a reader by the file's suffix
(:func:`reader_for`). A new format is a class satisfying :class:`TraceReader` passed to
:func:`register`; the built-in readers register the same way, below.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from aicenter.catalog import PerformanceTable, load_catalog
from aicenter.domain.errors import NotFoundError
from aicenter.planner import presets
from aicenter.scheduler.throughput import ThroughputMatrix
from aicenter.simulator.gavel import read_gavel_throughputs, read_gavel_trace
from aicenter.simulator.native import read_native_trace
from aicenter.simulator.sacct import read_sacct
from aicenter.simulator.trace import Trace


class TraceReader(Protocol):
    """Reads one trace format.

    ``name`` is what ``--trace-format`` accepts; ``description`` one line for help and docs;
    ``suffixes`` the file suffixes (lower case, with the dot) that ``auto`` reads with it.
    :meth:`throughputs` builds the matrix the trace replays on from an optional file of
    measured rates and the simulated cluster's chip types; :meth:`read` reads the file
    against that matrix, raising :class:`~aicenter.domain.errors.InputError` naming file,
    line and field for bad input.
    """

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def suffixes(self) -> tuple[str, ...]: ...

    def throughputs(self, measured: Path | None, chip_types: Sequence[str]) -> ThroughputMatrix:
        ...

    def read(self, path: Path, throughputs: ThroughputMatrix, chip_types: Sequence[str]) -> Trace:
        ...


PLANNED_GANG_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
"""Gang sizes the planner estimates rates for (powers of two up to a 1024-chip run)."""


def estimated_throughputs(measured: Path | None, chip_types: Sequence[str]) -> ThroughputMatrix:
    """Catalog estimates and the planner's per-model estimates for the catalog chips among
    ``chip_types``, Gavel's measured rates, then the ``measured`` file (Gavel JSON or CSV;
    measured values win)."""
    catalog = load_catalog()
    known = [c for c in chip_types if c in catalog]
    base = ThroughputMatrix.from_performance(PerformanceTable.from_catalog(catalog), known)
    if known:
        base = base.with_planner(presets().values(), known, PLANNED_GANG_SIZES)
    return base.merged(read_gavel_throughputs(measured))


class GavelReader:
    """Gavel's ``.trace`` files (TAB-separated, one job per line; :mod:`.gavel`), replayed on
    Gavel's measured throughputs: the packaged copy, or the given JSON or CSV instead."""

    name = "gavel"
    description = "Gavel's .trace (Narayanan et al., OSDI 2020) on its measured throughputs"
    suffixes: tuple[str, ...] = (".trace",)

    def throughputs(self, measured: Path | None, chip_types: Sequence[str]) -> ThroughputMatrix:
        """Gavel's job types have rates only in Gavel's own measurements."""
        return read_gavel_throughputs(measured)

    def read(self, path: Path, throughputs: ThroughputMatrix, chip_types: Sequence[str]) -> Trace:
        """Every job may run on every chip type the matrix has a rate for."""
        return read_gavel_trace(path, throughputs)


class SacctReader:
    """A Slurm accounting export (``sacct --parsable2``; :mod:`.sacct`): an operator's own
    history, each job's work taken from how long it ran on the chip it got. Chips neither the
    catalog nor a measured file knows get one unit of ``dense-training`` per chip-second, so
    that a cluster of Slurm's own GPU names replays as it ran."""

    name = "sacct"
    description = "a Slurm accounting export (sacct --parsable2), any other suffix under auto"
    suffixes: tuple[str, ...] = ()

    def throughputs(self, measured: Path | None, chip_types: Sequence[str]) -> ThroughputMatrix:
        """The estimates with a default rate for chip types nothing else knows."""
        estimated = estimated_throughputs(measured, chip_types)
        return estimated.with_default_rate("dense-training", chip_types, 1.0)

    def read(self, path: Path, throughputs: ThroughputMatrix, chip_types: Sequence[str]) -> Trace:
        """GPU types in the export must be among the cluster's ``chip_types``."""
        return read_sacct(path, throughputs, chip_types)


class NativeReader:
    """aicenter's own trace format, CSV or YAML by suffix (:mod:`.native`): tenants with
    weights and quotas, priority classes, deadlines, residency and demands by memory."""

    name = "native"
    description = "aicenter's own trace, CSV or YAML (tenants, priorities, deadlines)"
    suffixes: tuple[str, ...] = (".csv", ".yaml", ".yml")

    def throughputs(self, measured: Path | None, chip_types: Sequence[str]) -> ThroughputMatrix:
        """The catalog's and planner's estimates with measured rates laid over them."""
        return estimated_throughputs(measured, chip_types)

    def read(self, path: Path, throughputs: ThroughputMatrix, chip_types: Sequence[str]) -> Trace:
        """Job classes are checked against the matrix."""
        return read_native_trace(path, throughputs)


_READERS: dict[str, TraceReader] = {}

FALLBACK = "sacct"
"""What ``auto`` reads a file with when no reader claims its suffix: Slurm exports carry no
conventional one (``.txt``, ``.psv``, none at all)."""


def register(reader: TraceReader) -> TraceReader:
    """Add a reader (a second reader with the same name, or a suffix another reader already
    claims, is an error: ``auto`` must have one answer)."""
    if reader.name in _READERS:
        raise ValueError(f"trace reader '{reader.name}' registered twice")
    for other in _READERS.values():
        shared = set(reader.suffixes) & set(other.suffixes)
        if shared:
            raise ValueError(f"trace reader '{reader.name}' claims {', '.join(sorted(shared))}, "
                             f"already read by '{other.name}'")
    _READERS[reader.name] = reader
    return reader


def trace_readers() -> list[TraceReader]:
    """Every registered reader, in registration order."""
    return list(_READERS.values())


def reader_names() -> list[str]:
    """The names ``--trace-format`` accepts (besides ``auto``)."""
    return list(_READERS)


def trace_reader(name: str) -> TraceReader:
    """The reader called ``name``; an unknown name lists the known ones."""
    found = _READERS.get(name)
    if found is None:
        raise NotFoundError(f"unknown trace format '{name}'; known: {', '.join(_READERS)}")
    return found


def reader_for(path: Path) -> TraceReader:
    """The reader whose suffixes include ``path``'s, else :data:`FALLBACK`."""
    suffix = path.suffix.lower()
    for reader in _READERS.values():
        if suffix in reader.suffixes:
            return reader
    return trace_reader(FALLBACK)


BUILT_IN: tuple[TraceReader, ...] = (GavelReader(), SacctReader(), NativeReader())
"""The readers aicenter ships, registered when this module is imported."""

for _reader in BUILT_IN:
    register(_reader)
