"""Output control for licensed data: does a job's log or output file reproduce records it was
served? Pure core: the caller passes texts, bytes and fingerprint arrays; nothing here opens
a file or reads the clock.

**Normalisation.** Text is NFKC-normalised and case-folded, and then only letters and digits
are kept (``str.isalnum``): whitespace, punctuation and line breaks are dropped, so re-spacing
a record, re-wrapping its lines, changing its quotes or Korean word spacing (띄어쓰기) does not
hide it. Every kept character remembers where it came from in the original text, so a
finding is a span of the original text that can be redacted.

**Shingles.** A shingle is ``n`` consecutive normalised characters (default ``n = 10``),
hashed to 64 bits: ``h = fmix64(Σ_j c_j·B^(n-1-j) mod 2^64)`` over the code points ``c_j``
(``B`` an odd 64-bit constant, ``fmix64`` MurmurHash3's finaliser, so the low and high bits are
both well mixed). Characters, not words: a Korean word (어절) is a stem with particles
glued on (``정부는``, ``정부가``, ``정부의``), so word n-grams of Korean miss copies that change
one particle and are long and sparse; a Hangul syllable carries ~10 bits (2,350 syllables in
common use), so ten syllables (about three 어절) are specific to a text, while ten ASCII
letters (about two English words) are less so — which is why a finding needs several shingles,
below. Chance collisions of 64-bit hashes are negligible (≈ k·m/2^64 for k output and m served
shingles).

**Winnowing** (Schleimer, Wilkerson & Aiken, SIGMOD 2003). Of the shingle hashes, only the
minimum of every window of ``w`` consecutive ones is kept (default ``w = 10``), a density of
about ``2/(w+1)`` of the positions. Selection depends only on the hashes inside a window, so
the guarantee is exact: any common substring of at least ``w + n − 1`` normalised characters
(19) shares at least one kept fingerprint with the served text, and one of ``3w + n − 1``
(39 characters, about 50 characters of written Korean or English with spaces) shares at least
three (three disjoint windows lie inside it).

**Finding.** The kept fingerprints of the output are looked up in the served set (a sorted
array of unique uint64, binary search). Matched ones are grouped into runs whose consecutive
positions are at most ``max_gap`` shingles apart (default 30: within a verbatim copy kept
positions are at most ``w`` apart; the slack bridges short log lines interleaved between
pieces of a record). A run with at least ``min_matches`` (3) matched fingerprints is a finding:
it reproduces served text. Its span is widened by ``w − 1`` characters on each side (but not
past a line break), since the first and last kept fingerprint of a copy lie at most that far
inside it, so redacting the span removes the copy whole. One or two matched fingerprints — a
shared name, a date, a stock phrase of news — are not findings. The containment
``matched / kept`` of the whole output is reported too.

**Binary files** (not valid UTF-8, e.g. checkpoints): the runs of at least 16 printable UTF-8
characters are extracted (like ``strings``) and checked as text; a checkpoint of tensors has
none that match and passes, a pickle holding records does not.

**Encodings.** Base64 runs of at least 40 characters are decoded and their text checked too
(a finding covers the whole run). Known limits, not caught: other encodings (hex, gzip or zip
files, rot13, UTF-16 inside binaries), token ids, translation and paraphrase, and a record
printed in pieces shorter than ``w + n − 1`` normalised characters each.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

_BASE = np.uint64(0x100000001B3)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{40,}={0,2}")
_PRINTABLE_UTF8 = re.compile(
    rb"(?:[\t\n\r\x20-\x7e]|[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
    rb"|[\xf0-\xf4][\x80-\xbf]{3}){16,}")
MARKER = "[redacted: licensed text]"


@dataclass(frozen=True, slots=True)
class Params:
    """Shingle length ``n`` (normalised characters), winnowing window ``w`` (shingles), and
    the finding rule: ``min_matches`` matched fingerprints, at most ``max_gap`` apart."""

    n: int = 10
    w: int = 10
    min_matches: int = 3
    max_gap: int = 30

    def __post_init__(self) -> None:
        if self.n < 1 or self.w < 1 or self.min_matches < 1 or self.max_gap < 1:
            raise ValueError("n, w, min_matches and max_gap must be at least 1")


DEFAULT = Params()


@dataclass(frozen=True, slots=True)
class Normalised:
    """Kept characters (code points, as uint64) and, for each, its span in the original."""

    codes: U64
    starts: I64
    ends: I64


@cache
def _alnum_table() -> npt.NDArray[np.bool_]:
    return np.array([chr(i).isalnum() for i in range(0x10000)], dtype=np.bool_)


def _cheap_fold(text: str) -> bool:
    """True when NFKC + case folding keep every character one character (the usual case)."""
    if text.isascii():
        return True
    return unicodedata.is_normalized("NFKC", text) and len(text.casefold()) == len(text)


def _is_cluster_start(ch: str) -> bool:
    code = ord(ch)
    return not unicodedata.combining(ch) and not (0x1160 <= code <= 0x11FF
                                                  or 0xD7B0 <= code <= 0xD7FF)


def _fold_slow(line: str, base: int, pieces: list[str], starts: list[int],
               ends: list[int]) -> None:
    """Fold a line cluster by cluster (a starter with its combining marks or Hangul jamo),
    so decomposed text composes again and every output character maps to its cluster."""
    i = 0
    while i < len(line):
        j = i + 1
        while j < len(line) and not _is_cluster_start(line[j]):
            j += 1
        folded = unicodedata.normalize("NFKC", line[i:j]).casefold()
        pieces.append(folded)
        starts.extend([base + i] * len(folded))
        ends.extend([base + j] * len(folded))
        i = j


def normalise(text: str) -> Normalised:
    """NFKC, case-fold, keep letters and digits; with each kept character's original span."""
    start_all: I64 | None = None
    end_all: I64 | None = None
    if _cheap_fold(text):
        folded = text.casefold()
    else:
        pieces: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        base = 0
        for line in text.splitlines(keepends=True):
            if _cheap_fold(line):
                pieces.append(line.casefold())
                starts.extend(range(base, base + len(line)))
                ends.extend(range(base + 1, base + len(line) + 1))
            else:
                _fold_slow(line, base, pieces, starts, ends)
            base += len(line)
        folded = "".join(pieces)
        start_all = np.array(starts, dtype=np.int64)
        end_all = np.array(ends, dtype=np.int64)
    codes = np.frombuffer(folded.encode("utf-32-le"), dtype="<u4")
    table = _alnum_table()
    if folded.isascii() or int(codes.max(initial=0)) < 0x10000:
        kept = np.flatnonzero(table[codes])
    else:
        bmp = codes < 0x10000
        keep = np.zeros(len(codes), dtype=np.bool_)
        keep[bmp] = table[codes[bmp]]
        for i in np.flatnonzero(~bmp):  # rare: characters outside the BMP
            keep[i] = chr(int(codes[i])).isalnum()
        kept = np.flatnonzero(keep)
    if start_all is None or end_all is None:
        return Normalised(codes[kept].astype(np.uint64), kept, kept + 1)
    return Normalised(codes[kept].astype(np.uint64), start_all[kept], end_all[kept])


def shingle_hashes(codes: U64, n: int) -> U64:
    """The 64-bit hash of every ``n``-character shingle (empty if fewer than ``n``)."""
    m = len(codes) - n + 1
    if m <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = codes[:m].copy()
    for j in range(1, n):
        h *= _BASE
        h += codes[j:j + m]
    h ^= h >> _S33
    h *= _M1
    h ^= h >> _S33
    h *= _M2
    h ^= h >> _S33
    return h


def winnow(hashes: U64, w: int) -> I64:
    """Positions of the winnowed shingles: every position holding the minimum of a window of
    ``w`` consecutive hashes (ties all kept: the choice depends only on the window's hashes,
    so the same text selects the same fingerprints wherever it appears).

    Window minima by doubling, ``m_2k[i] = min(m_k[i], m_k[i+k])``, then ``O(w)`` vectorised
    comparisons: position ``j`` is kept iff ``h[j] = min(h[i:i+w])`` for some ``i`` in
    ``[j−w+1, j]``."""
    size = len(hashes)
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    if size <= w:
        return np.flatnonzero(hashes == hashes.min()).astype(np.int64)
    span, mins = 1, hashes
    while span * 2 <= w:
        mins = np.minimum(mins[:-span], mins[span:])
        span *= 2
    if span < w:
        mins = np.minimum(mins[:-(w - span)], mins[w - span:])
    windows = len(mins)  # size - w + 1
    keep = np.zeros(size, dtype=np.bool_)
    for k in range(w):  # window i = j - k
        keep[k:k + windows] |= hashes[k:k + windows] == mins
    return np.flatnonzero(keep).astype(np.int64)


def fingerprint(texts: Iterable[str], params: Params = DEFAULT) -> U64:
    """Sorted unique winnowed fingerprints of served texts (what the gateway stores)."""
    norm = normalise("\n".join(texts))
    hashes = shingle_hashes(norm.codes, params.n)
    return np.unique(hashes[winnow(hashes, params.w)])


@dataclass(frozen=True, slots=True)
class ServedSet:
    """The fingerprints of everything one dataset served a job: sorted, unique uint64."""

    dataset_id: str
    hashes: U64

    @staticmethod
    def of(dataset_id: str, arrays: Iterable[U64]) -> ServedSet:
        parts = [np.asarray(a, dtype=np.uint64) for a in arrays]
        joined = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
        return ServedSet(dataset_id, np.unique(joined))

    def contains(self, hashes: U64) -> npt.NDArray[np.bool_]:
        if len(self.hashes) == 0 or len(hashes) == 0:
            return np.zeros(len(hashes), dtype=np.bool_)
        idx = np.searchsorted(self.hashes, hashes)
        idx[idx == len(self.hashes)] = 0
        found: npt.NDArray[np.bool_] = self.hashes[idx] == hashes
        return found


@dataclass(frozen=True, slots=True)
class Finding:
    """``text[start:end]`` reproduces records served from ``datasets`` (``matched`` kept
    fingerprints); ``encoding`` is ``""`` for plain text or ``"base64"``."""

    start: int
    end: int
    datasets: tuple[str, ...]
    matched: int
    encoding: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "datasets": list(self.datasets),
                "matched": self.matched, "encoding": self.encoding}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Findings, and the containment ``matched / kept`` of the output's fingerprints."""

    findings: tuple[Finding, ...]
    kept: int
    matched: int
    binary: bool = False
    datasets: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.findings

    @property
    def containment(self) -> float:
        return self.matched / self.kept if self.kept else 0.0


def _runs(positions: I64, owners: npt.NDArray[np.bool_], params: Params
          ) -> list[tuple[int, int, int, npt.NDArray[np.bool_]]]:
    """(first, last, count, datasets hit) of each run of matched positions."""
    if len(positions) == 0:
        return []
    breaks = np.flatnonzero(np.diff(positions) > params.max_gap) + 1
    bounds = [0, *breaks.tolist(), len(positions)]
    out = []
    for a, b in itertools.pairwise(bounds):
        if b - a >= params.min_matches:
            which: npt.NDArray[np.bool_] = np.asarray(owners[a:b].any(axis=0), dtype=np.bool_)
            out.append((int(positions[a]), int(positions[b - 1]), b - a, which))
    return out


def check_text(text: str, served: Sequence[ServedSet], params: Params = DEFAULT,
               *, decode_base64: bool = True) -> CheckResult:
    """Check one output text against what the job was served (see the module docstring)."""
    norm = normalise(text)
    hashes = shingle_hashes(norm.codes, params.n)
    pos = winnow(hashes, params.w)
    kept = hashes[pos]
    owners = (np.stack([s.contains(kept) for s in served], axis=1) if served
              else np.zeros((len(kept), 0), dtype=np.bool_))
    hit = owners.any(axis=1) if served else np.zeros(len(kept), dtype=np.bool_)
    findings: list[Finding] = []
    last_char = len(norm.codes) - 1
    for first, last, count, which in _runs(pos[hit], owners[hit], params):
        lo = max(0, first - (params.w - 1))
        hi = min(last_char, last + params.n - 1 + (params.w - 1))
        names = tuple(s.dataset_id for s, used in zip(served, which, strict=True) if used)
        # widened, but not across a line break: a neighbouring log line stays readable
        line_start = text.rfind("\n", 0, int(norm.starts[first])) + 1
        line_end = text.find("\n", int(norm.ends[last + params.n - 1]))
        start = max(int(norm.starts[lo]), line_start)
        end = min(int(norm.ends[hi]), len(text) if line_end < 0 else line_end)
        findings.append(Finding(start, end, names, count))
    matched = int(hit.sum())
    if decode_base64 and served:
        for found in _BASE64_RUN.finditer(text):
            if any(f.start <= found.start() < f.end for f in findings):
                continue
            decoded = _b64_text(found.group())
            if decoded is None:
                continue
            inner = check_text(decoded, served, params, decode_base64=False)
            if inner.findings:
                names = tuple(sorted({d for f in inner.findings for d in f.datasets}))
                findings.append(Finding(found.start(), found.end(), names,
                                        sum(f.matched for f in inner.findings), "base64"))
    findings.sort(key=lambda f: f.start)
    return CheckResult(tuple(findings), len(kept), matched,
                       datasets=tuple(sorted({d for f in findings for d in f.datasets})))


def _b64_text(run: str) -> str | None:
    """The UTF-8 text a base64 run decodes to, or None (not base64, or not text)."""
    run = run.rstrip("=")
    try:
        if "-" in run or "_" in run:
            raw = base64.urlsafe_b64decode(run + "=" * (-len(run) % 4))
        else:
            raw = base64.b64decode(run + "=" * (-len(run) % 4))
    except (binascii.Error, ValueError):
        return None
    text = raw.decode("utf-8", errors="replace")
    return text if sum(ch.isalnum() for ch in text) >= 20 else None


def check_bytes(data: bytes, served: Sequence[ServedSet], params: Params = DEFAULT
                ) -> tuple[CheckResult, str | None]:
    """Check an output file: UTF-8 text is checked as text (returned, for redaction);
    anything else is binary and only its printable UTF-8 runs are checked (text None)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        runs = [m.group().decode("utf-8") for m in _PRINTABLE_UTF8.finditer(data)]
        result = check_text("\n".join(runs), served, params)
        return CheckResult(result.findings, result.kept, result.matched, True,
                           result.datasets), None
    return check_text(text, served, params), text


def redact(text: str, findings: Iterable[Finding], marker: str = MARKER) -> str:
    """``text`` with each finding's span (merged where they overlap) replaced by ``marker``."""
    spans = sorted((f.start, f.end) for f in findings)
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[str] = []
    at = 0
    for start, end in merged:
        out.append(text[at:start])
        out.append(marker)
        at = end
    out.append(text[at:])
    return "".join(out)


def served_sets(arrays: Mapping[str, Iterable[U64]]) -> list[ServedSet]:
    """One :class:`ServedSet` per dataset from the arrays stored for it."""
    return [ServedSet.of(name, parts) for name, parts in sorted(arrays.items())]
