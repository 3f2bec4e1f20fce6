"""PNG plots of simulations: the JCT CDF of one or more policies, utilisation over time.

matplotlib comes with the ``plots`` extra; it is imported when a plot is drawn, so the
simulator (and its JSON and CSV outputs) works without it (:func:`available`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from aicenter.extras import installed, require
from aicenter.simulator.engine import SimulationResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FEATURE = "drawing the simulator's PNG plots"


def available() -> bool:
    """Whether the plots can be drawn here (the ``plots`` extra is installed)."""
    return installed("plots")


def _figure() -> Figure:
    """An empty figure of the size every plot uses; MissingExtraError without matplotlib."""
    require("plots", FEATURE)
    from matplotlib.figure import Figure  # lazy: the optional plots extra, checked just above

    return Figure(figsize=(7, 4.5))


def plot_jct_cdf(results: Sequence[SimulationResult], path: Path) -> Path:
    """Cumulative distribution of job completion times (hours, log scale), one line a policy;
    policies with identical schedules share one line labelled with all their names."""
    fig = _figure()
    ax = fig.subplots()
    names: dict[str, list[str]] = {}
    drawn: list[SimulationResult] = []
    for result in results:
        key = result.schedule_digest or result.policy
        if key not in names:
            names[key] = []
            drawn.append(result)
        names[key].append(result.policy)
    for result in drawn:
        label = " = ".join(names[result.schedule_digest or result.policy])
        jcts = np.sort([r.jct_s / 3600.0 for r in result.jobs if r.jct_s is not None])
        if jcts.size:
            ax.step(jcts, np.arange(1, jcts.size + 1) / jcts.size, where="post",
                    label=label)
    ax.set_xscale("log")
    ax.set_xlabel("job completion time (hours)")
    ax.set_ylabel("fraction of jobs")
    ax.set_title(f"JCT CDF — {results[0].trace}" if results else "JCT CDF")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def plot_utilization(result: SimulationResult, path: Path) -> Path:
    """Busy fraction of every chip type per round over time."""
    fig = _figure()
    ax = fig.subplots()
    chips: dict[str, int] = {}
    for pool in result.snapshot.pools:
        chips[pool.chip_type] = chips.get(pool.chip_type, 0) + pool.count
    t0 = result.rounds[0].start_s if result.rounds else 0.0
    times = [(r.start_s - t0) / 3600.0 for r in result.rounds]
    for chip, count in chips.items():
        ax.plot(times, [r.busy_chips.get(chip, 0) / count for r in result.rounds],
                label=chip, linewidth=0.8)
    ax.set_xlabel("time (hours)")
    ax.set_ylabel("busy fraction")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"utilisation by chip type — {result.policy}, {result.trace}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path
