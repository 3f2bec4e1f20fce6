"""Benchmark: what compute-to-data against a hostile job costs on the local backend.

Run: .venv/bin/python benchmarks/bench_gateway.py [--records N] [--launches L]

1. Read throughput: one dataset of N records (Korean news-like text, ~1.3 KB each) read to
   the end in-process (:func:`aicenter.exchange.reader.open_local`) and through the data
   gateway process over its Unix socket (:mod:`aicenter.exchange.gateway`); both meter and
   fsync every batch of 1,024 records. Reports records/s and MB/s of each.
2. Launch overhead: L runs of ``true`` on the local backend, with and without isolation;
   reports the median seconds from ``launch`` to the run's end, and the one-off probe.

Targets (exit 1 if missed): the gateway reads at least 40% of the in-process rate; isolation
adds under 0.5 s per launch (median).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aicenter.backends import LaunchRequest, wait_until_finished
from aicenter.backends.local import LocalBackend
from aicenter.backends.local.isolation import JobIsolation, probe
from aicenter.domain.units import Money
from aicenter.exchange.gateway import GatewayConfig, command, token_digest, write_config
from aicenter.exchange.gateway_client import ENV_SOCKET, ENV_TOKEN, open_via_gateway
from aicenter.exchange.licence import (
    LicenceOffer,
    ModelRelease,
    Price,
    PriceBasis,
    Purpose,
    accept_offer,
)
from aicenter.exchange.reader import (
    ReaderContext,
    issue_grant,
    open_local,
    reader_env,
    write_grant,
)
from aicenter.exchange.store import DatasetStore, Manifest, StoredRecord

TOKEN = "bench-" + "t" * 40


def _dataset(root: Path, records: int) -> dict[str, str]:
    rng = random.Random(6)
    store = DatasetStore(root / "datasets")
    syllables = [chr(0xAC00 + k) for k in range(11172)]
    texts = [" ".join(map("".join, zip(*[iter(rng.choices(syllables, k=360))] * 4,
                                       strict=True))) + f" record {i}" for i in range(records)]
    parts = [store.write_part([StoredRecord(t, source=f"https://n.kr/{i}")
                               for i, t in enumerate(texts[k:k + 10_000], k)])
             for k in range(0, records, 10_000)]
    manifest = Manifest("news", "prov", parts, licence="licensed")
    path = store.save_manifest(manifest)
    now = datetime.now(UTC)
    offer = LicenceOffer("off", "prov", "news", frozenset(Purpose), date.today() - timedelta(1),
                         date.today() + timedelta(300), frozenset({"KR"}),
                         ModelRelease.INTERNAL_ONLY,
                         Price(PriceBasis.PER_GB, Money.of(1, "KRW")), agreement_days=60)
    agreement = accept_offer(offer, agreement_id="agr", org_id="org",
                             purpose=Purpose.PRE_TRAINING, at=now - timedelta(hours=1))
    grant = issue_grant(job_id="job", org_id="org", purpose=Purpose.PRE_TRAINING,
                        pool_country="KR", when=now, manifests=[manifest],
                        domestic={"news": False}, agreements=[agreement])
    write_grant(root / "grant.json", grant)
    return reader_env(job_id="job", purpose=Purpose.PRE_TRAINING, manifest_paths=[path],
                      grant_path=root / "grant.json", meter_log=root / "meter.log")


def read_rates(records: int) -> tuple[float, float, float]:
    """(in-process records/s, gateway records/s, MB read)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = _dataset(root, records)
        start = time.perf_counter()
        n_bytes = sum(len(t.encode()) for t in open_local("news", ReaderContext.from_env(env)))
        local_s = time.perf_counter() - start
        config = GatewayConfig(env, root / "g.sock", token_digest(TOKEN))
        write_config(root / "gateway.json", config)
        gateway = subprocess.Popen(command(root / "gateway.json"), stdout=subprocess.PIPE)
        assert gateway.stdout is not None and gateway.stdout.readline() == b"ready\n"
        try:
            start = time.perf_counter()
            count = sum(1 for _ in open_via_gateway(
                "news", {ENV_SOCKET: str(config.socket_path), ENV_TOKEN: TOKEN}, 1024))
            gateway_s = time.perf_counter() - start
        finally:
            gateway.terminate()
            gateway.wait()
        assert count == records
        return records / local_s, records / gateway_s, n_bytes / 1e6


def launch_medians(launches: int) -> tuple[float, float, float]:
    """(median s plain, median s isolated, probe s)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "home").mkdir()
        start = time.perf_counter()
        assert probe() is None, "isolation unavailable here"
        probe_s = time.perf_counter() - start
        plain = LocalBackend(root / "plain", {"cpu": 64})
        isolated = LocalBackend(root / "home" / "runs", {"cpu": 64},
                                JobIsolation("namespace", (root / "home",)))
        medians = []
        for backend in (plain, isolated):
            times = []
            for i in range(launches):
                start = time.perf_counter()
                handle = backend.launch(LaunchRequest(f"r{i}", ("true",), "cpu", 1))
                wait_until_finished(backend, handle, 60, poll_s=0.01)
                times.append(time.perf_counter() - start)
            medians.append(statistics.median(times))
        return medians[0], medians[1], probe_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--launches", type=int, default=10)
    args = parser.parse_args()
    local_rate, gateway_rate, megabytes = read_rates(args.records)
    print(f"read {args.records} records ({megabytes:.0f} MB): in-process {local_rate:,.0f} "
          f"rec/s ({local_rate * megabytes / args.records:.1f} MB/s), gateway "
          f"{gateway_rate:,.0f} rec/s ({gateway_rate * megabytes / args.records:.1f} MB/s), "
          f"ratio {gateway_rate / local_rate:.2f}")
    plain_s, isolated_s, probe_s = launch_medians(args.launches)
    print(f"launch to end of 'true' (median of {args.launches}): plain {plain_s:.3f} s, "
          f"isolated {isolated_s:.3f} s (+{isolated_s - plain_s:.3f} s); probe {probe_s:.3f} s")
    ok = gateway_rate >= 0.4 * local_rate and isolated_s - plain_s < 0.5
    print("targets met" if ok else "TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
