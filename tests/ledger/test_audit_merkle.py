"""The RFC 9162 tree: known answers, and property tests of both proofs against the
definition (a naive recursive MTH), including tampered proofs that must fail."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from aicenter.ledger.audit import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# Certificate Transparency's reference inputs (RFC 6962 test data): 8 leaves and their root.
CT_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
             "606162636465666768696a6b6c6d6e6f"]
CT_ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def mth(d: list[bytes]) -> bytes:
    """MTH straight from the RFC's definition (for comparison)."""
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = 1
    while k * 2 < len(d):
        k *= 2
    return node_hash(mth(d[:k]), mth(d[k:]))


def test_known_answer_of_certificate_transparency() -> None:
    assert root([leaf_hash(bytes.fromhex(x)) for x in CT_LEAVES]).hex() == CT_ROOT_8
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


@given(st.integers(0, 300))
def test_frontier_root_is_the_tree_hash(n: int) -> None:
    d = leaves(n)
    assert root(d) == mth(d)
    f = Frontier()
    for h in d[: n // 2]:
        f.append(h)
    g = Frontier.from_bytes(f.size, f.to_bytes())
    for h in d[n // 2:]:
        g.append(h)
    assert g.root() == mth(d)
    assert len(g.nodes) == bin(n).count("1")


@given(st.data())
def test_inclusion_proofs_verify_and_tampering_fails(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 200))
    i = data.draw(st.integers(0, n - 1))
    d = leaves(n)
    r, proof = mth(d), inclusion_proof(i, d)
    assert verify_inclusion(i, n, d[i], proof, r)
    assert not verify_inclusion(i, n, leaf_hash(b"other"), proof, r)
    assert not verify_inclusion(i, n, d[i], proof, leaf_hash(b"root"))
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:k], leaf_hash(b"x"), *proof[k + 1:]]
        assert not verify_inclusion(i, n, d[i], bad, r)
        assert not verify_inclusion(i, n, d[i], proof[:-1], r)
    assert not verify_inclusion(i, n, d[i], [*proof, d[0]], r)
    if n > 1:
        j = (i + 1) % n
        assert not verify_inclusion(j, n, d[i], proof, r)


@given(st.data())
def test_consistency_proofs_verify_and_tampering_fails(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 200))
    m = data.draw(st.integers(0, n))
    d = leaves(n)
    r1, r2, proof = mth(d[:m]), mth(d), consistency_proof(m, d)
    assert verify_consistency(m, n, r1, r2, proof)
    if 0 < m < n:
        assert not verify_consistency(m, n, leaf_hash(b"x"), r2, proof)
        assert not verify_consistency(m, n, r1, leaf_hash(b"x"), proof)
        k = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:k], leaf_hash(b"x"), *proof[k + 1:]]
        assert not verify_consistency(m, n, r1, r2, bad)
        assert not verify_consistency(m, n, r1, r2, proof[:-1])
        # A tree whose first m leaves differ is not an extension.
        other = [leaf_hash(b"forged"), *d[1:]]
        assert not verify_consistency(m, n, r1, mth(other), consistency_proof(m, other))
    assert not verify_consistency(n, m, r2, r1, proof) or m == n


def test_proof_sizes_are_logarithmic() -> None:
    d = leaves(1000)
    assert len(inclusion_proof(999, d)) <= 10
    assert len(consistency_proof(1, d)) <= 11
