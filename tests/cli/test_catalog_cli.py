"""``aicenter catalog list|show`` in every format, and its error path."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_list_json_and_csv(cli: Cli) -> None:
    result = cli("catalog", "list", "--format", "json")
    assert result.code == 0
    chips = json.loads(result.out)
    assert len(chips) == 29
    h100 = next(c for c in chips if c["id"] == "nvidia-h100-sxm")
    assert h100["h100e_dense_training"] == 1.0
    rows = list(csv.DictReader(io.StringIO(cli("catalog", "list", "--format", "csv").out)))
    assert [r["id"] for r in rows] == [c["id"] for c in chips]


def test_show_table_and_unknown(cli: Cli) -> None:
    result = cli("catalog", "show", "furiosa-rngd")
    assert result.code == 0 and "FuriosaAI" in result.out and "KR" in result.out
    bad = cli("catalog", "show", "furiosa-rngdd")
    assert bad.code == 2
    assert bad.err.startswith("error: unknown chip id 'furiosa-rngdd'; did you mean furiosa-rngd")
    assert bad.err.count("\n") == 1
