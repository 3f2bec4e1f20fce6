"""What a PII detector is, what it finds, and the registry that holds detectors.

Finding is half of what the exchange knows about a type: a built-in detector
(:class:`CompleteDetector`) also carries its :class:`Handling` — the default action at ingest,
the normalisation a pseudonym is computed from, the masking for display and a generator of
labelled samples — so a new PII type is one module plus one line in
:mod:`aicenter.exchange.pii.registry`.

A detector declares a :class:`Trigger` — the cheap signal the scanner looks for before calling
it (a run of digits, an ``@``, a ``:``, Hangul) — and a ``find`` that validates candidates in a
window of the text. Detectors register through :class:`DetectorRegistry` as objects satisfying
the :class:`Detector` protocol, never by name (DESIGN rule 5).

The scanner scans a batch of records as one text, the records joined by
:data:`RECORD_SEPARATOR`; a detector's patterns must not match across it (no pattern here
matches a NUL, and ``\n`` ends every clause).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from enum import Enum, StrEnum
from typing import NamedTuple, Protocol, runtime_checkable

RECORD_SEPARATOR = "\n\x00"


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

    DIGITS = "digits"  # a token of >= 7 digits, capitals, separators, + ( ) ending in a digit
    AT = "at"  # an '@'
    COLON = "colon"  # two ':' with only hex digits, dots and colons between them
    HANGUL = "hangul"  # the record contains Hangul syllables


class Finding(NamedTuple):
    """One piece of personal information: ``text[start:end]`` within one record.

    ``score`` in [0, 1] is the detector's confidence; when findings overlap the scanner keeps
    the one with the higher score (then the longer one). A named tuple, not a frozen dataclass:
    a scan creates one per finding, and a tuple is built about three times faster.
    """

    start: int
    end: int
    pii_type: PiiType
    score: float


@runtime_checkable
class Detector(Protocol):
    """A detector of one PII type.

    DIGITS-trigger hints, so the scanner calls a detector only on tokens it could match:
    ``prefilter`` is a regular expression searched in the token's *shape* — the token with
    every digit replaced by ``9`` — so it must not test digit values ('' = always call); it
    must match the shape of every token holding one of the detector's findings. For a COLON
    detector it is searched in the run of hex digits, dots and colons that triggered it.
    ``record_context``: call only in records where this pattern occurs (None = always).
    """

    pii_type: PiiType
    trigger: Trigger
    prefilter: str
    record_context: re.Pattern[str] | None

    def find(self, text: str, start: int, end: int) -> Iterable[Finding]:
        """Findings whose span lies in ``text[start:end]``; context may be read outside it."""
        ...


@runtime_checkable
class ShapeDetector(Detector, Protocol):
    """A DIGITS detector whose candidates are the matches of a *value-free* ``shape``.

    ``shape`` tests character classes only (``\\d``, never a particular digit; capitals as
    they are; compiled with ``re.ASCII``: digits are ASCII once the scanner has folded
    full-width ones, and a token holds no other), so it matches a token's shape (digits as
    ``9``) exactly where it matches the token: the scanner finds the candidate spans once per
    shape and calls ``check`` on each, with no regex run per token. ``check`` returns the
    finding's score, 0.0 for none; digit values (area codes, octets, check digits) are tested
    there. It may also carry ``native``: the same check compiled
    (:mod:`aicenter.exchange.pii.compiled`), which the scanner then calls instead.
    """

    shape: re.Pattern[str]

    def check(self, text: str, start: int, end: int) -> float:
        """The score of the candidate ``text[start:end]`` (a match of ``shape``), 0.0 if none."""
        ...


class Action(StrEnum):
    """What to do with a record that contains a PII type."""

    KEEP = "keep"
    REDACT = "redact"
    PSEUDONYMISE = "pseudonymise"
    DROP_RECORD = "drop"


class Sample(NamedTuple):
    """A labelled piece of text for evaluation: ``value`` is the PII, ``prefix`` and ``suffix``
    the words written around it (the context some forms need to be found)."""

    prefix: str
    value: str
    suffix: str


@runtime_checkable
class Handling(Protocol):
    """What the exchange does with a PII type once it is found.

    ``default_action``: what ingest does with a record holding the type unless the provider
    overrides it. ``normalise``: the canonical form a pseudonym is computed from, so every
    written form of one value gets one token (the value is NFKC-folded before). ``mask``: the
    value for display with its identifying characters starred. ``sample``: a value as people
    write it, with the words around it, drawn from ``rng`` (the scanner must find it).
    """

    pii_type: PiiType
    default_action: Action
    label: str  # what the type is, in plural, for contracts and reports ("phone numbers")

    def normalise(self, value: str) -> str:
        """The canonical form of ``value``."""
        ...

    def mask(self, value: str) -> str:
        """``value`` with its identifying characters replaced by '*'."""
        ...

    def sample(self, rng: random.Random) -> Sample:
        """A labelled sample of the type."""
        ...


@runtime_checkable
class CompleteDetector(Detector, Handling, Protocol):
    """A built-in detector: it finds its type and carries everything else about it."""


_MASK_KEEP = frozenset("-. ()+:@/")


def mask_inner(value: str) -> str:
    """Every letter and digit but the first and the last replaced by '*'; separators kept."""
    chars = list(value)
    positions = [i for i, c in enumerate(chars) if c not in _MASK_KEEP]
    for i in positions[1:-1]:
        chars[i] = "*"
    return "".join(chars)


def digits_only(value: str) -> str:
    """The digits of ``value`` (``value`` itself when it has none)."""
    return "".join(c for c in value if c.isdigit()) or value


class NumberHandling:
    """Normalisation and masking of a number written with separators: its digits, masked
    inside. A mixin for detectors of numbers."""

    def normalise(self, value: str) -> str:
        return digits_only(value)

    def mask(self, value: str) -> str:
        return mask_inner(value)


class CaseFoldedHandling:
    """Normalisation and masking of a case-insensitive code (passport, IPv6 address)."""

    def normalise(self, value: str) -> str:
        return value.strip().lower()

    def mask(self, value: str) -> str:
        return mask_inner(value)


def find_by_shape(detector: ShapeDetector, text: str, start: int, end: int) -> Iterator[Finding]:
    """``find`` of a shape detector: ``check`` on each match of its shape in the window."""
    for m in detector.shape.finditer(text, start, end):
        score = detector.check(text, m.start(), m.end())
        if score:
            yield Finding(m.start(), m.end(), detector.pii_type, score)


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
