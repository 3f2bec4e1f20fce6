"""Precision, recall and F1 of the detectors against labelled records.

Entity-level, exact-span scoring (as in KLUE-NER's entity F1): a finding counts as a true
positive only when its type, start and end equal a labelled span's. Per type t:
precision = TP_t / predicted_t, recall = TP_t / gold_t, F1 = 2PR / (P + R).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from aicenter.exchange.pii.base import Finding, PiiType
from aicenter.exchange.pii.scanner import Scanner
from aicenter.exchange.synthetic import LabelledRecord, Span


@dataclass(frozen=True, slots=True)
class TypeScore:
    """Counts and derived scores of one PII type."""

    pii_type: PiiType
    gold: int
    predicted: int
    true_positive: int

    @property
    def precision(self) -> float:
        return self.true_positive / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_records(
    records: Iterable[LabelledRecord], scanner: Scanner, types: Iterable[PiiType]
) -> dict[PiiType, TypeScore]:
    """Score ``scanner`` on ``records`` for each of ``types`` (other findings are ignored)."""
    wanted = set(types)
    gold: Counter[PiiType] = Counter()
    predicted: Counter[PiiType] = Counter()
    hits: Counter[PiiType] = Counter()
    listed = list(records)
    for record, findings in zip(listed, _scan_all(scanner, [r.text for r in listed]), strict=True):
        labels = {(s.pii_type, s.start, s.end) for s in record.spans if s.pii_type in wanted}
        found = {(f.pii_type, f.start, f.end) for f in findings if f.pii_type in wanted}
        gold.update(t for t, _, _ in labels)
        predicted.update(t for t, _, _ in found)
        hits.update(t for t, _, _ in labels & found)
    return {t: TypeScore(t, gold[t], predicted[t], hits[t]) for t in types}


def false_findings(text: str, scanner: Scanner) -> list[Finding]:
    """Every finding in PII-free ``text`` (scanned line by line, as records): all are false."""
    return [f for found in _scan_all(scanner, text.splitlines()) for f in found]


def _scan_all(scanner: Scanner, texts: list[str], batch: int = 1024) -> list[list[Finding]]:
    """Each text's findings, scanned in batches as ``aicenter dataset scan`` does."""
    out: list[list[Finding]] = []
    for i in range(0, len(texts), batch):
        out.extend(scanner.scan_many(texts[i : i + batch]))
    return out


_TAGGED = re.compile(r"<([^<>:]+):([A-Z]{2})>")


def parse_tagged(line: str) -> tuple[str, list[tuple[str, int, int]]]:
    """A KLUE-NER-style tagged sentence (``<김철수:PS> 기자가 ...``) → (plain text, [(tag,
    start, end)]) with character offsets into the plain text."""
    spans: list[tuple[str, int, int]] = []
    out: list[str] = []
    pos = 0
    length = 0
    for m in _TAGGED.finditer(line):
        out.append(line[pos : m.start()])
        length += m.start() - pos
        surface, tag = m.group(1), m.group(2)
        spans.append((tag, length, length + len(surface)))
        out.append(surface)
        length += len(surface)
        pos = m.end()
    out.append(line[pos:])
    return "".join(out), spans


def person_name_records(lines: Iterable[str]) -> list[LabelledRecord]:
    """Labelled records of the PS spans of tagged lines ('#' lines and blanks skipped)."""
    records: list[LabelledRecord] = []
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        text, spans = parse_tagged(line.rstrip("\n"))
        records.append(
            LabelledRecord(
                text, tuple(Span(PiiType.PERSON_NAME, s, e) for tag, s, e in spans if tag == "PS")
            )
        )
    return records
