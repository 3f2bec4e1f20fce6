"""Benchmark: the local backend's launch, status and log calls, with real processes.

Run: .venv/bin/python benchmarks/bench_backends.py [--runs N] [--slots K]
Launches N short runs (each ``true``) on an 8-slot chip type in batches of ``--slots``, waits
for each batch, then times status/read_log/list_runs over all N runs (ended but not
forgotten, as after a busy day) and measures one sleeping runner's memory.

Targets (exit 1 if missed): launch p99 < 100 ms, status p99 < 5 ms, read_log p99 < 5 ms,
end-to-end >= 10 runs/s, runner RSS < 60 MiB.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aicenter.backends import LaunchRequest, RunHandle, StopReason, wait_until_finished
from aicenter.backends.local import LocalBackend
from aicenter.backends.rundir import LAUNCH, read_json

TARGETS = {
    "launch_p99_ms": 100.0,
    "status_p99_ms": 5.0,
    "read_log_p99_ms": 5.0,
    "runs_per_s_min": 10.0,
    "runner_rss_mib": 60.0,
}


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def timed(call: object) -> float:
    start = time.perf_counter()
    call()  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--slots", type=int, default=8)
    args = parser.parse_args()
    chip = "nvidia-h100-sxm"
    with tempfile.TemporaryDirectory() as tmp:
        backend = LocalBackend(Path(tmp), {chip: args.slots})
        launch_ms: list[float] = []
        handles: list[RunHandle] = []
        start = time.perf_counter()
        for batch_start in range(0, args.runs, args.slots):
            batch = []
            for i in range(batch_start, min(args.runs, batch_start + args.slots)):
                t0 = time.perf_counter()
                batch.append(backend.launch(LaunchRequest(f"run-{i}", ("true",), chip, 1)))
                launch_ms.append((time.perf_counter() - t0) * 1000)
            for handle in batch:
                wait_until_finished(backend, handle, 60, poll_s=0.01)
            handles.extend(batch)
        runs_per_s = args.runs / (time.perf_counter() - start)
        status_ms = [timed(lambda h=h: backend.status(h)) for h in handles]
        log_ms = [timed(lambda h=h: backend.read_log(h, 0)) for h in handles]
        list_ms = timed(backend.list_runs)
        sleeper = backend.launch(LaunchRequest("sleeper", ("sleep", "30"), chip, 1))
        time.sleep(1.0)
        launch = read_json(Path(sleeper.locator) / LAUNCH)
        assert launch is not None
        runner_rss = rss_mib(int(launch["runner_pid"]))
        backend.terminate(sleeper, StopReason.CANCEL, grace_period_s=1)
        wait_until_finished(backend, sleeper, 30)
    figures = {
        "launch_p50_ms": statistics.median(launch_ms),
        "launch_p99_ms": p99(launch_ms),
        "status_p99_ms": p99(status_ms),
        "read_log_p99_ms": p99(log_ms),
        "list_runs_ms": list_ms,
        "runs_per_s_min": runs_per_s,
        "runner_rss_mib": runner_rss,
    }
    print(f"local backend, {args.runs} runs of `true`, batches of {args.slots} slots")
    failed = []
    for name, value in figures.items():
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            ok = value >= target if name.endswith("_min") else value < target
            verdict = f"  (target {'>=' if name.endswith('_min') else '<'} {target}) "
            verdict += "ok" if ok else "MISSED"
            if not ok:
                failed.append(name)
        print(f"{name:>18}: {value:9.2f}{verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
