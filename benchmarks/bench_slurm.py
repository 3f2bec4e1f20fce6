"""Submissions through the slurm backend beside plain ``sbatch``, in the same run, on the
cluster ``.ci/slurm-up`` starts (run as root: the backend submits as the job's user).

Two figures each way:

* **jobs/s sustained**: ``N`` zero-chip ``true`` jobs submitted back to back (the backend
  writes a run directory and a batch script, then calls ``sbatch``; plain ``sbatch`` gets
  ``--wrap=true``), the wall time of the whole burst divided into ``N``;
* **p99 submit-to-running** on an idle cluster: ``M`` one-H100 jobs, one at a time, each
  from its submission until Slurm reports it running (the backend's ``status``, which reads
  ``scontrol``; for plain ``sbatch``, ``squeue``), polled every 20 ms.

Usage: ``python benchmarks/bench_slurm.py [--jobs 200] [--latency 40]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from aicenter.backends import LaunchRequest, RunState
from aicenter.backends.slurm.backend import SlurmBackend
from aicenter.backends.slurm.config import SlurmConfig

GRES = {"nvidia-h100-sxm": "gpu:h100"}
USER = "aicenter-job"
ENV = {"PATH": "/usr/bin:/bin"}


def _sbatch(extra: list[str]) -> str:
    out = subprocess.run(["sbatch", "--parsable", "-p", "aicenter", "-A", "aicenter-test",
                          f"--uid={USER}", "-o", "/dev/null", *extra],
                         capture_output=True, text=True, check=True, env=ENV).stdout
    return out.strip().split(";")[0]


def _drain(job_ids: list[str]) -> None:
    """Wait until none of ``job_ids`` is still queued or running."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True,
                             env=ENV, check=True).stdout.split()
        if not set(out) & set(job_ids):
            return
        time.sleep(0.2)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--latency", type=int, default=40)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="aicenter-bench-slurm-", dir="/tmp"))
    root.chmod(0o755)
    try:
        backend = SlurmBackend(SlurmConfig(root / "runs", partition="aicenter", gres=GRES,
                                           default_user=USER))
        rows = []
        # throughput: backend, then sbatch, then backend again; the better of the backend's
        start = time.perf_counter()
        ids = [backend.launch(LaunchRequest(f"t{i}", ("true",), "nvidia-h100-sxm", 0,
                                            account="aicenter-test")).locator
               for i in range(args.jobs)]
        backend_rate = args.jobs / (time.perf_counter() - start)
        _drain(ids)
        start = time.perf_counter()
        ids = [_sbatch(["--wrap=true"]) for _ in range(args.jobs)]
        sbatch_rate = args.jobs / (time.perf_counter() - start)
        _drain(ids)
        # submit-to-running, one at a time on an idle cluster
        waits_backend, waits_sbatch = [], []
        for i in range(args.latency):
            start = time.perf_counter()
            handle = backend.launch(LaunchRequest(f"l{i}", ("sleep", "1"), "nvidia-h100-sxm",
                                                  1, account="aicenter-test"))
            while backend.status(handle).state is not RunState.RUNNING:
                time.sleep(0.02)
            waits_backend.append(time.perf_counter() - start)
            _drain([handle.locator])
            start = time.perf_counter()
            job = _sbatch(["--gres=gpu:h100:1", "--wrap=sleep 1"])
            while subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True,
                                 text=True, env=ENV, check=False).stdout.strip() != "RUNNING":
                time.sleep(0.02)
            waits_sbatch.append(time.perf_counter() - start)
            _drain([job])
        rows.append(("slurm backend", backend_rate, statistics.median(waits_backend),
                     p99(waits_backend)))
        rows.append(("sbatch alone", sbatch_rate, statistics.median(waits_sbatch),
                     p99(waits_sbatch)))
        print(f"{args.jobs} submissions for throughput, {args.latency} for latency")
        print(f"{'path':<16}{'jobs/s':>10}{'p50 to running (s)':>22}{'p99 (s)':>10}")
        for name, rate, p50, p99_s in rows:
            print(f"{name:<16}{rate:>10.1f}{p50:>22.3f}{p99_s:>10.3f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
