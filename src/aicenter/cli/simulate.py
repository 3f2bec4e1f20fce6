"""``aicenter simulate``: replay a trace through one or more scheduling policies."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from aicenter.catalog import PerformanceTable, load_catalog
from aicenter.cli.output import TableFormat, print_json, print_rows
from aicenter.domain.errors import InputError
from aicenter.extras import MissingExtraError
from aicenter.scheduler import (
    SchedulerConfig,
    ThroughputMatrix,
    build_policy,
    policy_factories,
    policy_names,
)
from aicenter.scheduler.registry import DEFAULT_POLICY
from aicenter.scheduler.types import Snapshot, Tenant
from aicenter.simulator import plots
from aicenter.simulator.cluster import parse_cluster, with_catalog_facts
from aicenter.simulator.engine import SimulationResult, simulate
from aicenter.simulator.metrics import identical_schedules, summarize
from aicenter.simulator.native import write_native_csv
from aicenter.simulator.readers import (
    estimated_throughputs,
    reader_for,
    reader_names,
    trace_reader,
)
from aicenter.simulator.synthetic import generate
from aicenter.simulator.trace import Trace

AUTO = "auto"
"""``--trace-format auto``: the reader is chosen by the file's suffix (``reader_for``)."""

if TYPE_CHECKING:
    FormatName = str
else:  # the choices Typer offers and checks are the registry's, read when this module loads
    FormatName = Literal[(AUTO, *reader_names())]

SUMMARY_COLUMNS = (
    "policy", "jobs", "finished", "avg_jct_hours", "median_jct_hours", "p95_jct_hours",
    "queue_delay_p50_hours", "queue_delay_p95_hours", "queue_delay_p99_hours",
    "makespan_hours", "jain_fairness", "preemptions", "policy_seconds_total", "rounds",
)
DEADLINE_COLUMNS = ("deadline_jobs", "deadline_misses", "mean_tardiness_hours")
"""Shown when some job of the trace carries a deadline."""


def _cluster_types(spec: str) -> list[str]:
    return [part.split("=")[0].strip() for part in spec.split(",") if part.strip()]


def _load(
    trace: Path | None, fmt: str, throughputs: Path | None, cluster: str,
    synthetic: int | None, jobs_per_hour: float, seed: int,
) -> tuple[Trace, ThroughputMatrix]:
    chip_types = _cluster_types(cluster)
    if synthetic is not None:
        matrix = estimated_throughputs(throughputs, chip_types)
        classes = sorted({k for k in matrix.job_classes() if matrix.knows(k)})
        reference = chip_types[0]
        tenants = (Tenant("university", 2.0), Tenant("startup", 1.0), Tenant("enterprise", 1.0))
        return generate(
            synthetic, seed, matrix, classes, chip_types, reference, jobs_per_hour,
            tenants=tenants,
        ), matrix
    if trace is None:
        raise InputError("give --trace FILE or --synthetic N", field="trace")
    reader = reader_for(trace) if fmt == AUTO else trace_reader(fmt)
    matrix = reader.throughputs(throughputs, chip_types)
    return reader.read(trace, matrix, chip_types), matrix


def _run_one(
    name: str, trace: Trace, snapshot: Snapshot, matrix: ThroughputMatrix,
    config: SchedulerConfig, console: Console,
) -> SimulationResult:
    policy = build_policy(name, matrix, config)
    with Progress(
        TextColumn(f"{name}"), BarColumn(), TextColumn("{task.completed}/{task.total} jobs"),
        TextColumn("t={task.fields[hours]:.0f} h"), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(name, total=len(trace.jobs), hours=0.0)

        def progress(clock_s: float, finished: int, total: int) -> None:
            bar.update(task, completed=finished, hours=clock_s / 3600.0)

        return simulate(trace, snapshot, policy, matrix, config, time.perf_counter, progress)


def simulate_command(
    trace: Annotated[Path | None, typer.Option("--trace", help="trace file to replay")] = None,
    trace_format: Annotated[
        FormatName, typer.Option(
            "--trace-format", help=f"{', '.join(reader_names())} or {AUTO} (by the file's suffix)"
        ),
    ] = AUTO,
    throughputs: Annotated[
        Path | None,
        typer.Option("--throughputs", help="measured throughputs (Gavel JSON or CSV)"),
    ] = None,
    cluster: Annotated[
        str, typer.Option("--cluster", help="pools as TYPE=COUNT,... e.g. v100=12,p100=12,k80=12")
    ] = "v100=12,p100=12,k80=12",
    policy: Annotated[
        str, typer.Option("--policy", help="policy name, or several separated by commas")
    ] = DEFAULT_POLICY,
    round_seconds: Annotated[float, typer.Option("--round-seconds", min=1.0)] = 360.0,
    restart_seconds: Annotated[
        float, typer.Option("--restart-seconds", min=0.0, help="work lost per preemption")
    ] = 0.0,
    node_size: Annotated[
        int | None, typer.Option("--node-size", min=1, help="chips per node (default: pool)")
    ] = None,
    chase_share: Annotated[
        float, typer.Option("--chase-share", min=0.0, max=1.0, help="chase team's guarantee")
    ] = 0.0,
    synthetic: Annotated[
        int | None, typer.Option("--synthetic", min=0, help="generate N jobs instead of a trace")
    ] = None,
    jobs_per_hour: Annotated[float, typer.Option("--jobs-per-hour", min=0.0)] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="seed of the synthetic generator")] = 0,
    out: Annotated[
        Path | None, typer.Option("--out", help="directory for JSON, CSV and PNG plots "
                     "(the PNGs need the 'plots' extra)")
    ] = None,
    fmt: Annotated[TableFormat, typer.Option("--format", help="table or json")] = TableFormat.TABLE,
) -> None:
    # The help text is set below from the policy registry (_help).
    names = [n.strip() for n in policy.split(",") if n.strip()]
    unknown = [n for n in names if n not in policy_names()]
    if unknown or not names:
        raise InputError(
            f"unknown policy '{', '.join(unknown)}'; known: {', '.join(policy_names())}",
            field="policy",
        )
    loaded, matrix = _load(
        trace, trace_format, throughputs, cluster, synthetic, jobs_per_hour, seed
    )
    snapshot = parse_cluster(cluster, matrix.chip_types, node_size)
    snapshot = with_catalog_facts(snapshot, PerformanceTable.from_catalog(load_catalog()))
    snapshot = Snapshot(snapshot.pools, {t.id: t for t in loaded.tenants}, {}, chase_share)
    config = SchedulerConfig(round_s=round_seconds, restart_cost_s=restart_seconds)
    console = Console(file=sys.stderr)
    results = [_run_one(n, loaded, snapshot, matrix, config, console) for n in names]
    summaries = [summarize(r, matrix) for r in results]
    groups = identical_schedules(results)
    for summary in summaries:
        group = next(g for g in groups if summary["policy"] in g)
        summary["same_schedule_as"] = [n for n in group if n != summary["policy"]]
    if out is not None:
        _write_outputs(out, loaded, results, summaries, synthetic is not None)
    if fmt is TableFormat.JSON:
        print_json(summaries[0] if len(summaries) == 1 else summaries)
        return
    columns: tuple[str, ...] = SUMMARY_COLUMNS
    if any(s["deadline_jobs"] for s in summaries):
        columns = (*SUMMARY_COLUMNS, *DEADLINE_COLUMNS)
    rows = [{k: s[k] for k in columns} for s in summaries]
    print_rows(rows, fmt, title=f"{loaded.name} on {cluster}")
    for group in groups:
        if len(group) > 1:
            typer.echo(f"note: {' and '.join(group)} gave identical schedules (the same jobs "
                       "on the same pools in every round); their rows are equal and the JCT "
                       "plot draws them as one line")
    util_rows = [{"policy": s["policy"], **s["utilization"]} for s in summaries]
    print_rows(util_rows, fmt, title="utilisation by chip type")


def _write_outputs(
    out: Path, trace: Trace, results: list[SimulationResult], summaries: list[dict[str, Any]],
    save_trace: bool,
) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create: {exc.strerror}", file=str(out)) from None
    draw = plots.available()
    for result, summary in zip(results, summaries, strict=True):
        (out / f"{result.policy}.json").write_text(json.dumps(summary, indent=2) + "\n")
        lines = ["job_id,tenant,arrival_s,completion_s,jct_hours,preemptions,migrations"]
        for r in result.jobs:
            jct = "" if r.jct_s is None else f"{r.jct_s / 3600.0:.4f}"
            done = "" if r.completion_s is None else f"{r.completion_s:.1f}"
            lines.append(
                f"{r.job.id},{r.job.tenant},{r.job.arrival_s:.1f},{done},{jct},"
                f"{r.preemptions},{r.migrations}"
            )
        (out / f"{result.policy}_jobs.csv").write_text("\n".join(lines) + "\n")
        if draw:
            plots.plot_utilization(result, out / f"utilization_{result.policy}.png")
    if draw:
        plots.plot_jct_cdf(results, out / "jct_cdf.png")
    if save_trace:
        write_native_csv(trace, out / "trace.csv")
    if not draw:  # the JSON and CSV are the results; the PNGs only draw them
        sys.stderr.write(f"note: JSON and CSV written to {out}; "
                         f"{MissingExtraError('plots', plots.FEATURE)}\n")


def _help() -> str:
    """``simulate --help``: what it does, then every registered policy with its description
    (the registry's, so a policy added there is explained here too)."""
    lines = [
        "Replay a trace (Gavel, Slurm sacct or native) on a simulated cluster and report JCTs.",
        "",
        "Also reported: queueing delay (p50/p95/p99 of first start - arrival), deadline "
        "misses and mean tardiness (when the trace carries deadlines), utilisation and "
        "fairness. Policies that give identical schedules are named together.",
        "",
        "\b",
        "Policies (--policy):",
    ]
    for factory in policy_factories():
        default = " (the default)" if factory.name == DEFAULT_POLICY else ""
        lines.append(f"  {factory.name}{default}: {factory.description}")
    return "\n".join(lines)


simulate_command.__doc__ = _help()
