"""Benchmark: CPU cost of the CLI's start-up, as a ratio to importing its two libraries.

Run: .venv/bin/python benchmarks/bench_cli.py [--repeat N]

In one run, each command is started N times (default 3) and the best CPU time (user + sys of
the child, from ``os.wait4``) is kept:

- baseline: ``python -c "import typer, httpx"`` — what any Typer + httpx CLI pays;
- ``aicenter --help`` and ``aicenter version``;
- ``aicenter job list`` against a real server: ``aicenter serve`` on a free loopback port with
  a temporary HOME and SQLite, ``AICENTER_URL``/``AICENTER_TOKEN`` from its operator token;
  the server is stopped at the end.

Ratios rather than seconds, so the target holds on a slow or busy machine: CPU time (not wall
time) is what a command costs, and the baseline is measured in the same run on the same
interpreter. Target (exit 1 if missed): every command at most 2.5× the baseline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 2.5
BASELINE = [sys.executable, "-c", "import typer, httpx"]


def aicenter_command() -> list[str]:
    """The installed console script beside this interpreter, else the same entry point."""
    script = Path(sys.executable).parent / "aicenter"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from aicenter.cli.main import run; run()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(argv: list[str], env: dict[str, str]) -> float:
    """User + sys CPU seconds of one run of ``argv`` (its children included via wait4)."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {err.strip()}")
    return usage.ru_utime + usage.ru_stime


def best_of(argv: list[str], env: dict[str, str], repeat: int) -> float:
    return min(cpu_seconds(argv, env) for _ in range(repeat))


def start_server(home: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """``aicenter serve`` on a free port with SQLite under ``home``; returns it and its URL."""
    port = free_port()
    server = subprocess.Popen(
        [*aicenter_command(), "serve", "--port", str(port), "--home", str(home)],
        env={**env, "AICENTER_SCHEDULER_INTERVAL_S": "3600"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    from aicenter.client import Client

    try:
        Client(url, "x").wait_until_up(60)
    except Exception:
        server.kill()
        _out, err = server.communicate(timeout=30)
        raise SystemExit(
            f"the server did not start: {err.decode(errors='replace')[-2000:]}") from None
    return server, url


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.communicate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (best kept)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="aicenter-bench-cli-"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AICENTER_") or k.startswith("AICENTER_UNSAFE_")}
    env["HOME"] = str(home)
    env["AICENTER_HOME"] = str(home / "center")
    aicenter = aicenter_command()
    figures: dict[str, float] = {}
    server, url = start_server(home / "center", env)
    try:
        token = (home / "center" / "operator-token").read_text().strip()
        remote = {**env, "AICENTER_URL": url, "AICENTER_TOKEN": token}
        started = time.perf_counter()
        figures["baseline: python -c 'import typer, httpx'"] = best_of(BASELINE, env, args.repeat)
        figures["aicenter --help"] = best_of([*aicenter, "--help"], env, args.repeat)
        figures["aicenter version"] = best_of([*aicenter, "version"], env, args.repeat)
        figures["aicenter job list"] = best_of([*aicenter, "job", "list"], remote, args.repeat)
        wall = time.perf_counter() - started
    finally:
        stop_server(server)
        shutil.rmtree(home, ignore_errors=True)

    baseline = next(iter(figures.values()))
    print(f"CPU time, best of {args.repeat} (user + sys), ratio to the baseline "
          f"(target <= {TARGET_RATIO}):")
    missed = []
    for name, seconds in figures.items():
        ratio = seconds / baseline
        print(f"  {name:<45} {seconds * 1000:8.0f} ms  {ratio:5.2f}x")
        if ratio > TARGET_RATIO:
            missed.append(name)
    print(f"  ({wall:.1f} s wall for the measured runs)")
    if missed:
        print(f"target missed: {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
