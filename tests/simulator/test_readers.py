"""Trace readers: Gavel, sacct, native CSV/YAML, the synthetic generator; malformed input."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicenter.domain.errors import InputError
from aicenter.scheduler import AnyChipDemand, ChipDemand, PriorityClass, ThroughputMatrix
from aicenter.simulator.cluster import parse_cluster
from aicenter.simulator.gavel import read_gavel_throughputs, read_gavel_trace
from aicenter.simulator.native import read_native_trace, write_native_csv
from aicenter.simulator.sacct import read_sacct
from aicenter.simulator.synthetic import generate
from tests.conftest import SHARED

GOOD = (
    "ResNet-18 (batch size 64)\tpython3 main.py\timage_classification/cifar10\t--num_steps\t1"
    "\t1646636\t1\t1\t-1.000000\t0.000000"
)


def gavel_line(**changes: str) -> str:
    fields = GOOD.split("\t")
    names = ["job_type", "c", "w", "n", "d", "total_steps", "scale_factor", "weight", "slo",
             "arrival"]
    for key, value in changes.items():
        fields[names.index(key)] = value
    return "\t".join(fields)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_throughputs_equal_gavel_file() -> None:
    packaged = read_gavel_throughputs()
    original = read_gavel_throughputs(SHARED / "gavel" / "simulation_throughputs.json")
    for key in [("ResNet-18 (batch size 64)", "v100", 1), ("Recommendation (batch size 512)",
                "k80", 1), ("Transformer (batch size 128)", "p100", 8)]:
        assert packaged.rate(*key) == original.rate(*key) > 0
    # some jobs run faster on older GPUs, as the README notes
    assert packaged.rate("Recommendation (batch size 512)", "p100", 1) > packaged.rate(
        "Recommendation (batch size 512)", "v100", 1
    )


def test_gavel_trace_reads_every_job() -> None:
    trace = read_gavel_trace(SHARED / "gavel" / "cm200_s0.trace")
    assert len(trace.jobs) == 200
    first = trace.jobs[0]
    assert first.arrival_s == 0.0
    assert {d.count for d in first.demand} == {first.demand[0].count}
    assert {d.chip_type for d in first.demand if isinstance(d, ChipDemand)} == {
        "v100", "p100", "k80"
    }
    assert {d.count for j in trace.jobs for d in j.demand} == {1, 2, 4, 8}


@pytest.mark.parametrize(
    ("lines", "line", "needle"),
    [
        ([GOOD, "a\tb\tc"], 2, "expected 10 TAB-separated fields"),
        ([GOOD, gavel_line(job_type="GPT-9 (batch size 1)")], 2, "unknown job type"),
        ([gavel_line(arrival="500"), gavel_line(arrival="100")], 2, "earlier than the previous"),
        ([gavel_line(total_steps="many")], 1, "'many' is not a number"),
        ([gavel_line(scale_factor="0")], 1, "below 1"),
    ],
)
def test_malformed_gavel_trace_names_line_and_problem(
    tmp_path: Path, lines: list[str], line: int, needle: str
) -> None:
    path = write(tmp_path, "bad.trace", "\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        read_gavel_trace(path)
    assert f"bad.trace:{line}" in str(err.value)
    assert needle in str(err.value)


def test_unknown_gpu_type_in_cluster_is_an_error() -> None:
    with pytest.raises(InputError, match="unknown GPU type 'a100'"):
        parse_cluster("v100=4,a100=4", {"v100", "p100", "k80"})
    with pytest.raises(InputError, match="not TYPE=COUNT"):
        parse_cluster("v100", None)


SACCT_HEADER = "JobID|User|Account|Submit|Start|End|AllocTRES"


def sacct_matrix() -> ThroughputMatrix:
    return ThroughputMatrix(estimated_per_chip={("dense-training", "a100"): 2.0,
                                                ("dense-training", "v100"): 1.0})


def test_sacct_export_becomes_jobs(tmp_path: Path) -> None:
    text = "\n".join([
        SACCT_HEADER,
        "100|kim|snu-lab|2024-05-01T09:00:00|2024-05-01T09:10:00|2024-05-01T11:10:00|"
        "billing=8,cpu=8,gres/gpu:a100=4,gres/gpu=4,mem=64G,node=1",
        "100.batch|kim|snu-lab|2024-05-01T09:00:00|2024-05-01T09:10:00|2024-05-01T11:10:00|"
        "cpu=8,gres/gpu:a100=4",
        "101|lee|startup|2024-05-01T09:30:00|2024-05-01T09:30:00|2024-05-01T10:00:00|cpu=4",
        "102|park|startup|2024-05-01T10:00:00|Unknown|Unknown|gres/gpu:v100=1",
        "103|park|startup|2024-05-01T10:30:00|2024-05-01T10:31:00|2024-05-01T11:31:00|"
        "gres/gpu:v100=2",
    ])
    trace = read_sacct(write(tmp_path, "jobs.txt", text), sacct_matrix(), ["a100", "v100"])
    assert [j.id for j in trace.jobs] == ["100", "103"]
    first, second = trace.jobs
    assert first.tenant == "snu-lab"
    assert first.demand[0] == ChipDemand("a100", 4)
    assert ChipDemand("v100", 4) in first.demand
    assert first.total_work == pytest.approx(2 * 3600 * 2.0 * 4)  # 2 h × 4 chips × rate 2
    assert second.arrival_s == pytest.approx(5400.0)


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ("1|u|a|2024-05-01T09:00:00|2024-05-01T09:00:00|2024-05-01T10:00:00|gres/gpu:h200=1",
         "unknown GPU type 'h200'"),
        ("1|u|a|2024-05-01T09:00:00|2024-05-01T09:00:00|2024-05-01T10:00:00|gres/gpu=1",
         "has no GPU type"),
        ("1|u|a|yesterday|2024-05-01T09:00:00|2024-05-01T10:00:00|gres/gpu:v100=1",
         "not a time"),
        ("1|u|a|2024-05-01T09:00:00|2024-05-01T10:00:00", "expected 7 '|'-separated fields"),
    ],
)
def test_malformed_sacct_names_line(tmp_path: Path, row: str, needle: str) -> None:
    path = write(tmp_path, "bad.txt", f"{SACCT_HEADER}\n{row}\n")
    with pytest.raises(InputError) as err:
        read_sacct(path, sacct_matrix(), ["a100", "v100"])
    assert "bad.txt:2" in str(err.value)
    assert needle in str(err.value)


def test_sacct_non_monotone_submit_is_an_error(tmp_path: Path) -> None:
    rows = [
        "1|u|a|2024-05-01T10:00:00|2024-05-01T10:00:00|2024-05-01T11:00:00|gres/gpu:v100=1",
        "2|u|a|2024-05-01T09:00:00|2024-05-01T10:00:00|2024-05-01T11:00:00|gres/gpu:v100=1",
    ]
    path = write(tmp_path, "bad.txt", "\n".join([SACCT_HEADER, *rows]))
    with pytest.raises(InputError, match=r"bad.txt:3: field 'Submit'"):
        read_sacct(path, sacct_matrix(), ["a100", "v100"])


NATIVE = (
    "id,tenant,job_class,demand,total_work,arrival_s,priority_class,deadline_s,residency\n"
    "a,snu,dense-training,nvidia-h100-sxm:8|any>=64:8,36000,0,chase,,KR\n"
    "b,kaist,inference,rebellions-atom:1,3600,60,standard,7200,\n"
)


def test_native_csv_and_round_trip(tmp_path: Path) -> None:
    trace = read_native_trace(write(tmp_path, "t.csv", NATIVE))
    a, b = trace.jobs
    assert a.demand == (ChipDemand("nvidia-h100-sxm", 8), AnyChipDemand(64.0, 8))
    assert a.priority_class is PriorityClass.CHASE
    assert a.residency == "KR"
    assert b.deadline_s == 7200.0
    again = read_native_trace(write_native_csv(trace, tmp_path / "copy.csv"))
    assert again.jobs == trace.jobs


def test_native_yaml_with_tenants(tmp_path: Path) -> None:
    text = """
tenants:
  - {id: snu, weight: 2, quota_h100e_h: 100}
jobs:
  - {id: a, tenant: snu, job_class: dense-training, demand: "nvidia-h100-sxm:1",
     total_work: 10, arrival_s: 0}
"""
    trace = read_native_trace(write(tmp_path, "t.yaml", text))
    assert trace.tenants[0].weight == 2.0
    assert trace.tenants[0].quota is not None and trace.tenants[0].quota.value == 100.0
    assert trace.jobs[0].total_work == 10.0


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (NATIVE.replace("chase", "urgent"), "t.csv:2: field 'priority_class'"),
        (NATIVE.replace(",60,", ",-5,"), "t.csv:3: field 'arrival_s'"),
        (NATIVE.replace("36000", "lots"), "t.csv:2: field 'total_work'"),
        (NATIVE.replace(",60,", ",0,").replace(",0,chase", ",99,chase"), "earlier"),
        (NATIVE.replace("rebellions-atom:1", "rebellions-atom"), "field 'demand'"),
    ],
)
def test_malformed_native_csv(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(InputError, match=needle.replace("(", r"\(")):
        read_native_trace(write(tmp_path, "t.csv", text))


def test_native_unknown_job_class_with_matrix(tmp_path: Path) -> None:
    matrix = ThroughputMatrix(estimated_per_chip={("dense-training", "x"): 1.0})
    with pytest.raises(InputError, match=r"t\.csv:3: field 'job_class': unknown job class"):
        read_native_trace(write(tmp_path, "t.csv", NATIVE), matrix)


def test_synthetic_generator_is_seeded_and_philly_like() -> None:
    matrix = read_gavel_throughputs()
    classes = sorted(matrix.job_classes())
    chips = ["v100", "p100", "k80"]
    a = generate(400, 7, matrix, classes, chips, "v100", jobs_per_hour=2.0)
    b = generate(400, 7, matrix, classes, chips, "v100", jobs_per_hour=2.0)
    c = generate(400, 8, matrix, classes, chips, "v100", jobs_per_hour=2.0)
    assert a.jobs == b.jobs
    assert a.jobs != c.jobs
    hours = [
        j.total_work / matrix.rate(j.job_class, "v100", j.demand[0].count) / 3600 for j in a.jobs
    ]
    assert min(hours) >= 0.5 and max(hours) <= 167.0
    long_share = sum(h > 16.7 for h in hours) / len(hours)
    assert 0.12 < long_share < 0.28
    gaps = [y.arrival_s - x.arrival_s for x, y in zip(a.jobs, a.jobs[1:], strict=False)]
    assert sum(gaps) / len(gaps) == pytest.approx(1800.0, rel=0.15)
