from __future__ import annotations

import pytest

from aicenter.domain.errors import InputError
from aicenter.exchange.tdm import TdmCoverage, TdmStatus, tdm_status


@pytest.mark.parametrize(
    ("fields", "reserved"),
    [
        ({}, False),
        ({"tdm_reservation": 1}, True),
        ({"tdm-reservation": "1"}, True),
        ({"tdm_reservation": True}, True),
        ({"tdm_reservation": 0}, False),
        ({"tdm-reservation": "0"}, False),
        ({"tdm_reservation": None}, False),
    ],
)
def test_reservation_values(fields: dict[str, object], reserved: bool) -> None:
    assert tdm_status(fields).reserved is reserved


def test_bad_reservation_names_file_line_and_field() -> None:
    with pytest.raises(InputError) as info:
        tdm_status({"tdm-reservation": "maybe"}, file="a.jsonl", line=3)
    assert "a.jsonl:3" in str(info.value) and "tdm-reservation" in str(info.value)


def test_coverage_by_publisher_or_policy() -> None:
    reserved = TdmStatus(True, "https://pub.example/tdm-policy.json")
    assert TdmCoverage().excludes(reserved, "한겨레")
    assert not TdmCoverage.of(["한겨레"]).excludes(reserved, "한겨레")
    assert not TdmCoverage.of(["https://pub.example/tdm-policy.json"]).excludes(reserved, None)
    assert TdmCoverage.of(["다른신문"]).excludes(reserved, "한겨레")
    assert not TdmCoverage().excludes(TdmStatus(False), "한겨레")
    assert tdm_status({"tdm-policy": "https://x/p"}).policy == "https://x/p"
