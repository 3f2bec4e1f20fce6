"""The text side of the output check: a text folded to the characters that carry its content
(NFKC, case-folded, letters and digits only), each kept character mapped back to its span in
the original so a finding can be redacted where it stands. Decomposed Hangul and combining
marks are folded cluster by cluster, so the same syllable typed two ways folds the same."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


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
