"""What a PII detector is, what it finds, and the registry that holds detectors.

A detector declares a :class:`Trigger` — the cheap signal the scanner looks for before calling
it (a run of digits, an ``@``, a ``:``, Hangul) — and a ``find`` that validates candidates in a
window of the record. Detectors register through :class:`DetectorRegistry` as objects satisfying
the :class:`Detector` protocol, never by name (DESIGN rule 5).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Protocol, runtime_checkable


class PiiType(StrEnum):
    """Every kind of personal information the exchange detects."""

    RRN = "rrn"
    FOREIGNER_NUMBER = "foreigner_number"
    PASSPORT = "passport"
    DRIVER_LICENCE = "driver_licence"
    BUSINESS_NUMBER = "business_number"
    CORPORATE_NUMBER = "corporate_number"
    PHONE = "phone"
    BANK_ACCOUNT = "bank_account"
    CARD = "card"
    EMAIL = "email"
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    PERSON_NAME = "person_name"


class Trigger(Enum):
    """The cheap signal that makes the scanner call a detector on part of a record."""

    DIGITS = "digits"  # a window of >= 7 characters of digits, separators, + ( ) and capitals
    AT = "at"  # an '@'
    COLON = "colon"  # two ':' with only hex digits, dots and colons between them
    HANGUL = "hangul"  # the record contains Hangul syllables


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One piece of personal information: ``text[start:end]`` within one record.

    ``score`` in [0, 1] is the detector's confidence; when findings overlap the scanner keeps
    the one with the higher score (then the longer one).
    """

    start: int
    end: int
    pii_type: PiiType
    score: float


@runtime_checkable
class Detector(Protocol):
    """A detector of one PII type.

    DIGITS-trigger hints, so the scanner calls a detector only on windows it could match:
    ``min_digits``: skip windows with fewer digits; ``needs_any``: skip windows containing none
    of these characters ('' = no need); ``prefilter``: a loose regular expression, a superset of
    the detector's shapes without groups ('' = always call); ``record_context``: call only in
    records where this pattern occurs (None = always).
    """

    pii_type: PiiType
    trigger: Trigger
    min_digits: int
    needs_any: str
    prefilter: str
    record_context: re.Pattern[str] | None

    def find(self, text: str, start: int, end: int) -> Iterable[Finding]:
        """Findings whose span lies in ``text[start:end]``; context may be read outside it."""
        ...


class DetectorRegistry:
    """An ordered set of detectors, at most one per PII type."""

    def __init__(self, detectors: Iterable[Detector] = ()) -> None:
        self._detectors: dict[PiiType, Detector] = {}
        for detector in detectors:
            self.register(detector)

    def register(self, detector: Detector) -> None:
        """Add a detector; a second detector for the same type replaces the first."""
        if not isinstance(detector, Detector):
            raise TypeError(f"{detector!r} does not satisfy the Detector protocol")
        self._detectors[detector.pii_type] = detector

    def without(self, *types: PiiType) -> DetectorRegistry:
        """A copy without the detectors of ``types``."""
        return DetectorRegistry(d for t, d in self._detectors.items() if t not in types)

    def by_trigger(self, trigger: Trigger) -> list[Detector]:
        return [d for d in self._detectors.values() if d.trigger is trigger]

    @property
    def types(self) -> list[PiiType]:
        return list(self._detectors)

    def __iter__(self) -> Iterator[Detector]:
        return iter(self._detectors.values())

    def __len__(self) -> int:
        return len(self._detectors)
