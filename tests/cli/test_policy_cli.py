"""``aicenter policy validate|test`` on this machine and ``show|set|versions`` against a real
server (SQLite; the service's tests cover PostgreSQL)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from aicenter.policy.source import packaged_policies, sha256_of

PACKAGED = packaged_policies()
LENIENT = re.sub(r'@id\("domestic-data-(stays-home|placed-home)"\)\nforbid[^;]*;', "",
                 PACKAGED)


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_validate_names_the_policy_and_line(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    good = cli("policy", "validate", _write(tmp_path, "good.cedar", PACKAGED))
    assert good.code == 0 and "valid" in good.out
    bad_text = PACKAGED.replace("resource.territory.contains", "resource.teritory.contains")
    line = next(i for i, x in enumerate(bad_text.splitlines(), 1) if "teritory" in x)
    bad = cli("policy", "validate", _write(tmp_path, "bad.cedar", bad_text))
    assert bad.code == 2
    assert f"bad.cedar:line {line}: policy territory-of-offer:" in bad.err


def test_test_runs_the_centers_cases_and_reports_failures(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    ok = cli("policy", "test", _write(tmp_path, "p.cedar", PACKAGED), "--format", "json")
    assert ok.code == 0, ok.err
    assert all(r["result"] == "ok" for r in json.loads(ok.out))
    lenient = cli("policy", "test", _write(tmp_path, "l.cedar", LENIENT))
    assert lenient.code == 1 and "cases failed" in lenient.err
    cases = _write(tmp_path, "cases.yaml", """
cases:
  - name: domestic data abroad
    principal: {type: Job, id: j}
    action: job:place
    resource: {type: Pool, id: us}
    context: {dataset: {__entity: {type: Dataset, id: d}}}
    entities:
      - {uid: {type: Dataset, id: d}, attrs: {domestic: true, home: [KR]}}
      - {uid: {type: Pool, id: us}, attrs: {country: US}}
    expect: allow
""")
    mine = cli("policy", "test", _write(tmp_path, "l2.cedar", LENIENT), "--cases", cases)
    assert mine.code == 0, mine.err


@pytest.fixture
def server(live_center) -> str:  # type: ignore[no-untyped-def]
    return str(live_center(scheduler_interval_s=60).operator_token)


def test_show_set_and_versions(server: str, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    shown = cli("policy", "show")
    assert shown.code == 0 and f"version 0, sha256 {sha256_of(PACKAGED)}" in shown.out
    assert PACKAGED in shown.out
    done = cli("policy", "set", _write(tmp_path, "l.cedar", LENIENT), "--format", "json")
    assert done.code == 0, done.err
    assert json.loads(done.out)["version"] == 1
    assert json.loads(done.out)["sha256"] == sha256_of(LENIENT)
    assert cli("policy", "show", "--text").out == LENIENT
    versions = json.loads(cli("policy", "versions", "--format", "json").out)
    assert [v["version"] for v in versions] == [0, 1]
    bad = cli("policy", "set", _write(tmp_path, "bad.cedar", "permit (principal, action"))
    assert bad.code == 2 and "does not parse" in bad.err
