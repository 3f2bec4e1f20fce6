"""The trace-reader registry (:mod:`aicenter.simulator.readers`): lookup by name and by
suffix, the built-ins read as the format modules do, and a new reader registers like them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from aicenter.domain.errors import NotFoundError
from aicenter.scheduler import ThroughputMatrix
from aicenter.simulator import readers
from aicenter.simulator.gavel import read_gavel_throughputs, read_gavel_trace
from aicenter.simulator.native import read_native_trace
from aicenter.simulator.readers import (
    FALLBACK,
    estimated_throughputs,
    reader_for,
    reader_names,
    register,
    trace_reader,
)
from aicenter.simulator.trace import Trace
from tests.conftest import CliResult

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "traces"
Cli = Callable[..., CliResult]


def test_the_built_in_readers_are_registered() -> None:
    assert reader_names() == ["gavel", "sacct", "native"]
    assert FALLBACK in reader_names()


@pytest.mark.parametrize(("name", "expected"), [
    ("x.trace", "gavel"), ("x.CSV", "native"), ("x.yaml", "native"), ("x.yml", "native"),
    ("x.txt", "sacct"), ("x.psv", "sacct"), ("sacct-export", "sacct"),
])
def test_auto_picks_the_reader_by_suffix(name: str, expected: str) -> None:
    assert reader_for(Path(name)).name == expected


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(NotFoundError, match="gavel, sacct, native"):
        trace_reader("parquet")


def test_the_gavel_reader_reads_as_read_gavel_trace() -> None:
    path = EXAMPLES / "gavel" / "physical_las.trace"
    reader = trace_reader("gavel")
    matrix = reader.throughputs(None, ["v100"])
    assert matrix.chip_types == read_gavel_throughputs().chip_types
    assert reader.read(path, matrix, ["v100"]) == read_gavel_trace(path, matrix)


def test_the_native_reader_replays_on_the_estimates() -> None:
    path = EXAMPLES / "center.yaml"
    chips = ["nvidia-h100-sxm", "rebellions-atom"]
    reader = trace_reader("native")
    matrix = reader.throughputs(None, chips)
    assert matrix.rate("dense-training", "nvidia-h100-sxm", 1) > 0
    assert reader.read(path, matrix, chips) == read_native_trace(path, matrix)


def test_the_sacct_reader_gives_unknown_gpus_a_default_rate() -> None:
    chips = ["a100", "v100"]
    matrix = trace_reader("sacct").throughputs(None, chips)
    assert estimated_throughputs(None, chips).rate("dense-training", "v100", 1) <= 0
    assert matrix.rate("dense-training", "v100", 1) == 1.0
    trace = trace_reader("sacct").read(EXAMPLES / "sacct.txt", matrix, chips)
    assert trace.jobs and {d.chip_type for j in trace.jobs for d in j.demand} <= set(chips)


class _EmptyReader:
    """A format with no jobs, to register as an outside reader would."""

    name = "empty"
    description = "no jobs at all"
    suffixes: tuple[str, ...] = (".empty",)

    def throughputs(self, measured: Path | None, chip_types: Sequence[str]) -> ThroughputMatrix:
        return ThroughputMatrix({})

    def read(self, path: Path, throughputs: ThroughputMatrix, chip_types: Sequence[str]) -> Trace:
        return Trace(path.stem, ())


def test_a_new_reader_registers_like_the_built_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "_READERS", dict(readers._READERS))
    register(_EmptyReader())
    assert reader_names()[-1] == "empty"
    assert reader_for(Path("a.empty")).name == "empty"
    with pytest.raises(ValueError, match="registered twice"):
        register(_EmptyReader())


def test_a_reader_may_not_take_another_ones_suffix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "_READERS", dict(readers._READERS))
    claimer = _EmptyReader()
    claimer.name = "also-gavel"
    claimer.suffixes = (".trace",)
    with pytest.raises(ValueError, match=r"\.trace, already read by 'gavel'"):
        register(claimer)
    assert "also-gavel" not in reader_names()


def test_simulate_offers_the_registered_formats(cli: Cli) -> None:
    r = cli("simulate", "--trace", EXAMPLES / "center.yaml", "--trace-format", "parquet")
    assert r.code == 2
    assert "'auto', 'gavel', 'sacct', 'native'" in r.err


def test_simulate_reads_with_the_named_format(cli: Cli) -> None:
    r = cli("simulate", "--trace", EXAMPLES / "center.yaml", "--trace-format", "native",
            "--cluster", "nvidia-h100-sxm=16,rebellions-atom=16", "--policy", "fifo",
            "--format", "json")
    assert r.code == 0, r.err
