"""A per-dataset PII report: counts per type, records affected, masked samples.

Samples are snippets of the records around a finding with every finding in the snippet masked,
so the report itself carries no personal information: letters and digits become '*' except the
first and last character of a value (an e-mail keeps its domain, a name its surname).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import chain, compress
from operator import itemgetter
from typing import Any

from aicenter.exchange.pii.base import Finding, PiiType
from aicenter.exchange.pii.registry import HANDLING


def mask(value: str, pii_type: PiiType) -> str:
    """``value`` with its identifying characters replaced by '*' (the type's own masking)."""
    return HANDLING[pii_type].mask(value)


def masked_snippet(text: str, findings: list[Finding], focus: Finding, reach: int = 20) -> str:
    """``text`` around ``focus`` (``reach`` characters each side) with every finding masked."""
    lo, hi = max(0, focus.start - reach), min(len(text), focus.end + reach)
    out: list[str] = []
    pos = lo
    for f in sorted(findings):
        if f.end <= lo or f.start >= hi:
            continue
        s, e = max(f.start, lo), min(f.end, hi)
        if s < pos:
            continue
        out.append(text[pos:s])
        out.append(mask(text[f.start : f.end], f.pii_type)[s - f.start : e - f.start])
        pos = e
    out.append(text[pos:hi])
    return ("…" if lo > 0 else "") + "".join(out) + ("…" if hi < len(text) else "")


@dataclass(slots=True)
class PiiReport:
    """Accumulates the report of one dataset, record by record."""

    samples_per_type: int = 3
    records: int = 0
    records_with_pii: int = 0
    counts: Counter[PiiType] = field(default_factory=Counter)
    samples: dict[PiiType, list[str]] = field(default_factory=dict)

    def add(self, text: str, findings: list[Finding]) -> None:
        """Count one record's findings and keep the first masked samples of each type."""
        self.records += 1
        if findings:
            self.records_with_pii += 1
        self.counts.update(f.pii_type for f in findings)
        self._sample(text, findings)

    def _sample(self, text: str, findings: list[Finding]) -> None:
        """Keep masked samples of the record's findings for types that still lack some."""
        for f in findings:
            kept = self.samples.setdefault(f.pii_type, [])
            if len(kept) < self.samples_per_type:
                kept.append(masked_snippet(text, findings, f))

    def add_batch(self, texts: list[str], found: list[list[Finding]]) -> None:
        """:meth:`add` for each record of a batch. Counting is done over the whole batch in C
        (``Counter`` over the findings' types); records are visited one by one only while a
        type found in the batch still lacks its samples, which stops after the first few."""
        with_pii = list(compress(range(len(found)), found))
        self.records += len(texts)
        self.records_with_pii += len(with_pii)
        types = list(map(itemgetter(2), chain.from_iterable(found)))
        self.counts.update(types)
        if all(len(self.samples.get(t, ())) >= self.samples_per_type for t in set(types)):
            return
        for i in with_pii:
            self._sample(texts[i], found[i])

    def as_json(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "records_with_pii": self.records_with_pii,
            "counts": {t.value: n for t, n in sorted(self.counts.items())},
            "samples": {t.value: s for t, s in sorted(self.samples.items())},
        }
