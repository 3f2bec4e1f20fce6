"""``aicenter compliance`` against a real server (SQLite and PostgreSQL): every report in every
format, residency "none" with what was checked, and a report whose rebuild from the log
differs from the tables (a usage entry no table row backs) named with exit code 1."""

from __future__ import annotations

import csv
import io
import json

import pytest

from aicenter.services import audit as audit_svc
from aicenter.services.context import ServiceContext
from tests.services.fixtures import database_url_fixture  # noqa: F401


@pytest.fixture
def center(live_center, database_url: str) -> ServiceContext:  # type: ignore[no-untyped-def]
    ctx: ServiceContext = live_center(database_url=database_url).ctx
    return ctx


def test_compliance_commands(center: ServiceContext, cli) -> None:  # type: ignore[no-untyped-def]
    for report in ("datasets", "residency", "pii", "compute"):
        shown = cli("compliance", report, "--format", "json")
        assert shown.code == 0, shown.err
        body = json.loads(shown.out)
        assert body["report"] == report and body["matches"] is True
        assert body["difference"] is None and body["log_head"] >= 1
    table = cli("compliance", "residency")
    assert table.code == 0 and "Residency exceptions: none" in table.out
    assert "matches the log" in table.out
    assert cli("compliance", "compute", "--month", "2026-13").code != 0

    with center.db.transaction() as tx:  # compute the tables never recorded
        audit_svc.record_change(
            tx, center.clock.now(), None, "usage.recorded", "usage", "use_x", "org_x",
            {"chip": "nvidia-h100-sxm", "country": "KR", "start": "2026-03-01T00:00:00.000000Z",
             "chip_seconds": "3600.000000", "h100e_seconds": "3600.000000"})
    bad = cli("compliance", "compute", "--format", "csv")
    assert bad.code == 1 and "does not match" in bad.err
    header = next(iter(csv.reader(io.StringIO(bad.out))))
    assert header[:4] == ["org_id", "month", "chip", "country"]
    shown = json.loads(cli("compliance", "compute", "--format", "json").out)
    assert shown["matches"] is False and "in the log, not in the tables" in shown["difference"]
    assert "DOES NOT match" in cli("compliance", "compute").out
