from __future__ import annotations

import pytest

from aicenter.exchange.pii import Finding, PiiType, Scanner, default_registry
from aicenter.exchange.report import PiiReport, mask, masked_snippet
from aicenter.exchange.stats import DatasetStats, estimated_tokens

SCANNER = Scanner(default_registry(names=False))


def test_mask_keeps_separators_and_ends_only() -> None:
    assert mask("010-1234-5678", PiiType.PHONE) == "0**-****-***8"
    assert mask("kim@example.com", PiiType.EMAIL) == "k**@example.com"
    assert mask("김철수", PiiType.PERSON_NAME) == "김**"


def test_samples_carry_no_raw_value() -> None:
    text = "연락처 010-1234-5678 또는 이메일 kim@example.com 로 연락"
    findings = SCANNER.scan(text)
    report = PiiReport(samples_per_type=1)
    report.add(text, findings)
    report.add("없음", [])
    doc = report.as_json()
    assert doc["records"] == 2 and doc["records_with_pii"] == 1
    assert doc["counts"] == {"email": 1, "phone": 1}
    for samples in doc["samples"].values():
        for s in samples:
            assert "1234-5678" not in s and "kim@" not in s
    snippet = masked_snippet(text, findings, findings[1], reach=5)
    assert snippet == "… 이메일 k**@example.com 로 연락"


def test_snippet_masks_a_finding_cut_by_the_window() -> None:
    text = "a" * 30 + "010-1234-5678"
    f = Finding(30, 43, PiiType.PHONE, 0.9)
    assert masked_snippet(text, [f], f, reach=3) == "…aaa0**-****-***8"


def test_stats_totals_and_token_estimate() -> None:
    stats = DatasetStats()
    stats.add("abcd" * 10)  # 40 ASCII chars → 10 tokens
    stats.add("가나다")  # 3 syllables → 2 tokens
    assert stats.as_json() == {
        "records": 2,
        "bytes": 40 + 9,
        "characters": 43,
        "estimated_tokens": 12,
    }
    assert estimated_tokens("é") == pytest.approx(0.5)
    merged = stats.merge(stats)
    assert merged.records == 4 and merged.bytes == 98
