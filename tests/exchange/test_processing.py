from __future__ import annotations

from aicenter.exchange.pii import PiiType, Scanner, default_registry
from aicenter.exchange.processing import Fate, InputRecord, RecordProcessor
from aicenter.exchange.pseudonymise import Pseudonymiser
from aicenter.exchange.synthetic import korean_news_text


def test_batch_keeps_pseudonymises_drops_and_deduplicates_across_providers() -> None:
    article = korean_news_text(5, 2000).splitlines()[0]
    processor = RecordProcessor(
        Scanner(default_registry(names=False)), Pseudonymiser(bytes(range(32)), "ds-1")
    )
    batch = [
        InputRecord(1, "daily", article + " 문의 010-1234-5678"),
        InputRecord(2, "weekly", "[속보] " + article + " 문의 010-1234-5678"),
        InputRecord(3, "daily", "주민번호 900101-1234568 유출"),
        InputRecord(4, "weekly", "다른 기사입니다. 연락처 01012345678"),
    ]
    outcomes = processor.process(batch)
    assert [o.fate for o in outcomes] == [
        Fate.KEPT,
        Fate.DUPLICATE,
        Fate.DROPPED_FOR_PII,
        Fate.KEPT,
    ]
    kept = [o.text for o in outcomes if o.text is not None]
    token = processor.pseudonymiser.token("010-1234-5678", PiiType.PHONE)
    assert kept[0].endswith("문의 " + token)
    assert kept[1] == "다른 기사입니다. 연락처 " + token  # same number, same token
    dup = outcomes[1].duplicate_of
    assert dup is not None and dup.duplicate_of == 1 and dup.across_providers
    assert processor.stats.records == 2
    assert processor.stats.bytes == sum(len(t.encode()) for t in kept)
    assert processor.report.counts[PiiType.PHONE] == 3
    assert processor.report.counts[PiiType.RRN] == 1
    assert (processor.duplicates, processor.dropped_for_pii) == (1, 1)
