from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from aicenter.domain.errors import InputError
from aicenter.exchange.ingest import IngestOptions, Progress, ingest, parse_actions
from aicenter.exchange.pii.base import PiiType
from aicenter.exchange.pii.rrn import resident_number
from aicenter.exchange.pseudonymise import Action
from aicenter.exchange.store import DatasetStore
from aicenter.exchange.synthetic import korean_news_text

KEY = bytes(range(32))


def keyed_store(root: Path) -> DatasetStore:
    """A store whose pseudonymisation key is fixed, so two stores give identical parts."""
    (root / "keys").mkdir(parents=True)
    (root / "keys" / "pseudonym.key").write_bytes(KEY)
    return DatasetStore(root)


def corpus(path: Path, n_bytes: int, seed: int = 1, copy_every: int = 10) -> list[dict[str, Any]]:
    """JSONL articles with provenance; every ``copy_every``-th record re-posts an earlier one
    with a byline, every 25th carries a phone number, every 40th is TDM-reserved."""
    rng = random.Random(seed)
    articles = korean_news_text(seed, n_bytes).splitlines()
    rows: list[dict[str, Any]] = []
    for i, text in enumerate(articles):
        if copy_every and i % copy_every == copy_every - 1:
            text = "[서울=뉴스] " + rows[rng.randrange(len(rows))]["text"]
        if i % 25 == 0:
            text += f" 제보 010-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
        rows.append(
            {
                "text": text,
                "url": f"https://news.example/{seed}/{i}",
                "publisher": "가나일보" if i % 2 else "다라신문",
                "date": "2024-03-01",
                "consent": "not-needed",
                "tdm-reservation": 1 if i % 40 == 0 else 0,
            }
        )
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return rows


def texts(store: DatasetStore, dataset: str) -> list[str]:
    return [r.text for r in store.records(store.manifest(dataset))]


def test_tdm_reserved_records_are_excluded_unless_a_licence_covers_them(tmp_path: Path) -> None:
    rows = corpus(tmp_path / "c.jsonl", 200_000, copy_every=0)
    reserved = [r for r in rows if r["tdm-reservation"] == 1]
    assert reserved and all(r["publisher"] == "다라신문" for r in reserved)
    store = keyed_store(tmp_path / "s")
    plain = ingest(IngestOptions(tmp_path / "c.jsonl", "plain", "pa"), store).manifest
    assert plain.counts["tdm_excluded"] == len(reserved)
    assert plain.counts["kept"] == len(rows) - len(reserved)
    stored = list(store.records(plain))
    assert not any(r.tdm_reserved for r in stored)
    assert {r.source for r in stored}.isdisjoint(r["url"] for r in reserved)

    covered = ingest(
        IngestOptions(tmp_path / "c.jsonl", "covered", "pa", tdm_covered=frozenset({"다라신문"})),
        DatasetStore(tmp_path / "s2"),
    ).manifest
    assert covered.counts["tdm_excluded"] == 0
    assert covered.counts["tdm_reserved_kept"] == len(reserved)


def test_pii_actions_are_applied_and_reported(tmp_path: Path) -> None:
    rng = random.Random(3)
    rrn = resident_number(rng, "12")
    rrn = f"{rrn[:6]}-{rrn[6:]}"
    lines = [
        "담당자 연락처는 010-2345-6789 입니다. 다시 010-2345-6789 로 연락 바랍니다.",
        f"주민등록번호 {rrn} 인 신청인의 서류를 받았다.",
        "문의는 press@news.example 로 보내 주십시오. 오늘 날씨는 맑다.",
    ]
    (tmp_path / "p.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = keyed_store(tmp_path / "s")
    result = ingest(IngestOptions(tmp_path / "p.txt", "p", "pa", names=False), store)
    stored = texts(store, "p")
    assert result.manifest.counts["dropped_for_pii"] == 1  # the resident number's record
    assert len(stored) == 2 and not any(rrn in t for t in stored)
    assert "010-2345-6789" not in stored[0]
    tokens = [w for w in stored[0].split() if w.startswith("[phone:")]
    assert len(tokens) == 2 and tokens[0] == tokens[1]  # consistent within the dataset
    assert "press@news.example" not in stored[1] and "[email:" in stored[1]
    counts = result.manifest.pii_report["counts"]
    assert counts["phone"] == 2 and counts["rrn"] == 1 and counts["email"] == 1
    assert rrn not in json.dumps(result.manifest.pii_report, ensure_ascii=False)

    actions = parse_actions(["phone=redact", "rrn=redact"])
    assert actions[PiiType.PHONE] is Action.REDACT
    other = keyed_store(tmp_path / "other")  # in the same store, all would be duplicates of p
    redacted = ingest(
        IngestOptions(tmp_path / "p.txt", "r", "pa", names=False, actions=actions), other
    )
    stored = texts(other, "r")
    assert redacted.manifest.counts["dropped_for_pii"] == 0
    assert stored[0].count("[phone]") == 2 and "[rrn]" in stored[1]
    with pytest.raises(InputError, match="unknown PII type"):
        parse_actions(["fax=drop"])


def test_a_second_providers_copy_is_flagged_and_not_stored(tmp_path: Path) -> None:
    rows = corpus(tmp_path / "a.jsonl", 150_000, seed=1, copy_every=0)
    copies = [
        {
            **r,
            "text": "[부산=통신] " + r["text"] + " 무단전재 금지",
            "url": f"b{i}",
            "tdm-reservation": 0,
        }
        for i, r in enumerate(rows[:20])
    ]
    fresh = corpus(tmp_path / "fresh.jsonl", 30_000, seed=9, copy_every=0)
    with (tmp_path / "b.jsonl").open("w", encoding="utf-8") as f:
        for r in copies + fresh:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    store = keyed_store(tmp_path / "s")
    ingest(
        IngestOptions(tmp_path / "a.jsonl", "a", "pub-a", tdm_covered=frozenset({"다라신문"})),
        store,
    )
    b = ingest(IngestOptions(tmp_path / "b.jsonl", "b", "pub-b"), store).manifest
    assert b.counts["duplicates_across_providers"] == 20
    assert b.counts["duplicates_of_other_datasets"] == 20
    stored_sources = {r.source for r in store.records(b)}
    assert stored_sources.isdisjoint(c["url"] for c in copies)
    # re-ingesting a dataset replaces its own index segment instead of matching itself
    again = ingest(IngestOptions(tmp_path / "b.jsonl", "b", "pub-b"), store).manifest
    assert again.version == b.version


def test_within_dataset_copies_are_counted_once(tmp_path: Path) -> None:
    rows = corpus(tmp_path / "c.jsonl", 200_000, copy_every=10)
    store = keyed_store(tmp_path / "s")
    m = ingest(
        IngestOptions(tmp_path / "c.jsonl", "c", "pa", tdm_covered=frozenset({"다라신문"})), store
    ).manifest
    copies = sum(1 for i in range(len(rows)) if i % 10 == 9)
    assert m.counts["duplicates"] >= copies
    assert m.counts["duplicates_across_providers"] == 0
    assert m.counts["kept"] + m.counts["duplicates"] + m.counts["dropped_for_pii"] == len(rows)
    assert m.stats["records"] == m.counts["kept"] == m.records
    assert len({r.source for r in store.records(m)}) == m.records


class Interrupted(Exception):
    pass


def test_resume_after_a_failure_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    corpus(tmp_path / "c.jsonl", 400_000)
    options = IngestOptions(tmp_path / "c.jsonl", "c", "pa", batch_records=50)
    whole = ingest(options, keyed_store(tmp_path / "whole")).manifest
    store = keyed_store(tmp_path / "crash")

    def crash_after_three(p: Progress) -> None:
        if p.parts >= 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        ingest(options, store, crash_after_three)
    resumed = ingest(options, store)
    assert resumed.resumed_from == 150
    assert resumed.manifest.version == whole.version
    assert resumed.manifest.as_json()["counts"] == whole.as_json()["counts"]
    assert resumed.manifest.pii_report == whole.pii_report
    assert resumed.manifest.stats == whole.stats
    assert not store.work_dir("c").exists()


def test_a_changed_input_does_not_resume_silently(tmp_path: Path) -> None:
    corpus(tmp_path / "c.jsonl", 100_000)
    options = IngestOptions(tmp_path / "c.jsonl", "c", "pa", batch_records=20)
    store = keyed_store(tmp_path / "s")

    def crash(p: Progress) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        ingest(options, store, crash)
    other = IngestOptions(tmp_path / "c.jsonl", "c", "pa", batch_records=30)
    with pytest.raises(InputError, match="--restart"):
        ingest(other, store)
    assert ingest(other, store, restart=True).resumed_from == 0


def _checkpoint(store: DatasetStore, dataset: str) -> dict[str, Any] | None:
    path = store.work_dir(dataset) / "checkpoint.json"
    try:
        return dict(json.loads(path.read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def test_kill_9_halfway_then_resume_gives_the_same_dataset(tmp_path: Path) -> None:
    rows = corpus(tmp_path / "c.jsonl", 3_000_000)
    whole = ingest(
        IngestOptions(tmp_path / "c.jsonl", "c", "pa", batch_records=40),
        keyed_store(tmp_path / "whole"),
    ).manifest
    home = tmp_path / "home"
    store = keyed_store(home / "datasets")
    command = [
        sys.executable, "-c", "from aicenter.cli.main import run; run()",
        "data", "ingest", str(tmp_path / "c.jsonl"), "--dataset", "c", "--provider", "pa",
        "--batch-records", "40", "--format", "json",
    ]  # fmt: skip
    env = {**os.environ, "AICENTER_HOME": str(home)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    checkpoint = None
    while time.monotonic() < deadline and process.poll() is None:
        checkpoint = _checkpoint(store, "c")
        if checkpoint is not None and len(checkpoint["parts"]) >= 5:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the ingest finished before it was killed"
    at_kill = _checkpoint(store, "c")
    assert at_kill is not None and 0 < at_kill["consumed"] < len(rows)

    resumed = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    result = json.loads(resumed.stdout)
    assert result["resumed_from_record"] >= at_kill["consumed"]
    assert result["version"] == whole.version
    assert result["counts"] == whole.counts and result["stats"] == whole.stats
    sources = [r.source for r in store.records(store.manifest("c"))]
    assert len(sources) == len(set(sources)) == whole.records  # no duplicates, no losses


def test_memory_grows_with_the_dedup_index_only_not_the_corpus(tmp_path: Path) -> None:
    """Records are 4 KB; batches 100 records. Tripling the corpus may add the near-duplicate
    index (≈0.9 KB a record, under a quarter of the data) to the peak, not the data itself."""

    def write(path: Path, seed: int, size: int) -> None:
        articles = korean_news_text(seed, size).splitlines()
        with path.open("w", encoding="utf-8") as f:
            for i in range(0, len(articles) - 3, 4):
                f.write(" ".join(articles[i : i + 4]) + "\n")

    write(tmp_path / "warm.txt", 19, 200_000)  # imports, caches, first-use allocations
    ingest(
        IngestOptions(tmp_path / "warm.txt", "w", "pa", names=False), keyed_store(tmp_path / "w")
    )
    peaks: list[int] = []
    sizes = [2_000_000, 6_000_000]
    for n, size in enumerate(sizes):
        path = tmp_path / f"c{n}.txt"
        write(path, 20 + n, size)
        options = IngestOptions(path, f"c{n}", "pa", batch_records=100, names=False)
        store = keyed_store(tmp_path / f"s{n}")
        tracemalloc.start()
        ingest(options, store)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] - peaks[0] < 0.3 * (sizes[1] - sizes[0]), peaks


@pytest.mark.slow
def test_ray_gives_the_same_dataset_as_in_process(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    corpus(tmp_path / "c.jsonl", 300_000)
    local = ingest(
        IngestOptions(tmp_path / "c.jsonl", "c", "pa", batch_records=100),
        keyed_store(tmp_path / "local"),
    ).manifest
    started = not ray.is_initialized()  # another module's Ray is reused, not shut down
    if started:
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = ingest(
            IngestOptions(tmp_path / "c.jsonl", "c", "pa", batch_records=100, use_ray=True),
            keyed_store(tmp_path / "ray"),
        ).manifest
    finally:
        if started:
            ray.shutdown()
    assert on_ray.version == local.version
    assert on_ray.counts == local.counts


def test_two_ingests_of_one_dataset_cannot_run_at_once(tmp_path: Path) -> None:
    import fcntl

    corpus(tmp_path / "c.jsonl", 20_000)
    store = keyed_store(tmp_path / "s")
    lock_path = store.root / "locks" / "c.lock"
    lock_path.parent.mkdir(parents=True)
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(InputError, match="another ingest"):
            ingest(IngestOptions(tmp_path / "c.jsonl", "c", "pa"), store)
    assert ingest(IngestOptions(tmp_path / "c.jsonl", "c", "pa"), store).manifest.records > 0
