"""The done-when bar on the generated labelled set, and false findings on number-heavy text."""

from __future__ import annotations

import pytest

from aicenter.exchange.evaluation import false_findings, score_records
from aicenter.exchange.pii import STRUCTURED_TYPES, PiiType, Scanner, default_registry
from aicenter.exchange.synthetic import labelled_records, number_heavy_text

SCANNER = Scanner(default_registry(names=False))


@pytest.mark.parametrize("compiled_core", [True, False], ids=["compiled", "pure-python"])
@pytest.mark.parametrize("seed", [11, 12])
def test_recall_and_precision_per_structured_type(seed: int, compiled_core: bool) -> None:
    records = labelled_records(seed, 2500, STRUCTURED_TYPES)
    scanner = Scanner(default_registry(names=False), compiled_core=compiled_core)
    scores = score_records(records, scanner, STRUCTURED_TYPES)
    for pii_type, score in scores.items():
        assert score.gold >= 100, pii_type
        assert score.recall >= 0.99, (pii_type, score)
        assert score.precision >= 0.98, (pii_type, score)


def test_labelled_set_has_the_hard_cases() -> None:
    records = labelled_records(3, 2000, STRUCTURED_TYPES)
    values = [r.text[s.start : s.end] for r in records for s in r.spans]
    rrns = [r.text[s.start : s.end] for r in records for s in r.spans if s.pii_type is PiiType.RRN]
    assert any("-" not in v and len(v) == 13 for v in rrns)  # undashed
    assert any(v.startswith("+82") for v in values)
    assert any(v.startswith("(0") for v in values)
    from aicenter.exchange.pii.rrn import rrn_check_digit_ok

    post2020 = [v for v in rrns if not rrn_check_digit_ok([int(c) for c in v if c.isdigit()])]
    assert len(post2020) > 50


def test_false_findings_per_mb_of_number_heavy_text() -> None:
    text = number_heavy_text(5, 1_000_000)
    mb = len(text.encode("utf-8")) / 1e6
    assert len(false_findings(text, SCANNER)) / mb <= 50


def test_decoys_are_present_and_mostly_ignored() -> None:
    records = labelled_records(4, 1000, (PiiType.EMAIL,), decoy_rate=1.0)
    # only e-mails are labelled; every decoy is a number that only looks like PII
    wrong = [f for r in records for f in SCANNER.scan(r.text) if f.pii_type is not PiiType.EMAIL]
    decoys = sum(r.text.count(". ") for r in records)
    assert decoys > 1000
    assert len(wrong) / decoys < 0.02
