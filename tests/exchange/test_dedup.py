from __future__ import annotations

import random

import numpy as np
import pytest

from aicenter.exchange.dedup import (
    MinHasher,
    NearDuplicateIndex,
    estimated_jaccard,
    normalise,
    shingle_hashes,
)
from aicenter.exchange.synthetic import korean_news_text, near_duplicate_corpus

HASHER = MinHasher()


def true_jaccard(a: str, b: str) -> float:
    sa, sb = set(shingle_hashes([a])[0].tolist()), set(shingle_hashes([b])[0].tolist())
    return len(sa & sb) / len(sa | sb)


def test_normalise_folds_width_case_and_spaces() -> None:
    assert normalise("  ＡＢＣ\n\t가나  다 ") == "abc 가나 다"


def test_batch_equals_one_by_one_and_ngrams_do_not_cross_records() -> None:
    texts = ["가나다라마바사", "아자차카타파하", "", "ab"]
    batch = HASHER.signatures(texts)
    for i, t in enumerate(texts):
        assert np.array_equal(batch[i], HASHER.signature(t))
    _hashes, owner = shingle_hashes(["가나다라마", "바사"])
    assert list(np.bincount(owner)) == [5, 2]


def test_estimate_tracks_true_jaccard_within_four_standard_errors() -> None:
    rng = random.Random(0)
    base = korean_news_text(1, 4000).splitlines()[0]
    words = base.split()
    for _ in range(30):
        edited = list(words)
        for _k in range(rng.randint(0, len(words) // 2)):
            edited[rng.randrange(len(edited))] = rng.choice(["변경", "수정된", "다른말", "새로"])
        other = " ".join(edited)
        j = true_jaccard(base, other)
        se = max((j * (1 - j) / HASHER.num_perm) ** 0.5, 0.01)
        assert abs(estimated_jaccard(HASHER.signature(base), HASHER.signature(other)) - j) < 4 * se


def test_index_finds_copies_across_providers_and_not_unrelated() -> None:
    a, b = korean_news_text(2, 3000).splitlines()[:2]
    index = NearDuplicateIndex()
    assert index.add("a", "p1", HASHER.signature(a)) is None
    assert index.add("b", "p1", HASHER.signature(b)) is None
    match = index.add("a2", "p2", HASHER.signature("[속보] " + a.upper()))
    assert match is not None and match.duplicate_of == "a" and match.across_providers
    assert match.jaccard >= 0.7
    assert len(index) == 3
    with pytest.raises(ValueError, match="128"):
        index.query(np.zeros(64, dtype=np.uint32))


@pytest.mark.parametrize("seed", [1, 2])
def test_near_duplicate_f1_on_labelled_corpus(seed: int) -> None:
    records = near_duplicate_corpus(seed, 800)
    signatures = HASHER.signatures([r.text for r in records])
    index = NearDuplicateIndex()
    seen: set[int] = set()
    cluster_of = {i: r.cluster for i, r in enumerate(records)}
    tp = fp = fn = across = 0
    for i, (record, sig) in enumerate(zip(records, signatures, strict=True)):
        match = index.add(i, record.provider, sig)
        right = match is not None and cluster_of[match.duplicate_of] == record.cluster
        tp += right
        fp += match is not None and not right
        fn += record.cluster in seen and not right
        across += right and match is not None and match.across_providers
        seen.add(record.cluster)
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert tp > 300 and across > 100
    assert f1 >= 0.95
