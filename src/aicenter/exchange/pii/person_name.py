"""Korean person names: context words + the surname list, and (thorough mode) kiwipiepy.

Two modes, because the morphological analyser costs 8–16 µs a character (0.1–0.3 MB/s a core
measured here) while the rest of the scanner runs at tens of MB/s:

* fast (default): only names announced by context — a title right after, a label right before
  — found with regular expressions and vetoed by word lists (below); no analyser;
* thorough: kiwipiepy's proper nouns as well, so names without any context are found too; the
  analyser reads only the words that can hold a name (name_windows), 2–3 MB/s a core on prose.

Fast-mode candidate: a 3–4-syllable word starting with a surname (1 or 2 syllables) whose given
name has 1–2 syllables, directly followed by an honorific suffix (씨, 님, 군, 양, attached or
not) or, after a space, by a title (기자, 대표, 교수 ...), or by an age in parentheses
(정하늘(34) 씨), or directly after a label (성명:, 담당자, 예금주 ...). Before a title other
than an honorific it is dropped when it ends in a particle (목포로 이사했다), in an organisation
suffix (기획사 대표, 조직위 위원장) or is a common noun known to precede titles (전문가,
소비자); before a title that is also an everyday noun (시장 market, 이사 moving) its given name
must be made of common given-name syllables (반도체 시장: 체 is not one). Score 0.85.

Thorough mode keeps those candidates unless kiwipiepy reads one as ending inside a longer word
or as one common noun (an honorific overrides the latter), and adds kiwipiepy's proper nouns.
kiwipiepy tags names only as generic proper nouns (NNP), as it does places and companies;
"every NNP is a name" scores F1 ≈ 0.48 on KLUE-NER. An NNP (or an NNP surname directly followed
by an NNP given name) of 2–4 syllables that splits into surname + 1–2-syllable given name is
scored 0.90 with a title, label or age in parentheses next to it, 0.60 without when it has three
syllables and no place or organisation ending (시, 구, 역, 전자, 은행 ...), else dropped.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from aicenter.exchange.pii import compiled, name_windows
from aicenter.exchange.pii.base import RECORD_SEPARATOR, Action, Finding, PiiType, Sample, Trigger
from aicenter.exchange.pii.name_windows import (
    AGE_AFTER,
    LABEL_BEFORE,
    THOROUGH_FEATURE,
    TITLE_AFTER,
    Morph,
    split_name,
    surnames,
)
from aicenter.exchange.pii.name_words import (
    AMBIGUOUS_TITLES,
    COMMON_BEFORE_TITLES,
    GIVEN_NAME_SYLLABLES,
    HONORIFICS,
    LABELS,
    NON_NAME_ENDINGS,
    NON_NAMES,
    ORG_ENDINGS,
    PARTICLE_ENDINGS,
    TITLES,
)
from aicenter.extras import require

__all__ = ["THOROUGH_FEATURE", "PersonNameDetector", "split_name", "surnames"]
_HANGUL = re.compile(r"[가-힣]")
_TITLE_SET = frozenset(TITLES)
_LABEL_SET = frozenset(LABELS)
_COMMON_NOUN_TAGS = frozenset({"NNG", "NNB", "NP", "VV", "VA", "MAG"})

_AGE = r"\(\s?\d{1,3}\s?(?:세|살)?\s?[,·)]"


def _alternation(words: tuple[str, ...]) -> str:
    """``words`` as an alternation nested by first character (대(?:리|표(?:이사|))), so the
    regex engine tries one branch per distinct first character rather than one per word. A
    longer continuation comes before the bare word, so the first match at a position is the
    one a longest-first alternation of the words would give."""
    by_first: dict[str, list[str]] = {}
    for word in sorted(set(words)):
        by_first.setdefault(word[0], []).append(word[1:])
    branches = []
    for first, rests in by_first.items():
        longer = tuple(rest for rest in rests if rest)
        if not longer:
            branches.append(re.escape(first))
        else:
            bare = "|" if "" in rests else ""
            branches.append(f"{re.escape(first)}(?:{_alternation(longer)}{bare})")
    return "|".join(branches)


@cache
def _by_title_or_age() -> re.Pattern[str]:
    """A candidate followed by a title or by an age in parentheses (정하늘(34) 씨): a word start
    (no Hangul before), a surname's first syllable and 2–3 more syllables, fewest first. Group 1
    is the candidate. Matched only at the positions _context_scan points to."""
    initials = _surname_initials()
    return re.compile(
        rf"([{initials}](?<![가-힣].)[가-힣]{{2,3}}?)(?=\s?(?:{_alternation(TITLES)}|{_AGE}))"
    )


def _prefix_free_titles() -> tuple[str, ...]:
    """씨는 is 씨 already: only titles without a shorter title as prefix need their 2nd
    character."""
    return tuple(t for t in TITLES if not any(t != u and t.startswith(u) for u in TITLES))


@cache
def _surname_initials() -> str:
    """The first syllables of the packaged surnames (where a candidate name starts)."""
    return "".join(sorted({name[0] for name in surnames()}))


@cache
def _anchor_finder() -> Any:
    """The compiled search for the positions where :func:`_context_scan` may match
    (native/person_name.c), or None without the compiled core."""
    return compiled.name_anchors(_prefix_free_titles(), LABELS, _surname_initials())


def _context_matches(segment: str) -> Iterator[re.Match[str]]:
    """``_context_scan().finditer(segment)``: each match consumes only its anchor, so matching
    at every position the compiled anchor search lists finds the same matches, without the
    regex engine testing a character class at every position."""
    scan = _context_scan()
    finder = _anchor_finder()
    if finder is None:
        yield from scan.finditer(segment)
        return
    match = scan.match
    for position in finder.find(segment):
        m = match(segment, position)
        if m is not None:
            yield m


@cache
def _context_scan() -> re.Pattern[str]:
    """One pass that finds where the context rules can apply.

    Scanning a text for a character class costs the regex engine about 8 ns a character, the
    bulk of this detector's time, so there is one such scan, and it is for the anchors (the
    first character of a title, of a label, or an age's "("): they are rarer than surname
    initials (common syllables: 이, 정, 김 ...), and each hit is dropped after a one-character
    test of what follows (a title's or label's second character), which most hits fail.

    Each match consumes only its anchor and tests the rest with lookarounds, so every anchor
    is tried and a title match does not hide a label match next to it. Groups:

    * 1 (empty) — a title or an age starts at the anchor, and right before it, or before one
      whitespace character, ends a word shaped like a candidate: a word start, a surname
      initial and 2–3 more syllables (_candidate_start finds where). _by_title_or_age decides
      there: a candidate ends at the first position, after 3 or 4 syllables, where a title or
      an age follows, which need not be this anchor.
    * 2, or 3 when group 1 did not match — a label starts at the anchor and is followed by a
      3–4-syllable word ending the Hangul run: that word.
    """
    initials = _surname_initials()
    singles = "".join(sorted(title for title in TITLES if len(title) == 1)) + "("
    titles = _prefix_free_titles()
    title_seconds = "".join(sorted({title[1] for title in titles if len(title) > 1}))
    label_seconds = "".join(sorted({label[1] for label in LABELS}))
    anchors = "".join(sorted({word[0] for word in titles + LABELS} | {"("}))
    seconds = "".join(sorted(set(title_seconds + label_seconds)))
    # Each lookbehind ends with the anchor (".").
    shaped = "|".join(
        rf"(?<=(?<![가-힣])[{initials}][가-힣]{{{more}}}{gap}.)"
        for gap in ("", r"\s")
        for more in (2, 3)
    )
    # (?<=(?=X).) steps back to the anchor and tests X from there.
    titled = (
        rf"(?!(?![{title_seconds}])(?<![{singles}]))(?:{shaped})"
        rf"(?<=(?=(?:{_alternation(titles)}|{_AGE})).)"
    )
    labelled = (
        rf"(?=[{label_seconds}])"
        rf"(?<=(?=(?:{_alternation(LABELS)})\s*[:：]?\s*([가-힣]{{2,4}})(?![가-힣])).)"
    )
    return re.compile(
        rf"[{anchors}](?!(?![{seconds}])(?<![{singles}]))"  # next: a title's or label's 2nd
        rf"(?:{titled}()(?:{labelled}|)|{labelled})"
    )


_SAMPLE_SURNAMES = "김이박최정강조윤장임"
_SAMPLE_GIVEN = "민서준지현수영진우하윤은"


class PersonNameDetector:
    """Person names; ``thorough=True`` adds kiwipiepy proper nouns (about 20× slower)."""

    pii_type = PiiType.PERSON_NAME
    default_action = Action.PSEUDONYMISE
    label = "person names"
    trigger = Trigger.HANGUL
    prefilter = ""
    record_context: re.Pattern[str] | None = None

    def __init__(self, thorough: bool = False) -> None:
        if thorough:  # refused when the scanner is built, not in the middle of a scan
            require("korean-nlp", THOROUGH_FEATURE)
        self.thorough = thorough

    def normalise(self, value: str) -> str:
        """The name as written (names have no other written form to fold)."""
        return value.strip()

    def mask(self, value: str) -> str:
        """The surname's first syllable kept, the rest starred."""
        return value[:1] + "*" * (len(value) - 1)

    def sample(self, rng: random.Random) -> Sample:
        """A name with the context the fast mode needs: a label before or a title after."""
        name = rng.choice(_SAMPLE_SURNAMES) + "".join(rng.sample(_SAMPLE_GIVEN, 2))
        if rng.random() < 0.5:
            return Sample(rng.choice(["담당자 ", "성명: ", "예금주 "]), name, "")
        return Sample("", name, rng.choice([" 기자는", " 씨가", " 교수는", "(34) 씨는"]))

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        segment = text[start:end]
        if not _HANGUL.search(segment):
            return
        if not self.thorough:  # the context patterns cannot match across RECORD_SEPARATOR
            for s, e, _honorific in _context_candidates(segment):
                yield Finding(start + s, start + e, self.pii_type, 0.85)
            return
        for record in segment.split(RECORD_SEPARATOR):  # the analyser reads one record at a time
            yield from self._thorough(record, start)
            start += len(record) + len(RECORD_SEPARATOR)

    def _thorough(self, segment: str, start: int) -> Iterator[Finding]:
        """Context candidates the analyser does not veto, and the analyser's proper nouns."""
        if not _HANGUL.search(segment):
            return
        candidates = list(_context_candidates(segment))
        # Only the words that can hold a name are read by the analyser (name_windows).
        tokens = name_windows.tokens(segment, (s for s, _e, trusted in candidates if not trusted))
        taken: set[int] = set()
        for s, e, honorific in candidates:
            if honorific or not _analyser_vetoes(tokens, s, e):
                taken.add(s)
                yield Finding(start + s, start + e, self.pii_type, 0.85)
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.tag != "NNP":
                i += 1
                continue
            s, e, form, used = tok.start, tok.start + tok.len, tok.form, 1
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if (
                nxt is not None
                and nxt.tag == "NNP"
                and nxt.start == e
                and form in surnames()
                and len(nxt.form) <= 2
            ):
                e, form, used = nxt.start + nxt.len, form + nxt.form, 2
            score = self._score(segment, s, e, form)
            if score and s not in taken:
                yield Finding(start + s, start + e, self.pii_type, score)
            i += used

    @staticmethod
    def _score(segment: str, s: int, e: int, form: str) -> float:
        if segment[s:e] != form:
            return 0.0
        parts = split_name(form)
        if parts is None:
            return 0.0
        if (
            TITLE_AFTER.match(segment, e)
            or AGE_AFTER.match(segment, e)
            or LABEL_BEFORE.search(segment, max(0, s - 12), s)
        ):
            return 0.9
        _surname, given = parts
        if form in NON_NAMES or form.endswith(NON_NAME_ENDINGS):
            return 0.0
        if len(given) == 2:
            return 0.6
        return 0.0


def _context_candidates(segment: str) -> Iterator[tuple[int, int, bool]]:
    """(start, end, before an honorific) of the names context proposes (fast mode rules)."""
    title_ends: dict[int, int] = {}
    labelled: list[tuple[int, int]] = []
    label_end = 0
    by_title = _by_title_or_age()
    for m in _context_matches(segment):
        if m.start(1) >= 0:
            s = _candidate_start(segment, m.start())
            if s not in title_ends and (t := by_title.match(segment, s)):
                title_ends[s] = t.end(1)
        s, e = m.span(2) if m.start(2) >= 0 else m.span(3)
        if s >= 0 and m.start() >= label_end:  # label matches do not overlap (left to right)
            labelled.append((s, e))
            label_end = e
    seen: set[int] = set()
    for s in sorted(title_ends):
        e = title_ends[s]
        gap = segment[e] == " "
        after = e + 1 if gap else e
        aged = segment[after] == "("
        honorific = aged or segment.startswith(HONORIFICS, after)
        form = segment[s:e]
        if honorific and not gap and not aged and not _given_plausible(form):
            continue  # an attached 씨/님 after a word that is no name (민들레씨, 옥수수씨)
        if not honorific and (
            not gap
            or form.endswith(PARTICLE_ENDINGS)
            or form.endswith(ORG_ENDINGS)
            or form in COMMON_BEFORE_TITLES
        ):
            continue
        parts = split_name(form)
        if (
            parts is not None
            and not honorific
            and segment.startswith(AMBIGUOUS_TITLES, after)
            and not all(c in GIVEN_NAME_SYLLABLES for c in parts[1])
        ):
            continue
        if _plausible(form) and s not in seen:
            seen.add(s)
            yield s, e, honorific
    for s, e in labelled:
        # two syllables (이훈) only as a form's value: after a colon or closed by ")"
        if e - s == 2 and not (":" in segment[max(0, s - 3) : s] or segment[e : e + 1] == ")"):
            continue
        if _plausible(segment[s:e]) and s not in seen:
            seen.add(s)
            yield s, e, False
    for s, e, trusted in _phrase_candidates(segment):
        if s not in seen:
            seen.add(s)
            yield s, e, trusted


# Romanised surnames in their common passport spellings (hand-written for aicenter; several
# spellings of one surname: Lee/Yi/Rhee, Park/Pak, Choi/Choe ...).
ROMANISED_SURNAMES = (
    "Kim", "Lee", "Yi", "Rhee", "Park", "Pak", "Bak", "Choi", "Choe", "Jung", "Jeong", "Chung",
    "Kang", "Cho", "Jo", "Yoon", "Yun", "Jang", "Chang", "Lim", "Im", "Han", "Oh", "Seo", "Suh",
    "Shin", "Sin", "Kwon", "Hwang", "Ahn", "An", "Song", "Jeon", "Jun", "Chun", "Hong", "Yoo",
    "Yu", "Ryu", "Ko", "Go", "Moon", "Mun", "Yang", "Son", "Sohn", "Bae", "Baek", "Paik", "Heo",
    "Huh", "Nam", "Shim", "Sim", "Noh", "Roh", "Ha", "Kwak", "Sung", "Seong", "Cha", "Joo", "Ju",
    "Woo", "Koo", "Ku", "Min", "Na", "Jin", "Ji", "Eom", "Um", "Chae", "Won", "Bang", "Hyun",
    "Gong", "Kong", "Byun", "Yeo", "Choo", "Do", "Seok", "Ma", "Gil", "Pyo", "Ban", "Wang", "Ok",
    "Namgoong", "Namkoong", "Hwangbo", "Jegal", "Sunwoo",
)  # fmt: skip
# What announces a name in English: a courtesy title, or a form's label.
ENGLISH_TITLES = ("Mr", "Ms", "Mrs", "Miss", "Dr", "Prof", "Professor", "Reporter")
ENGLISH_LABELS = ("Name", "Full name", "Full Name", "Account holder", "Account Holder",
                  "Holder", "Contact person", "Contact Person", "Attn", "Applicant")  # fmt: skip
# Where the English pattern may match: its titles and labels, found by str.find (the words
# that start with another of them, Mrs after Mr, are found with it).
_ENGLISH_ANCHORS = tuple(
    w
    for w in sorted(set(ENGLISH_TITLES + ENGLISH_LABELS))
    if not any(w != v and w.startswith(v) for v in ENGLISH_TITLES + ENGLISH_LABELS)
)
# Speech verbs and the endings that close a self-introduction (저는 홍길동입니다).
_INTRO_ENDINGS = ("입니다", "이에요", "예요", "이라고", "라고", "이고", "이며", "이구요", "임")
_ROLES_AFTER_QUOTE = tuple(t for t in TITLES if len(t) > 1 and not t.startswith("씨"))


@cache
def _english_pattern() -> re.Pattern[str]:
    """A title or label, then a romanised full name, surname first ("Kim Min-jun") or
    given name first ("Min-jun Kim"). Group ``n`` is the name."""
    surname = "(?:" + "|".join(sorted(ROMANISED_SURNAMES, key=len, reverse=True)) + ")"
    given = r"[A-Z][a-z]{0,7}(?:-[a-z]{1,6})?"
    titles = "|".join(sorted(ENGLISH_TITLES, key=len, reverse=True))
    labels = "|".join(sorted(ENGLISH_LABELS, key=len, reverse=True))
    return re.compile(
        rf"(?:(?:{titles})\.?\s+|(?:{labels})\s*[:：]\s*)"
        rf"(?P<n>{surname}\s{given}|{given}\s{surname})(?![A-Za-z\-])"
    )


@cache
def _phrase_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(a literal the segment must contain, the pattern) of the phrases news and forms name
    people with; group ``n`` is the name, group ``strong`` (when it matched) a context strong
    enough for any plausible name, else the name also needs common given-name syllables:

    * a byline with the title first: ``[뉴스1] 기자 홍길동 =`` (strong: then ``=``, ``(``, an
      e-mail or the end of the line);
    * a byline with the title after: ``(서울=연합뉴스) 홍길동 기자 =`` (strong);
    * a self-introduction: ``저는 홍길동입니다``, ``제 이름은 홍길동이라고 합니다``;
    * a speaker after a quote: ``"…"라고 홍길동 대표가 밝혔다`` (strong: a role),
      ``"…"라고 홍길동은 말했다`` (three or four syllables).
    """
    intro = _alternation(_INTRO_ENDINGS)
    return (
        (
            "기자",
            re.compile(
                r"기자\s+(?P<n>[가-힣]{2,4})(?![가-힣])"
                r"(?=(?P<strong>\s*(?:[=(<\[]|$|\n)|\s+[A-Za-z0-9._%+-]+@))?"
            ),
        ),
        ("기자", re.compile(r"[)\]] (?P<n>[가-힣]{2,4})\s기자(?P<strong>\s?=)")),
        ("저는", re.compile(rf"저는(?<![가-힣]저는)\s+(?P<n>[가-힣]{{2,4}}?)(?:{intro})")),
        ("이름은", re.compile(rf"이름은\s+(?P<n>[가-힣]{{2,4}}?)(?:{intro})")),
        (
            "고 ",
            re.compile(
                rf"[\"”'’]\s?(?:이?라)?고\s+(?P<n>[가-힣]{{2,4}}?)"
                rf"(?:\s(?P<strong>{_alternation(_ROLES_AFTER_QUOTE)}))?(?:은|는|이|가|도)\s"
            ),
        ),
    )


_QUOTE_MARKERS = (' "', " “")


def _phrase_candidates(segment: str) -> Iterator[tuple[int, int, bool]]:
    """Names in the phrases of :func:`_phrase_patterns`, before a spaced 씨 (장혁 씨: a
    two-syllable name), before a quote (홍길동은 "…"), in a byline closed by an e-mail
    (홍길동 기자 hong@…) and in English forms (Mr. Kim Min-jun, Name: Kim Minji). Each check
    starts from a literal the segment is first searched for, so text without it costs one
    ``str.find``. Yields (start, end, trusted): trusted candidates are not vetoed by the
    thorough mode's analyser."""
    for literal, pattern in _phrase_patterns():
        if literal not in segment:
            continue
        for m in pattern.finditer(segment):
            form = m.group("n")
            if m.groupdict().get("strong") is not None:
                if not _plausible(form):
                    continue
            elif (len(form) < 3 and literal == "고 ") or not _given_plausible(form):
                continue
            yield m.start("n"), m.end("n"), False
    for marker in (" 씨", *_QUOTE_MARKERS, " 기자 "):
        at = segment.find(marker)
        while at >= 0:
            if marker == " 기자 " and not _EMAIL_AFTER.match(segment, at + len(marker)):
                at = segment.find(marker, at + 1)
                continue
            span = _word_before(segment, at, particle=marker in _QUOTE_MARKERS)
            if span is not None:
                s, e = span
                form = segment[s:e]
                if marker == " 기자 ":
                    ok = _plausible(form)
                elif marker == " 씨":
                    ok = len(form) == 2 and _given_plausible(form)
                else:
                    ok = len(form) >= 3 and _given_plausible(form)
                if ok:
                    yield s, e, marker not in _QUOTE_MARKERS
            at = segment.find(marker, at + 1)
    english = _english_pattern()
    for word in _ENGLISH_ANCHORS:
        at = segment.find(word)
        while at >= 0:
            if at == 0 or not segment[at - 1].isascii() or not segment[at - 1].isalpha():
                hit = english.match(segment, at)
                if hit is not None:
                    yield hit.start("n"), hit.end("n"), True
            at = segment.find(word, at + 1)


_EMAIL_AFTER = re.compile(r"[A-Za-z0-9._%+-]+@")


def _word_before(segment: str, at: int, *, particle: bool) -> tuple[int, int] | None:
    """The Hangul word ending at ``at`` (without its topic/subject particle when
    ``particle``), when a word boundary precedes it."""
    e = at
    if particle:
        if e == 0 or segment[e - 1] not in "은는이가":
            return None
        e -= 1
    s = e
    while s > 0 and "가" <= segment[s - 1] <= "힣" and e - s < 5:
        s -= 1
    if s == e or (s > 0 and "가" <= segment[s - 1] <= "힣"):
        return None
    return s, e


def _candidate_start(segment: str, anchor: int) -> int:
    """Start of the word _context_scan found shaped like a candidate before ``anchor``: it ends
    at the anchor or one whitespace character earlier, and has 4 syllables when the character
    4 before its end is Hangul (a 3-syllable word would not start a word there), else 3."""
    end = anchor - 1 if segment[anchor - 1].isspace() else anchor
    return end - 4 if end >= 4 and "가" <= segment[end - 4] <= "힣" else end - 3


def _plausible(form: str) -> bool:
    """A full name, not a known non-name, no plural, and no title in a given name's place
    (김부장님, 이과장님: a surname and a title, not a name)."""
    parts = split_name(form)
    return (
        parts is not None
        and form not in NON_NAMES
        and not form.endswith("들")
        and parts[1] not in _TITLE_SET
        and form not in _LABEL_SET
    )


def _given_plausible(form: str) -> bool:
    """:func:`_plausible` and a given name made of common given-name syllables: what a
    context weaker than a title or a label (a quote, a self-introduction) needs."""
    parts = split_name(form)
    return (
        parts is not None
        and _plausible(form)
        and form not in COMMON_BEFORE_TITLES
        and all(c in GIVEN_NAME_SYLLABLES for c in parts[1])
    )


def _analyser_vetoes(tokens: list[Morph], s: int, e: int) -> bool:
    """Whether kiwipiepy's reading rules a context candidate out: it ends inside a longer word,
    or the whole word is one common noun."""
    inside = [t for t in tokens if t.start < e and t.start + t.len > s]
    if not any(t.start + t.len == e for t in inside):
        return True
    return any(t.start == s and t.start + t.len == e and t.tag in _COMMON_NOUN_TAGS for t in inside)
