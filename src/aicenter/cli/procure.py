"""``aicenter procure``: choose a chip mix that maximises training capacity under a budget."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from aicenter.catalog import PerformanceTable, load_catalog
from aicenter.cli.output import TableFormat, console, print_json, print_rows
from aicenter.domain.accelerator import WorkloadClass
from aicenter.domain.errors import InputError
from aicenter.fleet.procurement import load_offers, optimise
from aicenter.fleet.rubric_file import load_rubric


def procure(
    offers: Annotated[Path, typer.Option("--offers", help="offers YAML file")],
    budget_krw: Annotated[float, typer.Option("--budget-krw", help="capital budget in KRW")],
    power_mw: Annotated[
        float | None, typer.Option("--power-mw", help="site power cap in MW (IT load × PUE)")
    ] = None,
    rubric: Annotated[str | None, typer.Option("--rubric", help="preset or rubric file")] = None,
    min_score: Annotated[
        float | None, typer.Option("--min-score", help="minimum rubric score of the mix")
    ] = None,
    fmt: Annotated[TableFormat, typer.Option("--format")] = TableFormat.TABLE,
) -> None:
    """Maximise dense-training H100-equivalents under budget and power (MILP, HiGHS)."""
    if budget_krw <= 0:
        raise InputError("must be positive", field="--budget-krw")
    if power_mw is not None and power_mw <= 0:
        raise InputError("must be positive", field="--power-mw")
    if (rubric is None) != (min_score is None):
        raise InputError("--rubric and --min-score go together", field="--min-score")
    catalog = load_catalog()
    perf = PerformanceTable.from_catalog(catalog)
    book = load_offers(offers, catalog)
    chosen_rubric = load_rubric(rubric) if rubric else None
    result = optimise(book, perf, Decimal(str(budget_krw)), power_mw, chosen_rubric, min_score)
    rows: list[dict[str, Any]] = []
    for offer, chips in zip(book.offers, result.chips, strict=True):
        ratio = perf.ratio(offer.chip_id, WorkloadClass.DENSE_TRAINING)
        rows.append(
            {
                "offer": offer.id,
                "chip": offer.chip_id,
                "chips": chips,
                "available": offer.available,
                "h100e": round(chips * ratio, 1),
                "cost_krw": float(offer.unit_cost_krw * chips),
                "power_mw": round(chips * offer.power_w * book.site.pue / 1e6, 3),
            }
        )
    summary = {
        "capacity_h100e": round(result.capacity_h100e, 1),
        "cost_krw": float(result.cost_krw),
        "budget_krw": budget_krw,
        "power_mw": round(result.power_mw, 3),
        "power_cap_mw": power_mw,
        "score": result.score,
        "credited_score": result.credited_score,
        "score_max": result.score_max,
        "min_score": min_score,
        "solve_seconds": round(result.solve_seconds, 4),
    }
    if fmt is TableFormat.JSON:
        print_json({"mix": rows, **summary})
        return
    print_rows(rows, "table", title=f"Procurement for {book.name}")
    out = console()
    out.print(f"capacity {result.capacity_h100e:,.1f} h100e (dense training)")
    out.print(f"cost {float(result.cost_krw):,.0f} of {budget_krw:,.0f} KRW")
    cap = f" of {power_mw:g} MW" if power_mw is not None else ""
    out.print(f"power {result.power_mw:,.2f} MW{cap} (incl. PUE {book.site.pue:g})")
    if result.score is not None:
        out.print(
            f"score {result.score:.2f}/{result.score_max:g} with {rubric}"
            + (f" (credited {result.credited_score:.2f} >= {min_score:g})" if min_score else "")
        )
    out.print(f"solved in {result.solve_seconds * 1000:.0f} ms (HiGHS)")
