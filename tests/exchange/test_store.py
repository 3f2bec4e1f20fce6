from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest

from aicenter.domain.errors import InputError, NotFoundError
from aicenter.exchange.dedup import MinHasher, NearDuplicateIndex
from aicenter.exchange.dedup_index import CompactIndex, band_keys, load_segments, save_segment
from aicenter.exchange.store import DatasetStore, Manifest, StoredRecord
from aicenter.exchange.synthetic import near_duplicate_corpus

RECORDS = [
    StoredRecord("첫 기사", "https://n.example/1", "한국일보", "2024-05-01", "public", False),
    StoredRecord("둘째 기사", "n-2", None, None, None, True),
]


def test_identical_content_is_stored_once_and_addressed_by_its_sha256(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path)
    a = store.write_part(RECORDS)
    b = store.write_part(list(RECORDS))
    c = store.write_part(RECORDS[:1])
    assert a == b and a.sha256 != c.sha256
    files = sorted(p.name for p in store.objects.rglob("*") if p.is_file())
    assert files == sorted({f"{a.sha256}.parquet", f"{c.sha256}.parquet"})
    assert a.records == 2 and a.bytes == store.part_path(a.sha256).stat().st_size


def test_part_round_trip_keeps_provenance_and_detects_tampering(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path)
    part = store.write_part(RECORDS)
    assert list(store.read_part(part)) == RECORDS
    path = store.part_path(part.sha256)
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(InputError, match="sha256 mismatch"):
        list(store.read_part(part))


def test_manifest_versions_are_content_ids_and_latest_moves(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path)
    p1, p2 = store.write_part(RECORDS[:1]), store.write_part(RECORDS[1:])
    v1 = Manifest("news", "pub", [p1], licence="CC-BY-4.0")
    v2 = Manifest("news", "pub", [p1, p2], licence="CC-BY-4.0")
    assert v1.version != v2.version
    assert Manifest("news", "pub", [p1]).version == v1.version
    store.save_manifest(v1)
    store.save_manifest(v2)
    assert store.manifest("news").version == v2.version
    assert store.manifest("news", v1.version).parts == [p1]
    assert [r.text for r in store.records(store.manifest("news"))] == ["첫 기사", "둘째 기사"]
    assert store.datasets() == ["news"]
    with pytest.raises(NotFoundError):
        store.manifest("other")
    with pytest.raises(InputError, match="dataset"):
        store.manifest("../escape")


def test_pseudonym_key_is_created_once_private_and_stable(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path)
    key = store.pseudonym_key()
    assert len(key) == 32 and store.pseudonym_key() == key
    mode = (tmp_path / "keys" / "pseudonym.key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_compact_index_decides_like_the_reference_index() -> None:
    corpus = near_duplicate_corpus(seed=5, n_articles=300)
    sigs = MinHasher().signatures([r.text for r in corpus])
    reference, compact = NearDuplicateIndex(), CompactIndex()
    for i, (record, sig) in enumerate(zip(corpus, sigs, strict=True)):
        ref = reference.add(i, record.provider, sig)
        got = compact.add(("ds", i), record.provider, sig)
        assert (ref is None) == (got is None), i
        if ref is not None and got is not None:
            assert got.jaccard == pytest.approx(ref.jaccard)
            assert got.across_providers == (record.provider != got.duplicate_of_provider)
    assert len(compact) == len(corpus)


def test_segments_persist_an_index_across_ingests(tmp_path: Path) -> None:
    texts = [r.text for r in near_duplicate_corpus(seed=6, n_articles=50, copy_rate=0.0)]
    sigs = MinHasher().signatures(texts)
    records = np.arange(len(texts), dtype=np.int64)
    save_segment(tmp_path, "a", "pub-a", records[:5], sigs[:5], version="v1")
    save_segment(tmp_path, "a", "pub-a", records, sigs, version="v2")  # replaces v1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.v2.records", "a.v2.sig"]
    index = CompactIndex()
    assert load_segments(index, tmp_path, skip_dataset="a") == 0
    assert load_segments(index, tmp_path) == len(texts)
    match = index.add(("b", 0), "pub-b", sigs[7])
    assert match is not None
    assert match.duplicate_of == ("a", 7) and match.duplicate_of_provider == "pub-a"
    assert match.across_providers


def test_batched_adds_equal_one_by_one_adds() -> None:
    corpus = near_duplicate_corpus(seed=8, n_articles=250)
    sigs = MinHasher().signatures([r.text for r in corpus])
    keys = band_keys(sigs, 32, 4)
    single, batched = CompactIndex(), CompactIndex()
    expected = [single.add(("d", i), "p", sig) for i, sig in enumerate(sigs)]
    got: list[object] = []
    for lo in range(0, len(corpus), 37):
        hi = min(lo + 37, len(corpus))
        got.extend(batched.add_batch("d", list(range(lo, hi)), "p", sigs[lo:hi], keys[lo:hi]))
    assert got == expected
    assert sum(m is not None for m in got) > 20


def test_merging_sorted_runs_equals_sorting_their_union() -> None:
    from aicenter.exchange.dedup_index import _merge_runs

    rng = np.random.default_rng(3)
    k1 = np.sort(rng.integers(0, 50, 400).astype(np.uint64))
    k2 = np.sort(rng.integers(0, 50, 170).astype(np.uint64))
    p1 = np.arange(400, dtype=np.int32)
    p2 = np.arange(400, 570, dtype=np.int32)
    keys, pos = _merge_runs(k1, p1, k2, p2)
    assert np.array_equal(keys, np.sort(np.concatenate((k1, k2))))
    assert sorted(pos.tolist()) == list(range(570))
    for key in np.unique(keys).tolist():  # every position keeps its key
        expected = set(p1[k1 == key].tolist()) | set(p2[k2 == key].tolist())
        assert set(pos[keys == key].tolist()) == expected
