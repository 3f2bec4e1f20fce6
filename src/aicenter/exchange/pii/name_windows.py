"""Thorough person-name detection's analyser calls: which words kiwipiepy reads, and how.

kiwipiepy costs 8–16 µs a character on one core (0.1–0.3 MB/s of Korean text; longer texts
cost more a character), and batching short texts saves nothing: ``tokenize`` on an iterable
of texts only spreads them over worker threads, which the scanner's per-core budget excludes.
The only way to go faster is to read less. So the analyser reads only the words that can
yield a finding of :class:`~aicenter.exchange.pii.person_name.PersonNameDetector`:

* a word holding a context candidate the analyser may veto;
* a word starting with a surname whose 2–4-syllable prefix scores 0.90 as a proper noun: a
  title or an age follows it, or a label precedes it;
* a word starting with a 3-syllable name shape (4 with a two-syllable surname) that would
  score 0.60 without context, when its given-name syllables are common ones and, read alone
  (cached by word), it starts with a proper noun or with a word the analyser does not know
  (전문가, 기술의, 방안을 are read once and dropped).

Found by one regular-expression pass, each such word is read with the words before and after
it as context (alone, the analyser reads most unknown names as common nouns), and only its own
morphemes are kept. Measured on the labelled name sets (benchmarks/bench_pii.py): the same
precision and recall as reading whole records on the generated set; on the KLUE-style sets a
name whose context lies further away (정예준 한빛대 교수는) can be missed. A proper noun that
starts inside a word (서울김철수) is not looked for.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Iterable
from functools import cache, lru_cache
from importlib import resources
from typing import Any, NamedTuple

from aicenter.exchange.pii.name_words import (
    GIVEN_NAME_SYLLABLES,
    LABELS,
    NON_NAME_ENDINGS,
    NON_NAMES,
    TITLES,
)
from aicenter.extras import require

# Thorough mode needs kiwipiepy (the korean-nlp extra); the default mode needs nothing more.
THOROUGH_FEATURE = "thorough person-name detection (kiwipiepy)"
_ALL_HANGUL = re.compile(r"[가-힣]+")
TITLE_AFTER = re.compile(r"\s?(?:" + "|".join(sorted(TITLES, key=len, reverse=True)) + ")")
LABEL_BEFORE = re.compile(
    r"(?:" + "|".join(sorted(LABELS, key=len, reverse=True)) + r")\s*[:：]?\s*$"
)
AGE_AFTER = re.compile(r"\s?\(\s?\d{1,3}\s?(?:세|살)?\s?[,)]")
# Words read per cache: enough for the vocabulary of a large corpus (a few MB of memory).
_CACHED_WORDS = 1 << 16
_REACH = 24


class Morph(NamedTuple):
    """One morpheme of the analyser's reading, offsets into the scanned segment (the fields
    kiwipiepy's Token has and the detector reads)."""

    form: str
    tag: str
    start: int
    len: int
    oov: bool = False  # a word the analyser's dictionary does not have


@cache
def surnames() -> frozenset[str]:
    """The packaged surname list (data/surnames.csv, with its source)."""
    path = resources.files("aicenter.exchange.pii").joinpath("data/surnames.csv")
    with path.open(encoding="utf-8") as handle:
        return frozenset(row["surname"] for row in csv.DictReader(handle))


def split_name(form: str) -> tuple[str, str] | None:
    """(surname, given name) when ``form`` reads as a Korean full name, else None."""
    names = surnames()
    if not (2 <= len(form) <= 4) or not _ALL_HANGUL.fullmatch(form):
        return None
    if len(form) >= 3 and form[:2] in names:
        return form[:2], form[2:]
    if form[0] in names and 1 <= len(form) - 1 <= 2:
        return form[0], form[1:]
    return None


@cache
def kiwi() -> Any:
    """The one analyser of this process (loading its model takes seconds)."""
    require("korean-nlp", THOROUGH_FEATURE)
    from kiwipiepy import Kiwi

    with warnings.catch_warnings():  # kiwipiepy warns that 0 changed meaning in 0.21
        warnings.simplefilter("ignore", DeprecationWarning)
        return Kiwi(num_workers=0)  # 0 = one thread: the scanner's cost is per core


@lru_cache(maxsize=_CACHED_WORDS)
def _reading(word: str) -> tuple[Morph, ...]:
    """The analyser's morphemes of ``word`` read alone, offsets into ``word``."""
    return tuple(Morph(t.form, t.tag, t.start, t.len, t.oov) for t in kiwi().tokenize(word))


def clear_cache() -> None:
    """Forget cached readings (benchmarks measure a cold cache)."""
    _reading.cache_clear()


@cache
def _word_starts() -> re.Pattern[str]:
    """Where a word that :func:`_may_score` can accept starts (a superset, checked there):
    a word start, then a surname's first syllable and two common given-name syllables (a
    3-syllable name; 4 with a two-syllable surname), or a 2–4-syllable prefix followed by a
    title or an age; or the end of a label, before a word. The regex engine finds these in one
    pass over the text, so Python only looks at the few words it points to."""
    names = surnames()
    singles = "".join(sorted(n for n in names if len(n) == 1))
    doubles = "|".join(sorted(n for n in names if len(n) == 2))
    initials = "".join(sorted({n[0] for n in names}))
    given = "".join(sorted(GIVEN_NAME_SYLLABLES))
    titles = "|".join(sorted(TITLES, key=len, reverse=True))
    labels = "|".join(sorted(LABELS, key=len, reverse=True))
    return re.compile(
        rf"[{initials}](?<![가-힣].)(?:(?<=[{singles}])|(?=..(?<={doubles})))"
        rf"(?=[가-힣]?[{given}]{{2}})"
        rf"|[{initials}](?<![가-힣].)(?=[가-힣]{{1,3}}?(?:\s?(?:{titles})|{AGE_AFTER.pattern}))"
        rf"|(?P<label>(?:{labels})\s*[:：]?\s*)(?=[가-힣])"
    )


def _may_score(segment: str, s: int, e: int) -> bool:
    """Whether a proper noun at the start of the word ``segment[s:e]`` could score: the
    conditions of ``PersonNameDetector._score`` on each 2–4-syllable prefix. A name without
    context (:func:`_bare_name_length`) must also, read alone, start with a proper noun or
    with a word the analyser does not know: a known common word there (전문가들은) is not
    read again in context. The reading alone is of one word, so it is cached."""
    if LABEL_BEFORE.search(segment, max(0, s - 12), s) or any(
        split_name(segment[s : s + n]) is not None
        and (TITLE_AFTER.match(segment, s + n) is not None or AGE_AFTER.match(segment, s + n))
        for n in range(2, min(4, e - s) + 1)
    ):
        return True
    if not _bare_name_length(segment[s:e]):
        return False
    first = _reading(segment[s:e])[0]
    return first.tag == "NNP" or first.oov


def _bare_name_length(word: str) -> int:
    """The length of the name a proper noun at the start of ``word`` would be scored as
    without context (a surname and two given-name syllables, not a place or organisation
    name), when those given-name syllables are common ones (GIVEN_NAME_SYLLABLES), else 0.
    That last condition is this module's: it keeps the analyser off most words."""
    double = word[:2] in surnames()
    length = 3 + double
    if len(word) < length or not (double or word[0] in surnames()):
        return 0
    form = word[:length]
    if (
        form in NON_NAMES
        or form.endswith(NON_NAME_ENDINGS)
        or not all(c in GIVEN_NAME_SYLLABLES for c in form[1 + double :])
    ):
        return 0
    return length


def _word_end(segment: str, at: int) -> int:
    """The end of the whitespace-separated word holding ``at`` (at most :data:`_REACH`
    characters on)."""
    limit = min(len(segment), at + _REACH)
    while at < limit and not segment[at].isspace():
        at += 1
    return at


def _word_start(segment: str, at: int) -> int:
    """The start of the whitespace-separated word holding ``at`` (at most :data:`_REACH`
    characters back)."""
    limit = max(0, at - _REACH)
    while at > limit and not segment[at - 1].isspace():
        at -= 1
    return at


def tokens(segment: str, candidates: Iterable[int]) -> list[Morph]:
    """The analyser's morphemes of the words of ``segment`` that can hold a name: each word
    holding one of the ``candidates`` positions, and each word :func:`_may_score` accepts.
    A word is read with the next one as context (alone, the analyser reads most unknown
    names as common nouns); only the word's own morphemes are kept. Offsets into
    ``segment``, in order."""
    starts = set(candidates)
    for m in _word_starts().finditer(segment):
        s = m.end() if m.group("label") else m.start()
        run = _ALL_HANGUL.match(segment, s)
        if run is not None and run.end() - s >= 2 and _may_score(segment, s, run.end()):
            starts.add(s)
    out: list[Morph] = []
    done = -1
    for s in sorted(starts):
        ws = _word_start(segment, s)
        if ws <= done:
            continue  # this word was read already
        we = _word_end(segment, s)
        done = we
        before = _word_start(segment, ws - 1) if ws > 0 else ws
        after = _word_end(segment, we + 1) if we < len(segment) else we
        out.extend(
            Morph(t.form, t.tag, t.start + before, t.len)
            for t in _reading(segment[before:after])
            if ws <= t.start + before < we
        )
    return out
