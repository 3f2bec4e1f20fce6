"""Dataset statistics: records, UTF-8 bytes, characters and an estimate of tokens.

Token estimate (a rule of thumb until a dataset is counted with the tokenizer of the model
being trained, not a measurement):

    tokens ≈ ascii_chars / 4 + hangul_syllables / 1.5 + other_chars / 2

Four ASCII characters per token is the usual figure for English BPE vocabularies; multilingual
vocabularies cover Korean at roughly one to two syllables per token, 1.5 taken here; other
scripts fall between. Whitespace counts as ASCII.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ASCII_CHARS_PER_TOKEN = 4.0
HANGUL_SYLLABLES_PER_TOKEN = 1.5
OTHER_CHARS_PER_TOKEN = 2.0
_HANGUL = re.compile(r"[가-힣]")


def estimated_tokens(text: str) -> float:
    """The token estimate of one text (see the module docstring)."""
    n_chars = len(text)
    # Encoding with errors="ignore" drops every non-ASCII character: one C pass, no Python loop.
    n_ascii = n_chars if text.isascii() else len(text.encode("ascii", "ignore"))
    n_hangul = 0 if n_ascii == n_chars else len(_HANGUL.findall(text))
    n_other = n_chars - n_ascii - n_hangul
    return (
        n_ascii / ASCII_CHARS_PER_TOKEN
        + n_hangul / HANGUL_SYLLABLES_PER_TOKEN
        + n_other / OTHER_CHARS_PER_TOKEN
    )


@dataclass(slots=True)
class DatasetStats:
    """Running totals over the records of a dataset."""

    records: int = 0
    bytes: int = 0
    characters: int = 0
    estimated_tokens_f: float = 0.0

    def add(self, text: str) -> None:
        self.records += 1
        self.bytes += len(text.encode("utf-8"))
        self.characters += len(text)
        self.estimated_tokens_f += estimated_tokens(text)

    def merge(self, other: DatasetStats) -> DatasetStats:
        """The totals of two disjoint parts (for parallel ingest)."""
        return DatasetStats(
            self.records + other.records,
            self.bytes + other.bytes,
            self.characters + other.characters,
            self.estimated_tokens_f + other.estimated_tokens_f,
        )

    @property
    def estimated_tokens(self) -> int:
        return round(self.estimated_tokens_f)

    def as_json(self) -> dict[str, int]:
        return {
            "records": self.records,
            "bytes": self.bytes,
            "characters": self.characters,
            "estimated_tokens": self.estimated_tokens,
        }
