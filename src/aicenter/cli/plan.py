"""``aicenter plan``: cost, time and energy of a training run on each chip type.

``aicenter plan --model NAME|FILE --tokens T --chip ID --count N`` plans one run (or
``--pool ID=N,ID=N`` a mixed pool); ``plan compare`` puts every trainable chip type side by
side (with ``--deadline-days`` the cheapest count meeting it); ``plan validate`` checks the
planner against published runs; ``plan programme`` sets the final-run headline beside the
programme's full cost.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress

from aicenter.catalog import load_catalog
from aicenter.cli.output import TableFormat, console, print_json, print_record, print_rows, say
from aicenter.domain.errors import InputError
from aicenter.planner.calibration import default_calibration
from aicenter.planner.compare import (
    ChipOption,
    cheapest,
    compare_chips,
    parse_pool,
    plan_pool,
    unpriced,
)
from aicenter.planner.cost import CostAssumptions, Ownership, RunCost
from aicenter.planner.memory import training_refusal
from aicenter.planner.model import ModelSpec, StageKind, StageSpec, resolve_model
from aicenter.planner.plan import Plan, PlanOptions, plan_record, plan_run, stages_for
from aicenter.planner.programme import ProgrammeAssumptions, programme_report
from aicenter.planner.runs import calibration_runs, read_runs
from aicenter.planner.validate import Validation, validate_held_out, validate_runs

app = typer.Typer(
    help="Plan a training run: FLOPs, chip-hours, days, energy and cost per chip type.",
    invoke_without_command=True,
)

ModelOpt = Annotated[str | None, typer.Option("--model", help="preset name or model YAML file")]
TokensOpt = Annotated[
    str | None, typer.Option("--tokens", help="training tokens of the main stage, e.g. 14.8e12")
]
FormatOpt = Annotated[TableFormat, typer.Option("--format", help="table or json")]
WithStagesOpt = Annotated[
    bool,
    typer.Option("--with-stages", help="add the preset's context-extension/post-training items"),
]
ContextTokensOpt = Annotated[
    str | None, typer.Option("--context-tokens", help="tokens of an extra context-extension item")
]
ContextSeqOpt = Annotated[int, typer.Option("--context-seq", help="its sequence length")]
PostTokensOpt = Annotated[
    str | None, typer.Option("--post-tokens", help="tokens of an extra post-training item")
]
PriceOpt = Annotated[
    float | None,
    typer.Option("--price-usd-per-chip-hour", help="rental price (default: the catalog's)"),
]
TariffOpt = Annotated[float, typer.Option("--tariff-krw-per-kwh", help="electricity tariff")]
RateOpt = Annotated[float, typer.Option("--krw-per-usd", help="exchange rate")]
PueOpt = Annotated[float, typer.Option("--pue", help="power usage effectiveness")]
NodeOpt = Annotated[float, typer.Option("--node-factor", help="node power / accelerator power")]
PowerOpt = Annotated[
    float, typer.Option("--power-fraction", help="average accelerator power / TDP")
]
OwnedOpt = Annotated[
    bool, typer.Option("--owned", help="price as owned hardware: electricity + capex")
]
CapexOpt = Annotated[
    float | None, typer.Option("--capex-usd-per-chip", help="purchase price per chip (owned)")
]
YearsOpt = Annotated[float, typer.Option("--amortisation-years", help="capex write-off period")]
UseOpt = Annotated[float, typer.Option("--utilisation", help="share of hours the chips are used")]
InterestOpt = Annotated[
    float, typer.Option("--interest-rate", help="yearly interest on the capex (owned; 0 = none)")
]
SystemOpt = Annotated[
    float,
    typer.Option("--system-factor",
                 help="installed cost per chip / chip price: servers and network (owned)"),
]
OpsOpt = Annotated[
    float,
    typer.Option("--operations-share",
                 help="yearly operating cost other than energy / installed capex (owned)"),
]
BasisOpt = Annotated[
    Ownership,
    typer.Option("--basis", help="cost basis 'cheapest' is chosen on: rental or owned"),
]
MfuOpt = Annotated[float | None, typer.Option("--mfu", help="override the calibrated MFU")]
OverheadOpt = Annotated[
    float | None, typer.Option("--overhead", help="override the calibrated overhead factor")
]
RolloutOpt = Annotated[
    float, typer.Option("--rl-rollout-efficiency", help="RL rollout MFU / training MFU")
]

_DEFAULTS = CostAssumptions()


def _tokens(text: str | None, option: str) -> float:
    if text is None:
        raise InputError(f"missing {option} (e.g. {option} 14.8e12)", field=option.lstrip("-"))
    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise InputError(f"'{text}' is not a number", field=option.lstrip("-")) from None
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"'{text}' must be a positive number", field=option.lstrip("-"))
    return value


def _model(name: str | None) -> ModelSpec:
    if not name:
        raise InputError("missing --model (a preset name or a model YAML file)", field="model")
    return resolve_model(name)


def _assumptions(
    price: float | None, tariff: float, rate: float, pue: float, node: float, power: float,
    owned: bool, capex: float | None, years: float, use: float,
    interest: float = _DEFAULTS.interest_rate, system: float = _DEFAULTS.system_factor,
    operations: float = _DEFAULTS.operations_share,
) -> CostAssumptions:
    return CostAssumptions(
        tariff_krw_per_kwh=tariff,
        krw_per_usd=rate,
        pue=pue,
        node_factor=node,
        average_power_fraction=power,
        ownership=Ownership.OWNED if owned else Ownership.RENTAL,
        price_usd_per_chip_hour=price,
        capex_usd_per_chip=capex,
        amortisation_years=years,
        utilisation=use,
        interest_rate=interest,
        system_factor=system,
        operations_share=operations,
    )


def _stages(
    model: ModelSpec, tokens: float, with_stages: bool, context_tokens: str | None,
    context_seq: int, post_tokens: str | None,
) -> tuple[list[StageSpec], list[str]]:
    extra: list[StageSpec] = []
    if context_tokens is not None:
        extra.append(StageSpec("context-extension", StageKind.CONTEXT_EXTENSION,
                               _tokens(context_tokens, "--context-tokens"), context_seq))
    if post_tokens is not None:
        extra.append(StageSpec("post-training", StageKind.POST_TRAINING,
                               _tokens(post_tokens, "--post-tokens"), model.seq_len))
    include = (
        (StageKind.CONTEXT_EXTENSION, StageKind.POST_TRAINING, StageKind.RL) if with_stages else ()
    )
    return stages_for(model, tokens, include=include, extra=tuple(extra))


def _print_plan(plan: Plan, fmt: TableFormat) -> None:
    record = plan_record(plan)
    if fmt is TableFormat.JSON:
        print_json(record)
        return
    summary = {
        "model": record["model"],
        "chip": f"{record['count']} × {record['chip']}",
        "fits": record["fits"] if record["fits"] else f"no: {record['memory']['reason']}",
        "flops": f"{record['flops']:.3e}",
        "chip_hours": record["chip_hours"],
        "ideal_chip_hours (no overhead)": record["ideal_chip_hours"],
        "wall_days": record["wall_days"],
        "energy_kwh": record["energy_kwh"],
        "cost_krw": record["cost"]["krw"],
        "cost_usd": record["cost"]["usd"],
        "cost_basis": record["cost"]["basis"],
        "memory_per_chip_gb": record["memory"]["per_chip_gb"],
        "min_chips": record["memory"]["min_chips"],
    }
    print_record(summary, fmt)
    items = [
        {**item, "tokens": f"{item['tokens']:.4g}", "flops": f"{item['flops']:.3e}"}
        for item in record["line_items"]
    ]
    print_rows(items, fmt, title="Line items")
    print_record(record["assumptions"], fmt)
    for line in record["warnings"]:
        say(f"warning: {line}")
    for line in record["skipped_line_items"] + record["model_notes"]:
        say(f"note: {line}")


@app.callback()
def plan(
    ctx: typer.Context,
    model: ModelOpt = None,
    tokens: TokensOpt = None,
    chip: Annotated[str | None, typer.Option("--chip", help="catalog chip id")] = None,
    count: Annotated[int, typer.Option("--count", help="number of chips")] = 1024,
    pool: Annotated[
        str | None,
        typer.Option("--pool", help="mixed pool, e.g. nvidia-h100-sxm=1024,amd-mi300x=512"),
    ] = None,
    fmt: FormatOpt = TableFormat.TABLE,
    with_stages: WithStagesOpt = False,
    context_tokens: ContextTokensOpt = None,
    context_seq: ContextSeqOpt = 32768,
    post_tokens: PostTokensOpt = None,
    price: PriceOpt = None,
    tariff: TariffOpt = _DEFAULTS.tariff_krw_per_kwh,
    rate: RateOpt = _DEFAULTS.krw_per_usd,
    pue: PueOpt = _DEFAULTS.pue,
    node: NodeOpt = _DEFAULTS.node_factor,
    power: PowerOpt = _DEFAULTS.average_power_fraction,
    owned: OwnedOpt = False,
    capex: CapexOpt = None,
    years: YearsOpt = _DEFAULTS.amortisation_years,
    use: UseOpt = _DEFAULTS.utilisation,
    mfu: MfuOpt = None,
    overhead: OverheadOpt = None,
    rollout: RolloutOpt = 0.3,
) -> None:
    """Plan one run on COUNT chips of one type (or a mixed --pool)."""
    if ctx.invoked_subcommand is not None:
        return
    spec = _model(model)
    stages, skipped = _stages(spec, _tokens(tokens, "--tokens"), with_stages, context_tokens,
                              context_seq, post_tokens)
    assumptions = _assumptions(price, tariff, rate, pue, node, power, owned, capex, years, use)
    options = PlanOptions(mfu=mfu, overhead=overhead, rl_rollout_efficiency=rollout)
    catalog = load_catalog()
    calibration = default_calibration()
    if pool:
        _print_pool(spec, stages, parse_pool(pool), assumptions, options, fmt)
        return
    if not chip:
        raise InputError("missing --chip (a catalog id) or --pool", field="chip")
    result = plan_run(spec, catalog.get(chip), count, stages, calibration, catalog, assumptions,
                      options, skipped)
    _print_plan(result, fmt)


def _print_pool(
    spec: ModelSpec, stages: list[StageSpec], pool: dict[str, int],
    assumptions: CostAssumptions, options: PlanOptions, fmt: TableFormat,
) -> None:
    catalog = load_catalog()
    result = plan_pool(spec, stages, pool, default_calibration(), catalog, assumptions, options)
    parts = [
        {
            "chip": p.chip.id,
            "count": p.count,
            "mfu": p.mfu.mfu,
            "chip_hours": hours,
            "energy_kwh": cost.energy_kwh,
            "cost_krw": float(cost.krw.rounded()),
            "cost_usd": float(cost.usd.rounded()),
            "cost_basis": cost.basis,
        }
        for p, hours, cost in result.parts
    ]
    record: dict[str, Any] = {
        "flops": result.flops,
        "chip_hours": result.chip_hours,
        "wall_days": result.wall_days,
        "energy_kwh": result.energy_kwh,
        "cost": {
            "krw": sum(p["cost_krw"] for p in parts),
            "usd": sum(p["cost_usd"] for p in parts),
        },
        "fits": True,
        "model": spec.name,
        "pool": parts,
        "assumptions": {
            "heterogeneous_efficiency": result.efficiency,
            "overhead_factor": result.parts[0][0].overhead,
            "pue": assumptions.pue,
            "node_factor": assumptions.node_factor,
            "tariff_krw_per_kwh": assumptions.tariff_krw_per_kwh,
            "krw_per_usd": assumptions.krw_per_usd,
        },
    }
    if fmt is TableFormat.JSON:
        print_json(record)
        return
    print_rows(parts, fmt, title=f"{spec.name} on a mixed pool: {result.wall_days:,.1f} days")
    summary = {
        "flops": f"{record['flops']:.3e}",
        "chip_hours": record["chip_hours"],
        "wall_days": record["wall_days"],
        "energy_kwh": record["energy_kwh"],
        "cost_krw": record["cost"]["krw"],
        "cost_usd": record["cost"]["usd"],
        **record["assumptions"],
    }
    print_record(summary, fmt)


def _money(cost: RunCost | None) -> tuple[float | None, float | None]:
    if cost is None:
        return None, None
    return float(cost.krw.rounded()), float(cost.usd.rounded())


def _compare_record(row: ChipOption, best: ChipOption | None) -> dict[str, Any]:
    """One row of ``plan compare``: rental and owned cost in separate keys with their units."""
    p, costs = row.plan, row.costs
    rental = costs.rental if costs else None
    owned = costs.owned if costs else None
    rental_krw, rental_usd = _money(rental)
    owned_krw, owned_usd = _money(owned)
    return {
        "chip": row.chip_id,
        "count": p.count if p else None,
        "fits": p.fits if p else False,
        "mfu": round(p.mfu.mfu, 4) if p else None,
        "chip_hours": p.chip_hours if p else None,
        "wall_days": p.wall_days if p else None,
        "energy_kwh": p.cost.energy_kwh if p else None,
        "rental_krw": rental_krw,
        "rental_usd": rental_usd,
        "rental_usd_per_chip_hour": rental.price_usd_per_chip_hour if rental else None,
        "rental_note": (rental.basis if rental else costs.rental_missing) if costs else "",
        "owned_krw": owned_krw,
        "owned_usd": owned_usd,
        "owned_capex_krw": float(owned.capex_krw.rounded()) if owned else None,
        "owned_energy_krw": float(owned.electricity_krw.rounded()) if owned else None,
        "owned_operations_krw": float(owned.operations_krw.rounded()) if owned else None,
        "capex_usd_per_chip": owned.capex_usd_per_chip if owned else None,
        "capex_source": owned.capex_source if owned else None,
        "owned_note": (owned.basis if owned else costs.owned_missing) if costs else "",
        "meets_deadline": row.meets_deadline,
        "cheapest": best is not None and row is best,
        "note": row.note,
    }


@app.command("compare")
def compare(
    model: ModelOpt = None,
    tokens: TokensOpt = None,
    count: Annotated[int, typer.Option("--count", help="chips per type")] = 1024,
    deadline: Annotated[
        float | None,
        typer.Option("--deadline-days", help="find the cheapest type and count meeting it"),
    ] = None,
    fmt: FormatOpt = TableFormat.TABLE,
    with_stages: WithStagesOpt = False,
    basis: BasisOpt = Ownership.RENTAL,
    price: PriceOpt = None,
    tariff: TariffOpt = _DEFAULTS.tariff_krw_per_kwh,
    rate: RateOpt = _DEFAULTS.krw_per_usd,
    pue: PueOpt = _DEFAULTS.pue,
    node: NodeOpt = _DEFAULTS.node_factor,
    power: PowerOpt = _DEFAULTS.average_power_fraction,
    owned: Annotated[bool, typer.Option("--owned", help="same as --basis owned")] = False,
    capex: Annotated[
        float | None,
        typer.Option("--capex-usd-per-chip",
                     help="purchase price per chip for every type (default: chip_prices.csv)"),
    ] = None,
    years: YearsOpt = _DEFAULTS.amortisation_years,
    use: UseOpt = _DEFAULTS.utilisation,
    interest: InterestOpt = _DEFAULTS.interest_rate,
    system: SystemOpt = _DEFAULTS.system_factor,
    operations: OpsOpt = _DEFAULTS.operations_share,
    overhead: OverheadOpt = None,
) -> None:
    """One row per trainable chip type, rental and owned cost in separate columns.

    Rental = chip-hours x the catalog's price per chip-hour. Owned = amortised installed capex
    (purchase price from planner/data/chip_prices.csv x --system-factor, over
    --amortisation-years at --utilisation, --interest-rate) + energy (--pue, --node-factor,
    --tariff-krw-per-kwh) + operations (--operations-share of installed capex a year). A chip
    without a price on a basis shows "no price" there and is left out of "cheapest" on that
    basis, with the reason printed.
    """
    spec = _model(model)
    stages, _ = _stages(spec, _tokens(tokens, "--tokens"), with_stages, None, 0, None)
    chosen = Ownership.OWNED if owned else basis
    assumptions = _assumptions(price, tariff, rate, pue, node, power, chosen is Ownership.OWNED,
                               capex, years, use, interest, system, operations)
    catalog = load_catalog()
    rows = compare_chips(spec, stages, count, default_calibration(), catalog, assumptions,
                         PlanOptions(overhead=overhead), deadline)
    best = cheapest(rows, chosen)
    left_out = [{"chip": chip, "reason": why} for chip, why in unpriced(rows, chosen)]
    records = [_compare_record(row, best) for row in rows]
    refused = [
        {"chip": c.id, "reason": reason}
        for c in catalog
        if (reason := _refusal(c.id))
    ]
    if fmt is TableFormat.JSON:
        print_json({
            "model": spec.name,
            "tokens": stages[0].tokens,
            "deadline_days": deadline,
            "basis": chosen.value,
            "rows": records,
            "cheapest": records[rows.index(best)] if best else None,
            "cheapest_basis": chosen.value,
            "not_priced_on_basis": left_out,
            "not_trainable": refused,
            "assumptions": {
                "krw_per_usd": assumptions.krw_per_usd,
                "tariff_krw_per_kwh": assumptions.tariff_krw_per_kwh,
                "pue": assumptions.pue,
                "node_factor": assumptions.node_factor,
                "average_power_fraction": assumptions.average_power_fraction,
                "amortisation_years": assumptions.amortisation_years,
                "utilisation": assumptions.utilisation,
                "interest_rate": assumptions.interest_rate,
                "system_factor": assumptions.system_factor,
                "operations_share_per_year": assumptions.operations_share,
                "rental_price_usd_per_chip_hour_override": assumptions.price_usd_per_chip_hour,
                "capex_usd_per_chip_override": assumptions.capex_usd_per_chip,
            },
            "overhead_factor": default_calibration().overhead if overhead is None else overhead,
        })
        return
    shown = [
        {**r,
         "rental_krw": "no price" if r["rental_krw"] is None else r["rental_krw"],
         "owned_krw": "no price" if r["owned_krw"] is None else r["owned_krw"]}
        for r in records
    ]
    columns = ["chip", "count", "fits", "mfu", "chip_hours", "wall_days", "energy_kwh",
               "rental_krw", "owned_krw", "meets_deadline", "cheapest"]
    title = f"{spec.name}, {stages[0].tokens:.3g} tokens" + (
        f", deadline {deadline:g} days" if deadline else f", {count} chips per type")
    print_rows(shown, fmt, columns, title=title)
    out = console()
    if best is not None and best.plan is not None:
        cost = best.costs.on(chosen) if best.costs else None
        assert cost is not None
        out.print(f"cheapest on the {chosen.value} basis: {best.plan.count} × {best.chip_id}, "
                  f"{cost.krw} ({cost.usd}), {best.plan.wall_days:,.1f} days")
    else:
        out.print(f"cheapest on the {chosen.value} basis: none (no fitting chip has a "
                  f"{chosen.value} price)")
    for item in left_out:
        say(f"not in cheapest ({chosen.value}): {item['chip']}: {item['reason']}")
    say(f"owned = capex x {assumptions.system_factor:.2f} installed over "
        f"{assumptions.amortisation_years:g} y at {assumptions.utilisation:.0%} use, "
        f"{assumptions.interest_rate:.1%} interest + energy at {assumptions.tariff_krw_per_kwh:g} "
        f"KRW/kWh, PUE {assumptions.pue:g} + operations {assumptions.operations_share:.1%}/y; "
        f"{assumptions.krw_per_usd:g} KRW/USD")
    for r in refused:
        say(f"not trainable: {r['reason']}")


def _refusal(chip_id: str) -> str | None:
    return training_refusal(load_catalog().get(chip_id))


def _validation_record(v: Validation) -> dict[str, Any]:
    return {
        "runs": [
            {
                "model": r.label,
                "predicted_chip_hours": r.predicted_chip_hours,
                "reported_chip_hours": r.reported_chip_hours,
                "error_pct": r.error_pct,
                "chip": r.chip_id,
                "count": r.count,
                "hours_basis": r.hours_basis,
                "mfu": r.mfu,
                "size_band": r.size_band,
                "vendor": r.vendor,
                "calibrates": r.calibrates,
                "notes": list(r.notes),
            }
            for r in v.runs
        ],
        "mape_pct": v.mape_pct,
        "calibrating_mape_pct": v.calibrating_mape_pct,
        "calibrating_runs": sum(1 for r in v.runs if r.calibrates),
        "bias_by_size_band": {
            band: {"bias_pct": bias, "runs": n} for band, (bias, n) in v.bias_by_size_band.items()
        },
        "bias_by_vendor": {
            vendor: {"bias_pct": bias, "runs": n} for vendor, (bias, n) in v.bias_by_vendor.items()
        },
        "mode": v.mode,
        "skipped": [{"model": label, "reason": reason} for label, reason in v.skipped],
    }


@app.command("validate")
def validate(
    runs: Annotated[
        Path | None,
        typer.Option("--runs", help="runs CSV (columns of training_runs.csv); default: packaged"),
    ] = None,
    held_out: Annotated[
        bool,
        typer.Option("--held-out", help="predict each run with a calibration fitted without it"),
    ] = False,
    fmt: FormatOpt = TableFormat.TABLE,
) -> None:
    """Predicted versus reported chip-hours per published run, and the MAPE."""
    catalog = load_catalog()
    table = read_runs(runs, catalog) if runs else calibration_runs(catalog)
    err = Console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("validating", total=len(table))

        def step() -> None:
            progress.advance(task)

        if held_out:
            result = validate_held_out(table, catalog, calibration_runs(catalog), step)
        else:
            result = validate_runs(table, catalog, default_calibration(), step)
    record = _validation_record(result)
    if fmt is TableFormat.JSON:
        print_json(record)
        return
    print_rows(
        record["runs"], fmt,
        ["model", "chip", "count", "hours_basis", "mfu", "size_band", "calibrates",
         "predicted_chip_hours", "reported_chip_hours", "error_pct"],
        title=f"Planner vs published runs ({result.mode})",
    )
    out = console()
    out.print(f"MAPE: {result.mape_pct:.1f}% over {len(result.runs)} runs; "
              f"{result.calibrating_mape_pct:.1f}% over the {record['calibrating_runs']} "
              "calibrating runs (pre-training, not low confidence)")
    for title, groups in (("size band", record["bias_by_size_band"]),
                          ("vendor", record["bias_by_vendor"])):
        parts = ", ".join(f"{g} {v['bias_pct']:+.1f}% ({v['runs']})" for g, v in groups.items())
        out.print(f"bias by {title}: {parts}")
    for item in record["skipped"]:
        say(f"skipped: {item['model']}: {item['reason']}")


@app.command("programme")
def programme(
    model: ModelOpt = None,
    tokens: TokensOpt = None,
    chip: Annotated[str | None, typer.Option("--chip", help="catalog chip id")] = None,
    count: Annotated[int, typer.Option("--count", help="number of chips")] = 1024,
    experiments: Annotated[
        float, typer.Option("--experiments-multiplier", help="ablations = m × final run")
    ] = ProgrammeAssumptions().experiments_multiplier,
    failed: Annotated[
        float, typer.Option("--failed-fraction", help="failed runs = f × final run")
    ] = ProgrammeAssumptions().failed_run_fraction,
    data_krw: Annotated[float, typer.Option("--data-krw", help="data cost in KRW")] = 0.0,
    staff_krw: Annotated[float, typer.Option("--staff-krw", help="staff cost in KRW")] = 0.0,
    months: Annotated[
        float | None, typer.Option("--programme-months", help="length, for idle-time capex")
    ] = None,
    context_tokens: ContextTokensOpt = None,
    context_seq: ContextSeqOpt = 32768,
    post_tokens: PostTokensOpt = None,
    fmt: FormatOpt = TableFormat.TABLE,
    price: PriceOpt = None,
    tariff: TariffOpt = _DEFAULTS.tariff_krw_per_kwh,
    rate: RateOpt = _DEFAULTS.krw_per_usd,
    pue: PueOpt = _DEFAULTS.pue,
    node: NodeOpt = _DEFAULTS.node_factor,
    power: PowerOpt = _DEFAULTS.average_power_fraction,
    owned: OwnedOpt = False,
    capex: CapexOpt = None,
    years: YearsOpt = _DEFAULTS.amortisation_years,
    use: UseOpt = _DEFAULTS.utilisation,
) -> None:
    """The final-run headline beside the whole programme's cost."""
    spec = _model(model)
    main_tokens = _tokens(tokens, "--tokens")
    if not chip:
        raise InputError("missing --chip (a catalog id)", field="chip")
    extra, _ = _stages(spec, main_tokens, False, context_tokens, context_seq, post_tokens)
    report = programme_report(
        spec, main_tokens, chip, count, default_calibration(), load_catalog(),
        _assumptions(price, tariff, rate, pue, node, power, owned, capex, years, use),
        ProgrammeAssumptions(experiments, failed, data_krw, staff_krw, months),
        extra_stages=tuple(extra[1:]),
    )
    per_usd = report.krw_per_usd
    items = [
        {"item": i.item, "chip_hours": i.chip_hours, "krw": float(i.krw.rounded()),
         "usd": float(i.krw.amount) / per_usd, "note": i.note}
        for i in report.items
    ]
    record = {
        "model": spec.name,
        "chip": chip,
        "count": count,
        "headline_krw": float(report.headline_krw.rounded()),
        "headline_usd": float(report.headline_krw.amount) / per_usd,
        "total_krw": float(report.total_krw.rounded()),
        "total_usd": float(report.total_krw.amount) / per_usd,
        "total_over_headline": float(report.total_krw.amount / report.headline_krw.amount),
        "total_chip_hours": report.total_chip_hours,
        "items": items,
    }
    if fmt is TableFormat.JSON:
        print_json(record)
        return
    print_rows(items, fmt, title=f"{spec.name} programme on {count} × {chip}")
    console().print(
        f"headline (final run): {report.headline_krw} = {record['headline_usd']:,.0f} USD; "
        f"programme total: {report.total_krw} = {record['total_usd']:,.0f} USD "
        f"({record['total_over_headline']:.2f} × the headline)"
    )


@app.command("calibration")
def calibration(fmt: FormatOpt = TableFormat.TABLE) -> None:
    """The fitted calibration: per-run software efficiency, scaling constant, overhead."""
    fit = default_calibration()
    points = [
        {
            "run": p.label,
            "chip": p.chip_id,
            "count": p.count,
            "active_params_b": p.active_params / 1e9,
            "step_hfu": round(p.step_hfu, 4),
            "effective_mfu": round(p.effective_mfu, 4),
            "software_efficiency": round(p.software_efficiency, 4),
        }
        for p in fit.points
    ]
    record = {
        "points": points,
        "global_software_efficiency": fit.global_efficiency,
        "scaling_cost_per_doubling": fit.scaling_cost_per_doubling,
        "memory_bound_cost_per_flop_per_byte_over_width": fit.memory_bound_cost,
        "moe_routing_efficiency": fit.moe_efficiency,
        "vendors_with_calibration_runs": list(fit.vendors),
        "overhead_factor": fit.overhead,
        "overhead_source": fit.overhead_source,
    }
    if fmt is TableFormat.JSON:
        print_json(record)
        return
    print_rows(points, fmt, title="Calibration runs (aicenter/planner/data/calibration_runs.csv)")
    print_record({k: v for k, v in record.items() if k != "points"}, fmt)
