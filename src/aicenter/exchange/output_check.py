"""Output control for licensed data: does a job's log or output file reproduce records it was
served? Pure core: the caller passes texts, bytes and fingerprint arrays; nothing here opens
a file or reads the clock.

**Normalisation.** Text is NFKC-normalised and case-folded, and then only letters and digits
are kept (``str.isalnum``): whitespace, punctuation and line breaks are dropped, so re-spacing
a record, re-wrapping its lines, changing its quotes or Korean word spacing (띄어쓰기) does not
hide it. Every kept character remembers where it came from in the original text, so a
finding is a span of the original text that can be redacted.

**Shingles.** A shingle is ``n`` consecutive normalised characters (default ``n = 10``),
hashed to 63 bits: ``h = fmix64(Σ_j c_j·B^(n-1-j) mod 2^64) mod 2^63`` over the code points
``c_j`` (``B`` an odd 64-bit constant, ``fmix64`` MurmurHash3's finaliser; the top bit is
left for record keys, below). Characters, not words: a Korean word (어절) is a stem with
particles glued on (``정부는``, ``정부가``, ``정부의``), so word n-grams of Korean miss copies
that change one particle. Chance collisions of 63-bit hashes are negligible (≈ k·m/2^63 for
k output and m served shingles).

**Winnowing** (Schleimer, Wilkerson & Aiken, SIGMOD 2003). Of the shingle hashes, only the
minimum of every window of ``w`` consecutive ones is kept (default ``w = 10``), a density of
about ``2/(w+1)`` of the positions. Selection depends only on the hashes inside a window, so
the guarantee is exact: any common substring of at least ``k·w + n − 1`` normalised
characters shares at least ``k`` kept fingerprints with the record it came from (``k``
disjoint windows lie inside it, and each window's minimum is kept on both sides). Served
records are winnowed one by one (in one vectorised pass: windows straddling two records are
ignored), so a record has the same fingerprints in whatever batch it is served.

**What is stored** (:func:`fingerprint`, appended by the gateway for every batch it serves):
for each record ``r``, a key (a hash of its text with the top bit set) and then the set
``F_r`` of its distinct kept fingerprints: 8 bytes a fingerprint a record, 8 a record.
:meth:`ServedSet.of` indexes them by fingerprint, counting a record served twice (another
epoch, a retried attempt) once, by its key. The *document frequency* ``df(h)`` is the number
of distinct served records whose ``F_r`` holds ``h``.

**Findings.** Let ``o_1 … o_K`` be the output's kept fingerprints in order and ``ρ(i)`` the
number of served ones among ``o_1 … o_i`` (text that matches nothing — log lines between
pieces of a record — does not add to distances). For a served record ``r``, a *chain* is a
maximal run of output fingerprints ``o_i ∈ F_r`` whose consecutive members satisfy
``ρ(i′) − ρ(i) ≤ g`` (``record_gap``, default 8). A chain is a finding when

* **rule A, specific text:** counting only fingerprints with ``df(h) ≤ D`` (``common_df``,
  default 4), it holds at least ``m`` distinct ones (``min_matches``, default 5); or
* **rule B, most of a record:** counting fingerprints with ``df(h) ≤ D_B`` (``cover_df``,
  default 64), it holds at least ``φ·|F_r^B|`` (``cover_fraction``, default ½) of the
  record's own such fingerprints ``F_r^B = {h ∈ F_r : df(h) ≤ D_B}``, and at least
  ``min(m, |F_r|)`` distinct ones.

Rule A is document-frequency weighting with weights 0 or 1: a fingerprint held by many
served records is template text — a byline, a copyright line, a date format, a stock quote,
a sentence frame — and says nothing about which record was copied; one held by at most
``D`` records is specific to them. Requiring ``m`` of them *from one record and close
together* is what separates a copy from in-domain text that was never served: such text
matches specific fingerprints by chance too (a place and a figure here, a sentence pair
there), but they mostly point at different records. By the winnowing guarantee, a verbatim
copy of at least ``m·w + n − 1 = 59`` normalised characters (about 75 characters of spaced
Korean) of a record's specific text (fingerprints with ``df ≤ D``) is always a finding.
Rule B finds a copy of most of a record whatever its text: a record with more than ``D``
near-copies in the served set, or a record that is nearly all template; ``D_B`` bounds the
cost (the records read per output fingerprint).

**Spans.** A finding's span is its chain grown over the served text around it (neighbouring
kept fingerprints at most ``w`` apart, all served: the common parts of a copied record go
with it); spans closer than ``max_gap`` characters are merged, and each is widened by
``w − 1`` characters on each side — the first and last kept fingerprint of a copy lie at
most that far inside it — but not past a line break (and to the line's ends when only
spaces and punctuation are left), so redacting the span removes the copy whole and keeps
neighbouring log lines. The containment ``matched / kept`` of the whole output is reported
too.

**What it can tell apart, measured** (``benchmarks/bench_output_check.py``). The labelled
set's served text comes from a template generator (16 sentence frames, 18 topics, 20
places, 12 organisations, random figures, plus bylines and copyright lines): an article it
never served shares a median 45 and up to about 70 normalised characters verbatim with
*some* served record, and most of its shingles are in served records. On such text no
verbatim rule can tell a 60-character excerpt from chance, and most excerpts of that
length are released; whole records and re-spaced, reordered, interleaved and base64 copies
are found, thirds of records in about 96 % of cases, and about 1 in 250 never-served
articles is withheld by chance. Real news carries far more record-specific text (names,
quotes, figures, sentences of its own); the benchmark's high-entropy control stands in for
it: there an 80-character excerpt is always found and nothing unseen is withheld. A job
that read few records makes the check stricter, never looser: with few records every
fingerprint has a low ``df``.

**Binary files** (not valid UTF-8, e.g. checkpoints): the runs of at least 16 printable UTF-8
characters are extracted (like ``strings``) and checked as text; a checkpoint of tensors has
none that match and passes, a pickle holding records does not.

**Encodings.** Base64 runs of at least 40 characters are decoded and their text checked too
(a finding covers the whole run). Known limits, not caught: other encodings (hex, gzip or zip
files, rot13, UTF-16 inside binaries), token ids, translation and paraphrase, a record
printed in pieces shorter than ``w + n − 1`` normalised characters each, a copy of less than
half of a record whose text the served set holds in more than ``D`` records, and many short
excerpts of different records (each below the rules).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from aicenter.exchange.output_text import normalise

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

_BASE = np.uint64(0x100000001B3)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_HASH_MASK = np.uint64(0x7FFF_FFFF_FFFF_FFFF)
_RECORD_BIT = np.uint64(1 << 63)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{40,}={0,2}")
_PRINTABLE_UTF8 = re.compile(
    rb"(?:[\t\n\r\x20-\x7e]|[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
    rb"|[\xf0-\xf4][\x80-\xbf]{3}){16,}")
MARKER = "[redacted: licensed text]"


@dataclass(frozen=True, slots=True)
class Params:
    """Shingle length ``n`` (normalised characters) and winnowing window ``w`` (shingles);
    the finding rules (module docstring): ``min_matches`` fingerprints of one record, each
    held by at most ``common_df`` served records (rule A), or ``cover_fraction`` of one
    record's fingerprints, counting those held by at most ``cover_df`` records (rule B);
    consecutive fingerprints of a record at most ``record_gap`` matched fingerprints apart;
    findings closer than ``max_gap`` characters are merged."""

    n: int = 10
    w: int = 10
    min_matches: int = 5
    common_df: int = 4
    record_gap: int = 8
    cover_fraction: float = 0.5
    cover_df: int = 64
    max_gap: int = 30

    def __post_init__(self) -> None:
        if min(self.n, self.w, self.min_matches, self.common_df, self.record_gap,
               self.cover_df, self.max_gap) < 1:
            raise ValueError("n, w, min_matches, common_df, record_gap, cover_df and max_gap "
                             "must be at least 1")
        if not 0 < self.cover_fraction <= 1:
            raise ValueError("cover_fraction must be in (0, 1]")


DEFAULT = Params()


def shingle_hashes(codes: U64, n: int) -> U64:
    """The 63-bit hash of every ``n``-character shingle (empty if fewer than ``n``)."""
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
    h &= _HASH_MASK
    return h


def _window_minima(hashes: U64, w: int) -> U64:
    """``min(hashes[i:i+w])`` for every ``i`` (``len(hashes) >= w``), by doubling:
    ``m_2k[i] = min(m_k[i], m_k[i+k])``."""
    span, mins = 1, hashes
    while span * 2 <= w:
        mins = np.minimum(mins[:-span], mins[span:])
        span *= 2
    if span < w:
        mins = np.minimum(mins[:-(w - span)], mins[w - span:])
    return mins


def _keep_minima(hashes: U64, w: int, valid: npt.NDArray[np.bool_] | None) -> npt.NDArray[
        np.bool_]:
    """Positions holding the minimum of a (valid) window of ``w`` hashes."""
    size = len(hashes)
    keep = np.zeros(size, dtype=np.bool_)
    if size < w:
        return keep
    mins = _window_minima(hashes, w)
    windows = len(mins)  # size - w + 1
    for k in range(w):  # window i = j - k
        same = hashes[k:k + windows] == mins
        keep[k:k + windows] |= same if valid is None else same & valid
    return keep


def winnow(hashes: U64, w: int) -> I64:
    """Positions of the winnowed shingles: every position holding the minimum of a window of
    ``w`` consecutive hashes (ties all kept: the choice depends only on the window's hashes,
    so the same text selects the same fingerprints wherever it appears); a text of at most
    ``w`` shingles keeps its minimum.

    Window minima by doubling, then ``O(w)`` vectorised comparisons: position ``j`` is kept
    iff ``h[j] = min(h[i:i+w])`` for some ``i`` in ``[j−w+1, j]``."""
    if len(hashes) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(hashes) <= w:
        return np.flatnonzero(hashes == hashes.min()).astype(np.int64)
    return np.flatnonzero(_keep_minima(hashes, w, None)).astype(np.int64)


def _winnow_records(hashes: U64, rec: I64, records: int, w: int) -> I64:
    """:func:`winnow` applied to each record on its own, in one pass over the joined text:
    ``rec[i]`` is the record of shingle ``i`` (−1 for a shingle straddling two records);
    only windows inside one record count, and a record of fewer than ``w`` shingles keeps its
    minimum. The result equals winnowing the records one by one."""
    size = len(hashes)
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    valid = None
    if size >= w:
        valid = (rec[:size - w + 1] == rec[w - 1:]) & (rec[:size - w + 1] >= 0)
    keep = _keep_minima(hashes, w, valid)
    inside = rec >= 0
    per_record = np.bincount(rec[inside], minlength=records)
    short = np.zeros(len(rec), dtype=np.bool_)
    short[inside] = per_record[rec[inside]] < w
    at = np.flatnonzero(short)
    if len(at):  # shingles of a record are contiguous: one group a record
        change = np.r_[True, rec[at][1:] != rec[at][:-1]]
        minima = np.minimum.reduceat(hashes[at], np.flatnonzero(change))
        keep[at] = hashes[at] == minima[np.cumsum(change) - 1]
    return np.flatnonzero(keep).astype(np.int64)


def _record_key(text: str) -> int:
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") | (1 << 63)


def fingerprint(texts: Iterable[str], params: Params = DEFAULT) -> U64:
    """The fingerprints of served records, as the gateway stores them: for each record, its
    key (a 63-bit hash of its text with the top bit set) followed by its sorted distinct
    winnowed fingerprints (top bit clear). Each record is winnowed on its own, so a record
    has the same fingerprints in whatever batch it is served."""
    texts = list(texts)
    if not texts:
        return np.zeros(0, dtype=np.uint64)
    lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    norm = normalise("\n".join(texts))
    hashes = shingle_hashes(norm.codes, params.n)
    # the record of each kept character (each record and its "\n" in the joined text)
    rec_char = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)[norm.starts]
    rec = rec_char[:len(hashes)].copy()
    if len(hashes):
        rec[rec != rec_char[params.n - 1:]] = -1
    pos = _winnow_records(hashes, rec, len(texts), params.w)
    kept_rec, kept = rec[pos], hashes[pos]
    order = np.lexsort((kept, kept_rec))  # by record, then by hash
    kept_rec, kept = kept_rec[order], kept[order]
    fresh = np.r_[True, (kept_rec[1:] != kept_rec[:-1]) | (kept[1:] != kept[:-1])]
    kept_rec, kept = kept_rec[fresh], kept[fresh]
    out = np.empty(len(texts) + len(kept), dtype=np.uint64)
    per_record = np.bincount(kept_rec, minlength=len(texts))
    key_at = np.arange(len(texts)) + np.cumsum(per_record) - per_record
    out[key_at] = np.fromiter((_record_key(t) for t in texts), dtype=np.uint64,
                              count=len(texts))
    out[np.arange(len(kept)) + kept_rec + 1] = kept
    return out


def _sizes_within(starts: I64, records: npt.NDArray[np.integer], count: int,
                  max_df: int) -> I64:
    """Per record, how many of its fingerprints are held by at most ``max_df`` records."""
    df = np.diff(starts)
    return np.bincount(records[np.repeat(df <= max_df, df)], minlength=count).astype(np.int64)


@dataclass(frozen=True, slots=True)
class ServedSet:
    """What one dataset served a job, as an inverted index over its distinct records:
    ``hashes`` are the sorted unique fingerprints, and ``hashes[i]`` is held by the records
    ``records[starts[i]:starts[i + 1]]`` (its document frequency is the length of that
    slice); ``sizes[r]`` is the number of fingerprints of record ``r``. Build it with
    :meth:`of`."""

    dataset_id: str
    hashes: U64
    starts: I64
    records: I32
    sizes: I64
    cover_df: int = DEFAULT.cover_df
    cover_sizes: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """Per record, its fingerprints held by at most :attr:`cover_df` records (rule B)."""

    @property
    def record_count(self) -> int:
        return len(self.sizes)

    @property
    def nbytes(self) -> int:
        """Memory held by the index."""
        return (self.hashes.nbytes + self.starts.nbytes + self.records.nbytes
                + self.sizes.nbytes + self.cover_sizes.nbytes)

    @staticmethod
    def of(dataset_id: str, arrays: Iterable[U64], params: Params = DEFAULT) -> ServedSet:
        """From arrays :func:`fingerprint` made (the gateway's files, batch after batch). A
        record served again (another epoch, another attempt) counts once, by its key;
        fingerprints before any key (an array made by hand) count as one record."""
        parts = [np.asarray(a, dtype=np.uint64) for a in arrays]
        joined = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
        is_key = joined >= _RECORD_BIT
        segment = np.cumsum(is_key) - 1  # which key occurrence each element follows
        keys, first, inverse = np.unique(joined[is_key], return_index=True,
                                         return_inverse=True)
        first_time = first[inverse] == np.arange(len(inverse))  # per key occurrence
        loose = ~is_key & (segment < 0)
        take = loose | (~is_key & (segment >= 0) & first_time[np.maximum(segment, 0)])
        rec = np.where(segment < 0, len(keys), inverse[np.maximum(segment, 0)])[take]
        hashes = joined[take]
        order = np.lexsort((rec, hashes))
        hashes, rec = hashes[order], rec[order]
        fresh = np.r_[True, (hashes[1:] != hashes[:-1]) | (rec[1:] != rec[:-1])]
        hashes, rec = hashes[fresh], rec[fresh]
        unique, starts = np.unique(hashes, return_index=True)
        bounds = np.r_[starts, len(hashes)].astype(np.int64)
        count = len(keys) + int(loose.any())
        return ServedSet(dataset_id, unique, bounds, rec.astype(np.int32),
                         np.bincount(rec, minlength=count), params.cover_df,
                         _sizes_within(bounds, rec, count, params.cover_df))

    def lookup(self, hashes: U64) -> tuple[npt.NDArray[np.bool_], I64, I64]:
        """For each of ``hashes``: whether it was served, its index in :attr:`hashes` and
        its document frequency (0 when not served)."""
        if len(self.hashes) == 0 or len(hashes) == 0:
            none = np.zeros(len(hashes), dtype=np.int64)
            return np.zeros(len(hashes), dtype=np.bool_), none, none
        idx = np.searchsorted(self.hashes, hashes)
        idx[idx == len(self.hashes)] = 0
        found: npt.NDArray[np.bool_] = self.hashes[idx] == hashes
        df = np.where(found, self.starts[idx + 1] - self.starts[idx], 0)
        return found, idx.astype(np.int64), df

    def contains(self, hashes: U64) -> npt.NDArray[np.bool_]:
        return self.lookup(hashes)[0]


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


@dataclass(frozen=True, slots=True)
class _Chains:
    """The output's fingerprints paired with the served records holding them, grouped in
    chains: one record, consecutive fingerprints at most ``record_gap`` matched ones apart."""

    record: I64  # per chain
    first: I64  # first and last output position (kept-fingerprint index) per chain
    last: I64
    distinct: I64  # distinct fingerprints per chain


def _chains(served: ServedSet, use: I64, idx: I64, df: I64, rank: I64, gap: int) -> _Chains:
    """Chains over the kept fingerprints ``use`` (indices into ``kept``)."""
    lens = df[use]
    which = np.repeat(use, lens)  # one row per (output fingerprint, record holding it)
    offset = np.repeat(served.starts[idx[use]] - (np.cumsum(lens) - lens), lens)
    held_by = served.records[offset + np.arange(len(which))]
    order = np.argsort(held_by, kind="stable")  # by record, then output position
    which, rec = which[order], held_by[order].astype(np.int64)
    new = np.r_[True, (rec[1:] != rec[:-1]) | (np.diff(rank[which]) > gap)]
    chain = np.cumsum(new) - 1
    bounds = np.flatnonzero(new)
    # distinct fingerprints per chain: unique (chain, fingerprint's index in the set)
    pairs = np.sort((chain << 32) | idx[which])
    fresh = np.r_[True, pairs[1:] != pairs[:-1]]
    distinct = np.bincount(pairs[fresh] >> 32, minlength=len(bounds))
    ends = np.r_[bounds[1:], len(which)] - 1
    return _Chains(rec[bounds], which[bounds], which[ends], distinct)


def _evidence(served: ServedSet, kept: U64, params: Params
              ) -> tuple[I64, I64, npt.NDArray[np.bool_]]:
    """The (first, last) kept-fingerprint indices of every chain that is a finding by rule
    A or B (module docstring), and which of the output's fingerprints were served."""
    found, idx, df = served.lookup(kept)
    rank = np.cumsum(found) - 1  # among the matched: unmatched text (log lines) is skipped
    firsts: list[I64] = []
    lasts: list[I64] = []
    rare = np.flatnonzero(found & (df <= params.common_df))
    if len(rare) >= params.min_matches:  # rule A: record-specific fingerprints
        a = _chains(served, rare, idx, df, rank, params.record_gap)
        ok = a.distinct >= params.min_matches
        firsts.append(a.first[ok])
        lasts.append(a.last[ok])
    candidates = np.flatnonzero(found & (df <= params.cover_df))
    if len(candidates):  # rule B: most of one record, however common its text
        b = _chains(served, candidates, idx, df, rank, params.record_gap)
        within = (served.cover_sizes if params.cover_df == served.cover_df else
                  _sizes_within(served.starts, served.records, served.record_count,
                                params.cover_df))
        ok = ((b.distinct >= np.minimum(params.min_matches, served.sizes[b.record]))
              & (b.distinct >= params.cover_fraction * within[b.record]))
        firsts.append(b.first[ok])
        lasts.append(b.last[ok])
    if not firsts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, found
    return np.concatenate(firsts), np.concatenate(lasts), found


def check_text(text: str, served: Sequence[ServedSet], params: Params = DEFAULT,
               *, decode_base64: bool = True) -> CheckResult:
    """Check one output text against what the job was served (see the module docstring)."""
    norm = normalise(text)
    hashes = shingle_hashes(norm.codes, params.n)
    pos = winnow(hashes, params.w)
    kept = hashes[pos]
    spans: list[tuple[int, int, int]] = []  # (first, last) kept index, served set
    hit = np.zeros(len(kept), dtype=np.bool_)
    for k, s in enumerate(served):
        firsts, lasts, found = _evidence(s, kept, params)
        hit |= found
        spans += [(int(f), int(la), k) for f, la in zip(firsts, lasts, strict=True)]
    findings: list[Finding] = []
    last_char = len(norm.codes) - 1
    # a finding grows over the served text around it (kept fingerprints at most w apart,
    # all served), so the common parts of a copied record go with it
    joined = np.r_[False, hit[1:] & hit[:-1] & (np.diff(pos) <= params.w)]
    stretch = np.cumsum(~joined) - 1
    stretch_first = np.flatnonzero(~joined)
    stretch_last = np.r_[stretch_first[1:], len(kept)] - 1
    spans = sorted((int(stretch_first[stretch[f]]), int(stretch_last[stretch[la]]), k)
                   for f, la, k in spans)
    merged: list[tuple[int, int, set[int]]] = []
    for first, last, k in spans:
        if merged and pos[first] - pos[merged[-1][1]] <= params.max_gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last), merged[-1][2] | {k})
        else:
            merged.append((first, last, {k}))
    for first_i, last_i, sets in merged:
        first, last = int(pos[first_i]), int(pos[last_i])
        lo = max(0, first - (params.w - 1))
        hi = min(last_char, last + params.n - 1 + (params.w - 1))
        names = tuple(sorted(served[k].dataset_id for k in sets))
        # widened, but not across a line break: a neighbouring log line stays readable
        line_start = text.rfind("\n", 0, int(norm.starts[first])) + 1
        line_end = text.find("\n", int(norm.ends[last + params.n - 1]))
        line_end = len(text) if line_end < 0 else line_end
        start = max(int(norm.starts[lo]), line_start)
        end = min(int(norm.ends[hi]), line_end)
        if lo == 0 or norm.ends[lo - 1] <= line_start:  # only punctuation before it
            start = line_start
        if hi == last_char or norm.starts[hi + 1] >= line_end:  # and after it
            end = line_end
        findings.append(Finding(start, end, names, int(hit[first_i:last_i + 1].sum())))
    matched = int(hit.sum())
    if decode_base64 and served:
        for found_run in _BASE64_RUN.finditer(text):
            if any(f.start <= found_run.start() < f.end for f in findings):
                continue
            decoded = _b64_text(found_run.group())
            if decoded is None:
                continue
            inner = check_text(decoded, served, params, decode_base64=False)
            if inner.findings:
                names = tuple(sorted({d for f in inner.findings for d in f.datasets}))
                findings.append(Finding(found_run.start(), found_run.end(), names,
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
