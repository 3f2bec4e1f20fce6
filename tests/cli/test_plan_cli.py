"""``aicenter plan``, ``plan compare``, ``plan validate``, ``plan programme``: JSON contracts,
tables and exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, SHARED, CliResult

Cli = Callable[..., CliResult]
V3 = ("--model", "deepseek-v3", "--tokens", "14.8e12", "--chip", "nvidia-h800", "--count", "2048")


def test_plan_json_contract(cli: Cli) -> None:
    result = cli("plan", *V3, "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    for key, kind in (("flops", float), ("chip_hours", float), ("wall_days", float),
                      ("energy_kwh", float), ("fits", bool)):
        assert isinstance(data[key], kind), key
    assert isinstance(data["cost"]["krw"], float) and isinstance(data["cost"]["usd"], float)
    assert data["flops"] == pytest.approx(3.7e24)
    assert data["ideal_chip_hours"] == pytest.approx(2.664e6, rel=0.1)
    assert data["chip_hours"] == pytest.approx(
        data["ideal_chip_hours"] * data["assumptions"]["overhead_factor"])
    assert data["cost"]["krw"] == pytest.approx(data["cost"]["usd"] * 1420, rel=1e-6)
    a = data["assumptions"]
    for key in ("mfu", "mfu_source", "overhead_factor", "average_power_w", "pue",
                "tariff_krw_per_kwh", "krw_per_usd"):
        assert key in a
    assert a["tariff_krw_per_kwh"] == 182 and a["krw_per_usd"] == 1420


def test_plan_overrides_are_printed(cli: Cli) -> None:
    result = cli("plan", *V3, "--format", "json", "--pue", "1.4", "--krw-per-usd", "1300",
                 "--price-usd-per-chip-hour", "2.5", "--overhead", "1.0", "--mfu", "0.4")
    data = json.loads(result.out)
    assert data["assumptions"]["pue"] == 1.4 and data["assumptions"]["krw_per_usd"] == 1300
    assert data["cost"]["usd"] == pytest.approx(data["chip_hours"] * 2.5, rel=1e-6)
    assert data["chip_hours"] == pytest.approx(3.7e24 / (989e12 * 0.4 * 3600))


def test_plan_table_with_stages_and_file(cli: Cli) -> None:
    result = cli("plan", *V3, "--with-stages")
    assert result.code == 0
    assert "context-extension-128k" in result.out and "note: sft-and-rl" in result.out
    example = EXAMPLES / "models" / "korean-13b.yaml"
    result = cli("plan", "--model", str(example), "--tokens", "3e12", "--chip", "nvidia-h200",
                 "--count", "256", "--format", "json", "--with-stages")
    data = json.loads(result.out)
    assert [i["kind"] for i in data["line_items"]] == ["pretrain", "context-extension",
                                                        "post-training"]


def test_plan_pool(cli: Cli) -> None:
    result = cli("plan", "--model", "llama-3.1-8b", "--tokens", "1e12", "--pool",
                 "nvidia-h100-sxm=64,intel-gaudi3=64", "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert [p["chip"] for p in data["pool"]] == ["nvidia-h100-sxm", "intel-gaudi3"]
    assert data["chip_hours"] == pytest.approx(128 * data["wall_days"] * 24)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--chip", "nvidia-h10"), "error: unknown chip id 'nvidia-h10'; did you mean"),
        (("--chip", "rebellions-atom"), "error: rebellions-atom cannot train"),
        (("--chip", "nvidia-h100-sxm", "--tokens", "lots"), "error: field 'tokens': 'lots'"),
        ((), "error: field 'chip': missing --chip"),
    ],
)
def test_plan_errors_exit_2(cli: Cli, args: tuple[str, ...], message: str) -> None:
    base = ["plan", "--model", "generic-7b", "--tokens", "1e12"]
    result = cli(*base, *args)
    assert result.code == 2
    assert result.err.startswith(message), result.err
    assert result.err.count("\n") == 1


def test_bad_model_file_exit_2(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntotal_params_b: lots\nlayers: 2\nhidden_size: 64\nheads: 2\n"
                   "seq_len: 128\n", encoding="utf-8")
    result = cli("plan", "--model", str(bad), "--tokens", "1e9", "--chip", "nvidia-h100-sxm")
    assert result.code == 2
    assert result.err == f"error: {bad}:2: field 'total_params_b': must be a number, got 'lots'\n"
    result = cli("plan", "--model", "nope", "--tokens", "1e9", "--chip", "nvidia-h100-sxm")
    assert result.code == 2 and result.err.startswith("error: unknown model 'nope'")


def test_compare_rows_and_deadline(cli: Cli) -> None:
    result = cli("plan", "compare", "--model", "llama-3.1-70b", "--tokens", "2e12",
                 "--deadline-days", "30", "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    chips = [r["chip"] for r in data["rows"]]
    assert "nvidia-h100-sxm" in chips and "furiosa-rngd" not in chips
    assert {r["chip"] for r in data["not_trainable"]} >= {"furiosa-rngd", "rebellions-atom"}
    cheapest = data["cheapest"]
    assert cheapest["meets_deadline"] and cheapest["wall_days"] <= 30 and cheapest["cheapest"]
    assert sum(r["cheapest"] for r in data["rows"]) == 1
    table = cli("plan", "compare", "--model", "generic-7b", "--tokens", "1e12")
    assert table.code == 0 and "cheapest on the rental basis:" in table.out
    assert "not trainable:" in table.out


def test_compare_has_rental_and_owned_columns_and_a_basis(cli: Cli) -> None:
    args = ("plan", "compare", "--model", "llama-3.1-70b", "--tokens", "15e12", "--count",
            "1024")
    table = cli(*args)
    assert table.code == 0, table.err
    assert "rental_krw" in table.out and "owned_krw" in table.out and "no price" in table.out
    assert "not in cheapest (rental): amd-mi300x: no price" in table.err + table.out
    for basis in ("rental", "owned"):
        data = json.loads(cli(*args, "--basis", basis, "--format", "json").out)
        assert data["cheapest_basis"] == basis
        key = f"{basis}_krw"
        priced = [r for r in data["rows"] if r["fits"] and r[key] is not None]
        assert data["cheapest"][key] == min(r[key] for r in priced)
        left = {i["chip"] for i in data["not_priced_on_basis"]}
        assert left == {r["chip"] for r in data["rows"] if r["fits"] and r[key] is None}
        assert all(i["reason"].startswith("no price") for i in data["not_priced_on_basis"])
    rows = {r["chip"]: r for r in data["rows"]}
    h100 = rows["nvidia-h100-sxm"]
    assert h100["rental_usd"] and h100["owned_usd"] and h100["capex_usd_per_chip"] == 27500
    assert h100["owned_krw"] == pytest.approx(
        h100["owned_capex_krw"] + h100["owned_energy_krw"] + h100["owned_operations_krw"], abs=2)
    assert rows["google-tpu-v5p"]["owned_krw"] is None
    assert "rented" in rows["google-tpu-v5p"]["owned_note"]
    assert data["assumptions"]["system_factor"] == pytest.approx(1.84)


def test_validate_default_table(cli: Cli) -> None:
    result = cli("plan", "validate")
    assert result.code == 0
    assert "MAPE:" in result.out and "skipped: OPT-175B: no reported GPU-hours" in result.out
    data = json.loads(cli("plan", "validate", "--format", "json").out)
    assert data["mape_pct"] <= 10.0 and len(data["runs"]) == 20
    held = json.loads(cli("plan", "validate", "--held-out", "--format", "json").out)
    assert held["mode"] == "leave-one-run-out"
    assert held["mape_pct"] > data["mape_pct"]
    # the target: held-out MAPE <= 12 % over >= 15 calibrating runs, no size band
    # biased by more than 15 %, and a bias per vendor
    assert held["calibrating_runs"] >= 15 and held["calibrating_mape_pct"] <= 12.0
    assert all(abs(b["bias_pct"]) <= 15.0 for b in held["bias_by_size_band"].values())
    assert set(held["bias_by_vendor"]) >= {"nvidia", "amd"}
    held_table = cli("plan", "validate", "--held-out")
    assert "bias by size band:" in held_table.out and "bias by vendor:" in held_table.out


def test_validate_runs_json_contract(cli: Cli, tmp_path: Path) -> None:
    runs = tmp_path / "runs.csv"
    header = (SHARED / "reference" / "training_runs.csv").read_text(encoding="utf-8")
    header_line = header.splitlines()[0]
    columns = header_line.split(",")
    row = dict.fromkeys(columns, "")
    row.update(model="Llama 3.1 405B", total_params_b="405", activated_params_b="405",
               training_tokens_t="15.6", hardware="NVIDIA H100-80GB (700 W)",
               num_chips="16384", gpu_hours="30840000", confidence="high")
    unmapped = dict(row, model="Mystery", hardware="Acme NPU")
    no_hours = dict(row, model="Quiet", gpu_hours="")
    runs.write_text(
        header_line + "\n" + "\n".join(",".join(r[c] for c in columns)
                                       for r in (row, unmapped, no_hours)) + "\n",
        encoding="utf-8",
    )
    result = cli("plan", "validate", "--runs", str(runs), "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert list(data["runs"][0])[:4] == ["model", "predicted_chip_hours",
                                         "reported_chip_hours", "error_pct"]
    (only,) = data["runs"]
    assert only["model"] == "Llama 3.1 405B" and only["reported_chip_hours"] == 30840000
    assert abs(only["error_pct"]) <= 10
    assert data["mape_pct"] == pytest.approx(abs(only["error_pct"]))
    reasons = {s["model"]: s["reason"] for s in data["skipped"]}
    assert "does not map to a catalog chip" in reasons["Mystery"]
    assert reasons["Quiet"] == "no reported GPU-hours"
    missing = cli("plan", "validate", "--runs", str(tmp_path / "absent.csv"))
    assert missing.code == 2 and missing.err.startswith("error: ")


def test_programme_json(cli: Cli) -> None:
    result = cli("plan", "programme", *V3, "--experiments-multiplier", "2", "--staff-krw", "3e9",
                 "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["total_krw"] > data["headline_krw"] * 3
    assert data["headline_usd"] == pytest.approx(data["headline_krw"] / 1420, rel=1e-6)
    assert "staff" in [i["item"] for i in data["items"]]
    table = cli("plan", "programme", *V3)
    assert "× the headline" in table.out


def test_calibration_and_rl_plan(cli: Cli) -> None:
    data = json.loads(cli("plan", "calibration", "--format", "json").out)
    assert len(data["points"]) == 17 and 1 < data["overhead_factor"] < 1.25
    assert 0 < data["scaling_cost_per_doubling"] < 0.1
    assert "Calibration runs" in cli("plan", "calibration").out
    rl = json.loads(cli("plan", "--model", "deepseek-r1-rl", "--tokens", "1e10", "--chip",
                        "nvidia-h800", "--count", "512", "--format", "json").out)
    assert rl["line_items"][0]["kind"] == "rl" and rl["chip_hours"] > 0
