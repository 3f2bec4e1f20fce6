"""``aicenter simulate``: the JSON contract, outputs, and errors as one line with exit code 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, SHARED, CliResult

Cli = Callable[..., CliResult]
LAS = SHARED / "gavel" / "physical_las.trace"


def test_json_contract_for_a_gavel_trace(cli: Cli) -> None:
    r = cli("simulate", "--trace", LAS, "--throughputs", SHARED / "gavel" /
            "simulation_throughputs.json", "--cluster", "v100=8,p100=16,k80=24",
            "--policy", "max_min_hetero", "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["policy"] == "max_min_hetero"
    assert data["jobs"] == 96
    for key, kind in (("avg_jct_hours", float), ("p95_jct_hours", float),
                      ("makespan_hours", float), ("jain_fairness", float),
                      ("policy_seconds_total", float), ("rounds", int)):
        assert isinstance(data[key], kind), key
    assert set(data["utilization"]) == {"v100", "p100", "k80"}
    assert data["avg_jct_hours"] == pytest.approx(4.06, rel=0.10)  # Gavel's figure
    assert 0 < data["jain_fairness"] <= 1


def test_several_policies_table_and_output_files(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = cli("simulate", "--trace", EXAMPLES / "traces" / "gavel" / "physical_las.trace",
            "--cluster", "v100=8,p100=16,k80=24", "--policy", "fifo,finish_time_fair",
            "--out", out)
    assert r.code == 0, r.err
    assert "finish_time_fair" in r.out and "fifo" in r.out
    for name in ("fifo.json", "finish_time_fair.json", "finish_time_fair_jobs.csv",
                 "jct_cdf.png", "utilization_fifo.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "jct_cdf.png").read_bytes().startswith(b"\x89PNG")
    rows = (out / "fifo_jobs.csv").read_text().splitlines()
    assert len(rows) == 97


def test_native_yaml_on_catalog_chips(cli: Cli) -> None:
    r = cli("simulate", "--trace", EXAMPLES / "traces" / "center.yaml", "--cluster",
            "nvidia-h100-sxm=16,rebellions-atom=16,nvidia-a100-80gb=16", "--chase-share",
            "0.25", "--policy", "min_cost", "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["finished"] == 8
    assert data["money"]["currency"] == "USD"


def test_sacct_replay(cli: Cli) -> None:
    r = cli("simulate", "--trace", EXAMPLES / "traces" / "sacct.txt", "--cluster",
            "a100=8,v100=8", "--policy", "fair_share", "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["jobs"] == 6
    assert {s["tenant"] for s in data["tenant_shares"]} == {"snu-lab", "kaist-vision", "startup-x"}


def test_synthetic_workload_is_reproducible(cli: Cli, tmp_path: Path) -> None:
    args = ("simulate", "--synthetic", "30", "--seed", "3", "--jobs-per-hour", "4",
            "--cluster", "v100=4,p100=4,k80=4", "--policy", "fifo", "--format", "json")
    first, second = cli(*args), cli(*args)
    assert first.code == 0, first.err
    assert json.loads(first.out)["avg_jct_hours"] == json.loads(second.out)["avg_jct_hours"]
    assert cli(*args, "--out", tmp_path).code == 0
    assert (tmp_path / "trace.csv").read_text().count("\n") == 31


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--policy", "shortest_first"), "unknown policy 'shortest_first'"),
        (("--cluster", "v100=8,h100=8"), "unknown GPU type 'h100'"),
        (("--cluster", "v100=eight"), "'eight' is not a whole number"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(cli: Cli, args: tuple[str, ...], needle: str) -> None:
    r = cli("simulate", "--trace", LAS, *args)
    assert r.code == 2
    assert needle in r.err
    assert "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_malformed_trace_exit_2_with_line(cli: Cli, tmp_path: Path) -> None:
    lines = LAS.read_text().splitlines()[:5]
    lines[3] = lines[3].replace("\t", " ", 2)
    bad = tmp_path / "bad.trace"
    bad.write_text("\n".join(lines) + "\n")
    r = cli("simulate", "--trace", bad, "--cluster", "v100=8,p100=16,k80=24")
    assert r.code == 2
    assert "bad.trace:4" in r.err
    assert "expected 10 TAB-separated fields" in r.err
