"""One ingest step for a batch of records, pure: PII handling, near-duplicates, statistics.

The ingest pipeline (streaming, checkpoints, Ray) calls :meth:`RecordProcessor.process` on each
batch it reads; everything it needs to resume — the LSH index, statistics and PII report — is
held here and can be rebuilt by replaying the kept records.

Per record, in order:
1. scan for PII (the report counts what the raw record held);
2. near-duplicate check on the raw text (before pseudonymisation, whose tokens differ between
   datasets, so copies across providers still match); a near-duplicate is not kept;
3. apply each PII type's action (drop the record, redact, pseudonymise, keep);
4. add the kept text to the statistics.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from aicenter.exchange.dedup import DuplicateMatch, MinHasher, NearDuplicateIndex
from aicenter.exchange.pii.base import Finding, PiiType
from aicenter.exchange.pii.scanner import Scanner
from aicenter.exchange.pseudonymise import DEFAULT_ACTIONS, Action, Pseudonymiser, apply_actions
from aicenter.exchange.report import PiiReport
from aicenter.exchange.stats import DatasetStats


class Fate(StrEnum):
    """What became of a record."""

    KEPT = "kept"
    DROPPED_FOR_PII = "dropped_for_pii"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class InputRecord:
    """A record to ingest: a key unique in the corpus, its provider, its text."""

    key: Hashable
    provider: str
    text: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """The fate of one record; ``text`` is what is stored (None unless kept)."""

    key: Hashable
    fate: Fate
    text: str | None
    findings: tuple[Finding, ...]
    duplicate_of: DuplicateMatch | None = None


@dataclass
class RecordProcessor:
    """Holds the state of one ingest: index, statistics, report."""

    scanner: Scanner
    pseudonymiser: Pseudonymiser
    actions: Mapping[PiiType, Action] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    hasher: MinHasher = field(default_factory=MinHasher)
    index: NearDuplicateIndex = field(default_factory=NearDuplicateIndex)
    stats: DatasetStats = field(default_factory=DatasetStats)
    report: PiiReport = field(default_factory=PiiReport)
    duplicates: int = 0
    dropped_for_pii: int = 0

    def process(self, batch: Sequence[InputRecord]) -> list[Outcome]:
        """Process a batch (signatures are computed for the whole batch at once)."""
        texts = [r.text for r in batch]
        signatures = self.hasher.signatures(texts)
        outcomes: list[Outcome] = []
        for record, signature, findings in zip(
            batch, signatures, self.scanner.scan_many(texts), strict=True
        ):
            self.report.add(record.text, findings)
            match = self.index.add(record.key, record.provider, signature)
            if match is not None:
                self.duplicates += 1
                outcomes.append(Outcome(record.key, Fate.DUPLICATE, None, tuple(findings), match))
                continue
            handled = apply_actions(record.text, findings, self.pseudonymiser, self.actions)
            if handled is None:
                self.dropped_for_pii += 1
                outcomes.append(Outcome(record.key, Fate.DROPPED_FOR_PII, None, tuple(findings)))
                continue
            self.stats.add(handled)
            outcomes.append(Outcome(record.key, Fate.KEPT, handled, tuple(findings)))
        return outcomes
