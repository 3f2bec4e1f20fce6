"""Benchmark: the local backend's launch, status and log calls, with real processes.

Run: .venv/bin/python benchmarks/bench_backends.py [--runs N] [--slots K] [--ray-runs M]
Launches N short runs (each ``true``) on an 8-slot chip type in batches of ``--slots``, waits
for each batch, then times status/read_log/list_runs over all N runs (ended but not
forgotten, as after a busy day) and measures one sleeping runner's memory.

Targets (exit 1 if missed): launch p99 < 100 ms, status p99 < 10 ms, read_log p99 < 10 ms,
end-to-end >= 10 runs/s, runner RSS < 60 MiB. Why these: a status or log poll is one step of an
API request whose p99 budget is 100 ms; a launch happens once per job per scheduling round.
Medians are far lower (status ~0.05 ms, read_log ~0.07 ms); the p99 is set by the machine's
scheduling noise, so it is checked with room.

With ``--ray-runs M`` (M > 0) it also starts a local Ray head (1 CPU, ``accel:<chip>`` = 8) and
submits M runs of ``true`` at once, each wanting 1 chip: submit latency, the time until all have
ended, and status latency; printed for information, no target (Ray's job server is the limit).
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
from aicenter.backends.local.rundir import LAUNCH, read_json

TARGETS = {
    "launch_p99_ms": 100.0,
    "status_p99_ms": 10.0,
    "read_log_p99_ms": 10.0,
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
    parser.add_argument("--ray-runs", type=int, default=0)
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
        "status_p50_ms": statistics.median(status_ms),
        "status_p99_ms": p99(status_ms),
        "read_log_p50_ms": statistics.median(log_ms),
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
    if args.ray_runs > 0:
        bench_ray(args.ray_runs, chip)
    return 1 if failed else 0


def bench_ray(runs: int, chip: str) -> None:
    """Submit ``runs`` one-chip runs to a fresh local Ray head and time them (no target)."""
    from aicenter.backends.ray.backend import RayBackend, local_ray_head

    t0 = time.perf_counter()
    head = local_ray_head({chip: 8})
    address = head.__enter__()
    startup_s = time.perf_counter() - t0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            backend = RayBackend(address, Path(tmp))
            submit_ms: list[float] = []
            handles = []
            start = time.perf_counter()
            for i in range(runs):
                t1 = time.perf_counter()
                handles.append(backend.launch(LaunchRequest(f"ray-{i}", ("true",), chip, 1)))
                submit_ms.append((time.perf_counter() - t1) * 1000)
            for handle in handles:
                wait_until_finished(backend, handle, 600, poll_s=0.1)
            total_s = time.perf_counter() - start
            status_ms = [timed(lambda h=h: backend.status(h)) for h in handles]
    finally:
        head.__exit__(None, None, None)
    print(f"ray backend, {runs} runs of `true`, 8 chip slots, local head (1 CPU)")
    print(f"{'cluster_start_s':>18}: {startup_s:9.2f}")
    print(f"{'submit_p50_ms':>18}: {statistics.median(submit_ms):9.2f}")
    print(f"{'submit_p99_ms':>18}: {p99(submit_ms):9.2f}")
    print(f"{'all_ended_s':>18}: {total_s:9.2f}")
    print(f"{'runs_per_s':>18}: {runs / total_s:9.2f}")
    print(f"{'status_p99_ms':>18}: {p99(status_ms):9.2f}")


if __name__ == "__main__":
    sys.exit(main())
