"""``aicenter fleet score`` and ``aicenter proposals rank``: rubric scoring of fleets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from aicenter.catalog import PerformanceTable, load_catalog
from aicenter.cli.output import OutputFormat, TableFormat, console, print_json, print_rows
from aicenter.fleet.proposal_file import load_proposal
from aicenter.fleet.rubric import RubricResult
from aicenter.fleet.rubric_file import load_rubric, preset_names

fleet_app = typer.Typer(help="Score a fleet against a rubric.", no_args_is_help=True)
proposals_app = typer.Typer(help="Rank providers' proposals.", no_args_is_help=True)

RubricOption = Annotated[
    str,
    typer.Option("--rubric", help="preset name (india-diversity, korea-nacc-2025, ...) or file"),
]
ThroughputsOption = Annotated[
    Path | None,
    typer.Option("--throughputs", help="CSV of measured relative throughputs overriding estimates"),
]


def _score(files: list[Path], rubric_name: str, throughputs: Path | None) -> list[RubricResult]:
    catalog = load_catalog()
    perf = PerformanceTable.from_catalog(catalog, throughputs)
    rubric = load_rubric(rubric_name)
    proposals = [load_proposal(f, catalog) for f in files]
    return rubric.score_all(proposals, perf)


def _breakdown_table(result: RubricResult) -> None:
    rows: list[dict[str, Any]] = [
        {"criterion": c.id, "points": c.points, "max": c.max, "explanation": c.explanation}
        for c in result.criteria
    ]
    rows.append(
        {"criterion": "TOTAL", "points": result.total, "max": result.max, "explanation": ""}
    )
    print_rows(rows, "table", title=f"{result.proposal} — {result.rubric}")


@fleet_app.command("score")
def score(
    file: Annotated[Path, typer.Argument(help="fleet or proposal YAML file")],
    rubric: RubricOption,
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.TABLE,
    throughputs: ThroughputsOption = None,
) -> None:
    """Score one fleet: total, and per criterion the points, the max and why."""
    (result,) = _score([file], rubric, throughputs)
    if fmt is TableFormat.JSON:
        print_json(result.as_dict())
    else:
        _breakdown_table(result)


@fleet_app.command("rubrics")
def rubrics() -> None:
    """List the rubric presets shipped with aicenter."""
    rows = []
    for name in preset_names():
        r = load_rubric(name)
        rows.append(
            {
                "preset": name,
                "name": r.name,
                "max": r.max_points,
                "criteria": ", ".join(c.id for c in r.criteria),
            }
        )
    print_rows(rows, "table")


@proposals_app.command("rank")
def rank(
    files: Annotated[list[Path], typer.Argument(help="proposal YAML files")],
    rubric: RubricOption,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TABLE,
    throughputs: ThroughputsOption = None,
) -> None:
    """Rank proposals by total score, with the per-criterion breakdown."""
    results = _score(files, rubric, throughputs)
    order = sorted(range(len(results)), key=lambda i: (-results[i].total, results[i].proposal))
    ranked = [(position, results[i], files[i]) for position, i in enumerate(order, start=1)]
    if fmt is OutputFormat.JSON:
        print_json([{"rank": pos, "file": str(f), **r.as_dict()} for pos, r, f in ranked])
        return
    rows: list[dict[str, Any]] = []
    for pos, r, f in ranked:
        row: dict[str, Any] = {"rank": pos, "proposal": r.proposal, "file": str(f)}
        row.update({c.id: c.points for c in r.criteria})
        row.update({"total": r.total, "max": r.max})
        rows.append(row)
    if fmt is OutputFormat.CSV:
        print_rows(rows, fmt)
        return
    print_rows(rows, fmt, title=f"Proposals ranked by {results[0].rubric}")
    out = console()
    for pos, r, _ in ranked:
        out.print(Text.assemble((f"{pos}. {r.proposal}", "bold"), f" {r.total:g}/{r.max:g}"))
        for c in r.criteria:
            out.print(Text(f"   {c.id}: {c.points:.2f}/{c.max:g} — {c.explanation}"))
