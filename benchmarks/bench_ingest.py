"""Ingest benchmark: a generated news corpus (JSONL, ~3 KB Korean article-like records with
provenance, phones, TDM reservations and re-posted copies) through ``aicenter.exchange.ingest``.

Reports input MB/s and the peak RSS of the ingesting process (a child process, so generating
the corpus does not count). Target: peak RSS < 1 GiB for a 1 GiB corpus.

With ``--kill-halfway`` the ingest is killed with SIGKILL when about half of the input is
consumed, resumed, and the resumed dataset is checked: no record stored twice, every input
record accounted for (kept + duplicate + dropped for PII + TDM-excluded = read), and with
``--compare`` equal (same content version) to an uninterrupted run.

    .venv/bin/python benchmarks/bench_ingest.py --mb 200 [--kill-halfway] [--compare]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RSS_TARGET_BYTES = 1 << 30


class ArticleModel:
    """Article-like Korean text that is unrelated between articles the way real news is:
    words (1-4 syllables) drawn from a 60,000-word vocabulary with Zipf frequencies (rank⁻¹),
    sentences of 12 words with a verb ending. Two articles have estimated Jaccard ≈ 0.02 on
    character 5-grams (templated generators share whole sentences, J ≈ 0.3, which no real
    corpus does and which floods any LSH index with candidates)."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        syllables = [chr(0xAC00 + i) for i in range(0, 11172, 7)]
        sizes = (1, 2, 2, 3, 3, 4)
        self.vocab = [
            "".join(rng.choice(syllables) for _ in range(rng.choice(sizes))) for _ in range(60_000)
        ]
        weights = 1.0 / np.arange(1, len(self.vocab) + 1)
        self.cumulative = np.cumsum(weights / weights.sum())
        self.rng = np.random.default_rng(seed)
        self.endings = ("다.", "했다.", "이다.", "밝혔다.", "전했다.")

    def article(self, words: int) -> str:
        picks = np.searchsorted(self.cumulative, self.rng.random(words)).tolist()
        tokens = [self.vocab[min(i, len(self.vocab) - 1)] for i in picks]
        sentences = [
            " ".join(tokens[i : i + 12]) + self.endings[i % len(self.endings)]
            for i in range(0, len(tokens), 12)
        ]
        return " ".join(sentences)


def generate(path: Path, n_bytes: int, seed: int = 7) -> int:
    """Write the corpus (about 3.3 KB a record; 5 % re-posted copies of a recent record with a
    byline and footer, 10 % with a phone number, 1 % TDM-reserved); returns the record count."""
    rng = random.Random(seed)
    model = ArticleModel(seed)
    written = 0
    records = 0
    recent: list[str] = []
    with path.open("w", encoding="utf-8") as f:
        while written < n_bytes:
            text = model.article(rng.randint(250, 550))
            if recent and rng.random() < 0.05:
                text = "[서울=통신] " + rng.choice(recent) + " 무단전재 금지"
            if rng.random() < 0.1:
                text += f" 제보 010-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
            recent = [*recent[-199:], text]
            row = {
                "text": text,
                "url": f"https://news.example/{records}",
                "publisher": f"publisher-{records % 7}",
                "date": f"2024-{1 + records % 12:02d}-01",
                "tdm-reservation": 1 if rng.random() < 0.01 else 0,
            }
            line = json.dumps(row, ensure_ascii=False) + "\n"
            f.write(line)
            written += len(line.encode("utf-8"))
            records += 1
    return records


def child(args: argparse.Namespace) -> None:
    """Run one ingest (resuming if a checkpoint exists) and print its result as JSON."""
    from aicenter.exchange.ingest import IngestOptions, ingest
    from aicenter.exchange.store import DatasetStore

    store = DatasetStore(Path(args.store))
    options = IngestOptions(
        Path(args.corpus),
        "bench",
        "bench-provider",
        batch_records=args.batch_records,
        names=not args.no_names,
    )
    started = time.perf_counter()
    result = ingest(options, store)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = {"seconds": seconds, "peak_rss_bytes": peak, **result.as_json()}
    out.pop("pii_report")
    print(json.dumps(out))


def run_child(corpus: Path, store: Path, args: argparse.Namespace) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--corpus",
        str(corpus),
        "--store",
        str(store),
        "--batch-records",
        str(args.batch_records),
    ] + (["--no-names"] if args.no_names else [])
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def checkpoint_consumed(store: Path) -> int:
    try:
        path = store / "work" / "bench" / "checkpoint.json"
        return int(json.loads(path.read_text())["consumed"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return 0


def key_store(root: Path) -> Path:
    (root / "keys").mkdir(parents=True)
    (root / "keys" / "pseudonym.key").write_bytes(bytes(range(32)))
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=1024, help="corpus size in MiB")
    parser.add_argument("--batch-records", type=int, default=2000)
    parser.add_argument("--no-names", action="store_true", help="skip person-name detection")
    parser.add_argument("--kill-halfway", action="store_true")
    parser.add_argument("--compare", action="store_true", help="also run uninterrupted")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0

    work = Path(tempfile.mkdtemp(prefix="bench_ingest_", dir=args.workdir))
    corpus = work / "corpus.jsonl"
    started = time.perf_counter()
    n_records = generate(corpus, args.mb << 20)
    size = corpus.stat().st_size
    print(
        f"corpus: {size / 2**20:.0f} MiB, {n_records:,} records "
        f"(generated in {time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    ok = True
    store = key_store(work / "store")
    resumed_from = 0
    if args.kill_halfway:
        process = run_child(corpus, store, args)
        while process.poll() is None and checkpoint_consumed(store) < n_records // 2:
            time.sleep(0.05)
        killed_at = checkpoint_consumed(store)
        process.send_signal(signal.SIGKILL)
        process.wait()
        print(f"killed with SIGKILL after {killed_at:,} of {n_records:,} records")
        ok &= process.returncode == -signal.SIGKILL
    process = run_child(corpus, store, args)
    stdout, _ = process.communicate()
    if process.returncode != 0:
        print("ingest failed")
        return 1
    result = json.loads(stdout)
    resumed_from = result["resumed_from_record"]
    counts = result["counts"]
    seconds = result["seconds"]
    peak = result["peak_rss_bytes"]
    processed_mib = size / 2**20 * (1 - resumed_from / n_records)
    print(
        f"ingest: {processed_mib:.0f} MiB in {seconds:.1f} s = {processed_mib / seconds:.1f} MiB/s"
        f" (from record {resumed_from:,}); peak RSS {peak / 2**20:.0f} MiB "
        f"(target < {RSS_TARGET_BYTES / 2**20:.0f} MiB)"
    )
    print(f"counts: {json.dumps(counts)}")
    print(f"stored: {json.dumps(result['stats'])}, {len(result['parts'])} parts")
    accounted = (
        counts["kept"] + counts["duplicates"] + counts["dropped_for_pii"] + counts["tdm_excluded"]
    )
    ok &= counts["records_read"] == n_records == accounted
    from aicenter.exchange.store import DatasetStore

    sources: set[str] = set()
    stored = 0
    s = DatasetStore(store)
    for record in s.records(s.manifest("bench")):
        sources.add(record.source or "")
        stored += 1
    no_dupes = stored == len(sources) == counts["kept"]
    print(f"check: {stored:,} stored records, all sources distinct: {no_dupes}")
    ok &= no_dupes
    ok &= peak < RSS_TARGET_BYTES
    if args.compare:
        reference = key_store(work / "reference")
        ref_out, _ = run_child(corpus, reference, args).communicate()
        ref = json.loads(ref_out)
        same = ref["version"] == result["version"]
        ref_mib = size / 2**20
        print(
            f"uninterrupted: {ref_mib:.0f} MiB in {ref['seconds']:.1f} s = "
            f"{ref_mib / ref['seconds']:.1f} MiB/s; "
            f"peak RSS {ref['peak_rss_bytes'] / 2**20:.0f} MiB"
        )
        print(f"uninterrupted run gives the same version: {same}")
        ok &= same and ref["peak_rss_bytes"] < RSS_TARGET_BYTES
    print("OK" if ok else "TARGET MISSED", flush=True)
    if args.workdir is None:
        import shutil

        shutil.rmtree(work)
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    sys.exit(main())
