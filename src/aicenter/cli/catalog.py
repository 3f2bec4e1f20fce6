"""``aicenter catalog``: the accelerator catalog and each chip's H100-equivalent worth."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer

from aicenter.catalog import PerformanceTable, load_catalog
from aicenter.cli.output import OutputFormat, print_record, print_rows
from aicenter.domain.accelerator import Accelerator, WorkloadClass

app = typer.Typer(
    help="The accelerator catalog: every chip type the center knows.", no_args_is_help=True
)

FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table, json or csv")]
ThroughputsOption = Annotated[
    Path | None,
    typer.Option("--throughputs", help="CSV of measured relative throughputs overriding estimates"),
]


def _record(acc: Accelerator, perf: PerformanceTable) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for field in dataclasses.fields(acc):
        value = getattr(acc, field.name)
        record[field.name] = (
            value.isoformat()
            if field.name == "retrieved"
            else (str(value) if field.name == "training" else value)
        )
    for workload in WorkloadClass:
        record[f"h100e_{workload.value.replace('-', '_')}"] = round(perf.ratio(acc.id, workload), 4)
    return record


@app.command("list")
def list_chips(
    fmt: FormatOption = OutputFormat.TABLE,
    throughputs: ThroughputsOption = None,
) -> None:
    """List every chip with its key figures and H100-equivalent throughputs."""
    catalog = load_catalog()
    perf = PerformanceTable.from_catalog(catalog, throughputs)
    records = [_record(acc, perf) for acc in catalog]
    if fmt is OutputFormat.TABLE:
        columns = [
            "id",
            "vendor_country",
            "peak_bf16_tflops",
            "peak_fp8_tflops",
            "peak_int8_tops",
            "memory_gb",
            "memory_bw_tbps",
            "tdp_w",
            "training",
            "h100e_dense_training",
            "h100e_moe_training",
            "h100e_inference",
        ]
        print_rows(records, fmt, columns, title=f"Accelerator catalog ({len(records)} chips)")
    else:
        print_rows(records, fmt)


@app.command("show")
def show_chip(
    chip_id: Annotated[str, typer.Argument(help="chip id, e.g. nvidia-h100-sxm")],
    fmt: FormatOption = OutputFormat.TABLE,
    throughputs: ThroughputsOption = None,
) -> None:
    """Show every field of one chip."""
    catalog = load_catalog()
    perf = PerformanceTable.from_catalog(catalog, throughputs)
    print_record(_record(catalog.get(chip_id), perf), fmt)
