"""``aicenter fleet score``, ``proposals rank`` and ``procure``: contracts and bad input."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, CliResult

Cli = Callable[..., CliResult]
PROPOSALS = EXAMPLES / "proposals"


def test_score_json_contract_nvidia_only_is_six_of_thirty(cli: Cli) -> None:
    result = cli(
        "fleet",
        "score",
        PROPOSALS / "nvidia-only-50000.yaml",
        "--rubric",
        "india-diversity",
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["rubric"] == "india-diversity"
    assert (data["total"], data["max"]) == (6.0, 30.0)
    (criterion,) = data["criteria"]
    assert set(criterion) >= {"id", "points", "max", "explanation"}
    assert criterion["points"] == 6.0 and "nvidia 100.0%" in criterion["explanation"]


def test_mixed_example_is_full_marks(cli: Cli) -> None:
    result = cli(
        "fleet",
        "score",
        PROPOSALS / "mixed-four-vendors.yaml",
        "--rubric",
        "india-diversity",
        "--format",
        "json",
    )
    assert json.loads(result.out)["total"] == 30.0


def test_rank_orders_and_formats(cli: Cli) -> None:
    files = sorted(PROPOSALS.glob("*.yaml"))
    assert len(files) >= 4
    data = json.loads(
        cli("proposals", "rank", *files, "--rubric", "korea-nacc-2025", "--format", "json").out
    )
    totals = [r["total"] for r in data]
    assert totals == sorted(totals, reverse=True)
    assert [r["rank"] for r in data] == list(range(1, len(files) + 1))
    assert data[-1]["proposal"] == "NVIDIA-only 50,000"
    rows = list(
        csv.DictReader(
            io.StringIO(
                cli(
                    "proposals", "rank", *files, "--rubric", "korea-nacc-2025", "--format", "csv"
                ).out
            )
        )
    )
    assert [r["proposal"] for r in rows] == [r["proposal"] for r in data]
    assert {"capacity", "localisation", "price", "renewables", "region", "total"} <= set(rows[0])
    table = cli("proposals", "rank", *files, "--rubric", "korea-nacc-2025")
    assert table.code == 0 and "Domestic-heavy" in table.out and "localisation" in table.out


def test_rubric_from_file(cli: Cli, tmp_path: Path) -> None:
    rubric = tmp_path / "r.yaml"
    rubric.write_text(
        "id: mine\nname: mine\ncriteria:\n"
        "  - {id: cap, type: capacity, max: 10, params: {target_h100e: 100000}}\n"
    )
    data = json.loads(
        cli(
            "fleet",
            "score",
            PROPOSALS / "nvidia-only-50000.yaml",
            "--rubric",
            rubric,
            "--format",
            "json",
        ).out
    )
    assert data["total"] == 5.0


VALID = """bidder: X
site: {country: KR, region: Ulsan, capital_region: false, renewable_share: 0.2, pue: 1.3}
pools:
  - chip: nvidia-h100-sxm
    count: 100
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            VALID.replace("nvidia-h100-sxm", "nvidia-h100"),
            "p.yaml:4: field 'pools[0].chip': unknown chip id 'nvidia-h100'; did you mean",
        ),
        (
            VALID.replace("count: 100", "count: -4"),
            "p.yaml:5: field 'pools[0].count': Input should be greater than or equal to 0",
        ),
        (VALID.replace("bidder: X\n", ""), "field 'bidder': required field is missing"),
        (
            VALID.replace("pue: 1.3}", "pue: 1.3, colour: red}"),
            "p.yaml:2: field 'site.colour': unknown field",
        ),
        (VALID + "  - chip: [unclosed\n", "p.yaml:7:"),
    ],
)
def test_bad_fleet_file_is_one_line_exit_2(
    cli: Cli, tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    result = cli("fleet", "score", path, "--rubric", "india-diversity")
    assert result.code == 2
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert expected in result.err, result.err


def test_rubric_with_unknown_criterion_type(cli: Cli, tmp_path: Path) -> None:
    rubric = tmp_path / "r.yaml"
    rubric.write_text("id: r\nname: r\ncriteria:\n  - {id: a, type: vendor_diversty, max: 5}\n")
    result = cli("fleet", "score", PROPOSALS / "nvidia-amd.yaml", "--rubric", rubric)
    assert result.code == 2 and result.err.count("\n") == 1
    assert "r.yaml:4: field 'criteria[0].type': unknown criterion type 'vendor_diversty'" in (
        result.err
    )
    bad_param = tmp_path / "p.yaml"
    bad_param.write_text(
        "id: r\nname: r\ncriteria:\n  - id: a\n    type: capacity\n    max: 5\n"
        "    params: {target: 3}\n"
    )
    result = cli("fleet", "score", PROPOSALS / "nvidia-amd.yaml", "--rubric", bad_param)
    assert result.code == 2 and "field 'criteria[0].params.target': unknown field" in result.err
    result = cli("fleet", "score", PROPOSALS / "nvidia-amd.yaml", "--rubric", "india-diversty")
    assert result.code == 2 and "did you mean india-diversity" in result.err


def test_procure_prints_mix_and_respects_limits(cli: Cli) -> None:
    result = cli(
        "procure",
        "--offers",
        EXAMPLES / "offers.yaml",
        "--budget-krw",
        "3e11",
        "--power-mw",
        "12",
        "--rubric",
        "korea-nacc-2025",
        "--min-score",
        "80",
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["cost_krw"] <= 3e11 and data["power_mw"] <= 12
    assert data["score"] >= 80 and data["capacity_h100e"] > 0
    assert sum(row["chips"] for row in data["mix"]) > 0
    table = cli("procure", "--offers", EXAMPLES / "offers.yaml", "--budget-krw", "3e11")
    assert table.code == 0 and "h100e (dense training)" in table.out


def test_procure_infeasible_and_bad_args(cli: Cli) -> None:
    result = cli(
        "procure",
        "--offers",
        EXAMPLES / "offers.yaml",
        "--budget-krw",
        "1e9",
        "--rubric",
        "korea-nacc-2025",
        "--min-score",
        "99",
    )
    assert result.code == 2 and "no purchase meets" in result.err
    result = cli("procure", "--offers", EXAMPLES / "offers.yaml", "--budget-krw", "-5")
    assert result.code == 2 and "--budget-krw" in result.err
