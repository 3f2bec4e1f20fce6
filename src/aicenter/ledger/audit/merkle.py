"""The Merkle Tree Hash of RFC 9162 §2.1 (RFC 6962's tree), its proofs and their checks.

For leaves ``D[0:n]`` (their leaf hashes here), with ``k`` the largest power of two below ``n``:

* ``MTH({}) = SHA-256()``; ``MTH({d}) = SHA-256(0x00 || d)`` (:func:`leaf_hash`);
* ``MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` (:func:`node_hash`).

The prefixes keep a leaf from passing for a node (second-preimage resistance). An inclusion
proof (§2.1.3) is the audit path of one leaf; a consistency proof (§2.1.4) shows that the tree
of size ``m`` is a prefix of the tree of size ``n``. Proofs are built from the leaf hashes in
O(n) hashing; checks take O(log n). :class:`Frontier` keeps the roots of the perfect subtrees
of the tree so far (at most one per bit of ``n``), so a checkpoint hashes only the leaves
appended since the last one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH of the leaf hashes ``leaves`` (iteratively, through a :class:`Frontier`)."""
    frontier = Frontier()
    for h in leaves:
        frontier.append(h)
    return frontier.root()


def _mth(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 0:
        return EMPTY_ROOT
    if hi - lo == 1:
        return leaves[lo]
    k = _split(hi - lo)
    return node_hash(_mth(leaves, lo, lo + k), _mth(leaves, lo + k, hi))


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of §2.1.3.1: the siblings from the leaf ``index`` up to the root."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of size {len(leaves)}")

    def path(m: int, lo: int, hi: int) -> list[bytes]:
        if hi - lo == 1:
            return []
        k = _split(hi - lo)
        if m < k:
            return [*path(m, lo, lo + k), _mth(leaves, lo + k, hi)]
        return [*path(m - k, lo + k, hi), _mth(leaves, lo, lo + k)]

    return path(index, 0, len(leaves))


def consistency_proof(first: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of §2.1.4.1 for ``m = first``, ``n = len(leaves)``."""
    n = len(leaves)
    if not 0 <= first <= n:
        raise ValueError(f"size {first} is not a prefix of a tree of size {n}")
    if first in (0, n):
        return []

    def subproof(m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        if m == hi - lo:
            return [] if whole else [_mth(leaves, lo, hi)]
        k = _split(hi - lo)
        if m <= k:
            return [*subproof(m, lo, lo + k, whole), _mth(leaves, lo + k, hi)]
        return [*subproof(m - k, lo + k, hi, False), _mth(leaves, lo, lo + k)]

    return subproof(first, 0, n, True)


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes],
                     expected_root: bytes) -> bool:
    """§2.1.3.2: does ``proof`` place ``leaf`` at ``index`` in the tree of ``size`` leaves
    whose root is ``expected_root``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """§2.1.4.2: is the tree of size ``first`` (root ``first_root``) a prefix of the tree of
    size ``second`` (root ``second_root``)? Equal sizes need equal roots and an empty proof;
    every tree extends the empty one."""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


@dataclass
class Frontier:
    """The roots of the perfect subtrees that make up a tree of ``size`` leaves, largest (left)
    first: one per set bit of ``size``. Appending merges equal-sized subtrees as a binary
    counter carries; the root folds them right to left, which is MTH's split into the largest
    power of two and the rest."""

    size: int = 0
    nodes: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes) -> None:
        node, n = leaf, self.size
        while n & 1:
            node = node_hash(self.nodes.pop(), node)
            n >>= 1
        self.nodes.append(node)
        self.size += 1

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        r = self.nodes[-1]
        for left in reversed(self.nodes[:-1]):
            r = node_hash(left, r)
        return r

    def to_bytes(self) -> bytes:
        return b"".join(self.nodes)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> Frontier:
        """Rebuild from :meth:`to_bytes`; refuses data that does not fit ``size``."""
        count = bin(size).count("1")
        if len(data) != count * HASH_SIZE:
            raise ValueError(f"a frontier of size {size} has {count} nodes")
        return cls(size, [data[i:i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)])
