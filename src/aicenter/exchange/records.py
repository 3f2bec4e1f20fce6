"""A record read from an input file, and a batch of record texts: the values the file-format
readers (:mod:`aicenter.exchange.file_formats`) hand to the pure scan and ingest steps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Record:
    """One record: its 0-based index in the file, the 1-based line it starts on, its text, and
    its other fields (provenance, TDMRep) when the reader was asked to keep them."""

    index: int
    line: int
    text: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TextBatch:
    """Consecutive records' texts: ``texts[i]`` is record ``first + i``; ``utf8_bytes`` is the
    UTF-8 size of the texts (line ends and other fields not counted)."""

    first: int
    texts: list[str]
    utf8_bytes: int
