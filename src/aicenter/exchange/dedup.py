"""Near-duplicate detection: MinHash signatures of character n-grams, LSH banding.

So that nobody is paid twice for the same article, every record is checked against all records
before it, within and across providers.

Shingles. The text is normalised (NFKC, lower case, runs of whitespace → one space) and cut
into overlapping character n-grams (n = 5 by default). Each n-gram gets a 64-bit polynomial
hash computed for all positions of a whole batch of records at once with NumPy (code points c,
base B, arithmetic mod 2⁶⁴), then mixed with the splitmix64 finaliser so all bits are uniform:

    h_i = mix(Σ_{j<n} c_{i+j} · B^{n-1-j})

MinHash, one permutation (Li, Owen & Zhang 2012) with rotation densification (Shrivastava &
Li 2014). The hash space is cut into k bins by ``(h >> 32) mod k``; signature value l is the
minimum of ``h mod 2³²`` over the record's shingles that fall in bin l. An empty bin borrows
from the next non-empty bin t places on (circularly), as ``(v·φ + t) mod 2³²``. For two records
the share of equal positions estimates their Jaccard similarity J(A, B) with standard error
≈ √(J(1−J)/k), like k-permutation MinHash, at the cost of one hash per shingle instead of k.

LSH. The k values are cut into b bands of r rows (k = b·r). Two records become candidates when
all r rows of some band agree; a pair of similarity s is a candidate with probability
1 − (1 − s^r)^b (the S-curve, midpoint ≈ (1/b)^(1/r)). Candidates are confirmed when their
estimated J ≥ ``threshold``. Defaults k = 128, b = 32, r = 4 (midpoint 0.42, so pairs at
J ≥ 0.7 are candidates with probability > 0.999) and threshold 0.7.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_WHITESPACE = re.compile(r"\s+")
_BASE = np.uint64(1_000_003)
_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
_LOW32 = np.uint64(0xFFFFFFFF)
_PHI32 = np.uint64(0x9E3779B1)
Signature = npt.NDArray[np.uint32]


def normalise(text: str) -> str:
    """NFKC, lower case, whitespace runs collapsed: what is compared."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def _mix(h: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The splitmix64 finaliser, element-wise (wrap-around arithmetic)."""
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


def shingle_hashes(
    texts: Sequence[str], n: int = 5
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """Mixed 64-bit hashes of every character n-gram of each normalised text, and the index of
    the text each belongs to. A text shorter than n still gets its one (padded) n-gram."""
    pad = "\x00" * (n - 1)
    parts = [normalise(t.replace("\x00", " ")) for t in texts]
    lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    joined = pad.join(parts) + pad
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = codes.size - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    h = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            h = h * _BASE + codes[j : j + count]
    owner = np.repeat(np.arange(len(parts), dtype=np.int64), lengths + (n - 1))[:count]
    valid = codes[:count] != 0
    return _mix(h[valid]), owner[valid]


@dataclass(frozen=True)
class MinHasher:
    """One-permutation MinHash with k bins over character n-grams (see the module docstring)."""

    num_perm: int = 128
    ngram: int = 5

    def signature(self, text: str) -> Signature:
        """The signature (k uint32 values) of one text."""
        return self.signatures([text])[0, :]

    def signatures(self, texts: Sequence[str]) -> npt.NDArray[np.uint32]:
        """Signatures of a batch of texts, one row each (batching amortises NumPy overhead)."""
        k = self.num_perm
        h, owner = shingle_hashes(texts, self.ngram)
        sig = np.full(len(texts) * k, _EMPTY, dtype=np.uint64)
        bins = ((h >> np.uint64(32)) % np.uint64(k)).astype(np.int64)
        np.minimum.at(sig, owner * k + bins, h & _LOW32)
        return _densify(sig.reshape(len(texts), k))


def _densify(sig: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint32]:
    """Fill each empty bin from the next non-empty bin t places on: (v·φ + t) mod 2³²."""
    out = sig.copy()
    empty = out == _EMPTY
    has_any = ~empty.all(axis=1)
    t = 1
    k = sig.shape[1]
    while t < k and (empty & has_any[:, None]).any():
        shifted = np.roll(sig, -t, axis=1)
        fill = empty & (shifted != _EMPTY)
        with np.errstate(over="ignore"):
            out[fill] = (shifted[fill] * _PHI32 + np.uint64(t)) & _LOW32
        empty &= ~fill
        t += 1
    out[empty] = _LOW32
    return out.astype(np.uint32)


def estimated_jaccard(a: Signature, b: Signature) -> float:
    """Share of equal signature positions: an unbiased estimate of the Jaccard similarity."""
    return float(np.count_nonzero(a == b)) / a.size


@dataclass(frozen=True, slots=True)
class DuplicateMatch:
    """``record`` (of ``provider``) is a near-duplicate of the earlier ``duplicate_of``."""

    record: Hashable
    provider: str
    duplicate_of: Hashable
    duplicate_of_provider: str
    jaccard: float

    @property
    def across_providers(self) -> bool:
        return self.provider != self.duplicate_of_provider


class NearDuplicateIndex:
    """An LSH index of signatures; ``add`` returns the best earlier match of a new record.

    Memory: k·4 bytes per record for the signature plus b band keys.
    """

    def __init__(self, bands: int = 32, rows: int = 4, threshold: float = 0.7) -> None:
        self.bands = bands
        self.rows = rows
        self.threshold = threshold
        self._buckets: list[dict[bytes, list[int]]] = [{} for _ in range(bands)]
        self._signatures: list[Signature] = []
        self._ids: list[tuple[Hashable, str]] = []

    def __len__(self) -> int:
        return len(self._ids)

    def query(self, signature: Signature) -> tuple[int, float] | None:
        """(position, estimated J) of the most similar indexed record at or above threshold."""
        if signature.size != self.bands * self.rows:
            raise ValueError(
                f"signature has {signature.size} values, need {self.bands * self.rows}"
            )
        seen: set[int] = set()
        best: tuple[int, float] | None = None
        for band in range(self.bands):
            key = signature[band * self.rows : (band + 1) * self.rows].tobytes()
            for pos in self._buckets[band].get(key, ()):
                if pos in seen:
                    continue
                seen.add(pos)
                j = estimated_jaccard(signature, self._signatures[pos])
                if j >= self.threshold and (best is None or j > best[1]):
                    best = (pos, j)
        return best

    def add(self, record: Hashable, provider: str, signature: Signature) -> DuplicateMatch | None:
        """Index the record and return its best earlier near-duplicate, if any."""
        best = self.query(signature)
        pos = len(self._ids)
        self._ids.append((record, provider))
        self._signatures.append(signature)
        for band in range(self.bands):
            key = signature[band * self.rows : (band + 1) * self.rows].tobytes()
            self._buckets[band].setdefault(key, []).append(pos)
        if best is None:
            return None
        other, other_provider = self._ids[best[0]]
        return DuplicateMatch(record, provider, other, other_provider, best[1])
