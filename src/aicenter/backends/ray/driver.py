"""The program every ``ray`` run's entrypoint runs on the Ray cluster (stdlib and Ray only).

The server never imports this module: :mod:`aicenter.backends.ray.backend` sends its source
as the Ray job's entrypoint (``<python> -c <source>``) with the run's plan as JSON in
``AICENTER_RAY_PLAN``, because the Ray nodes need not have aicenter installed. Why a driver
rather than Ray's ``entrypoint_resources``: a job whose entrypoint reserves the chips waits in
Ray's queue as an unscheduled actor that ``stop_job`` cannot remove (it starts the command once
the chips free up, then stops it) and that Ray fails after ``RAY_JOB_START_TIMEOUT_SECONDS``;
and an entrypoint runs on one node only. Here the entrypoint reserves nothing and starts at
once; the driver then

1. asks for a placement group of one bundle per worker, ``{"accel:<chip>": k}`` each, plus
   a sliver of ``pool:<pool id>`` for a run placed on one of the center's pools (its nodes
   only), (``STRICT_SPREAD`` for a gang over nodes, ``PACK`` for one bundle), and waits for it: the
   run is pending, and a cancel (SIGTERM) ends the driver, whose placement group Ray removes,
   so nothing of the command ever starts;
2. starts one worker actor per bundle; each claims its chips' indices on its node (below),
   and the first finds a free port for the rendezvous;
3. prints ``aicenter-run-started <epoch seconds>`` (the moment the chips are held: metering
   starts here, never at submission), then runs the command once per worker with
   ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``LOCAL_WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT``
   and the vendor's visible-devices variable set, and copies worker 0's output to its own
   stdout byte for byte (other workers' lines prefixed ``[rank i] ``);
4. on SIGTERM, passes SIGTERM on to every command and waits for them (Ray SIGKILLs the driver
   after the run's grace period; its actors, and their commands, die with it). Its exit code
   is the first failing worker's, else 0.

Device indices: Ray custom resources have no indices, so a node advertises ``accel:<chip>: n``
and its chips are ``0..n-1``. A worker holding ``k`` of them takes the ``k`` lowest indices it
can lock (``flock``) under ``<tmp>/aicenter-chips/<node id>/<chip>/``, holding the locks for
its lifetime. Ray never lets runs on a node hold more than ``n`` chips together, so ``k`` free
indices below ``n`` always exist (pigeonhole); a worker that still finds too few (a lock kept
by a process that outlived its run) waits up to ``CLAIM_WAIT_S`` and then fails the run,
saying why, rather than share a chip.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

PLAN_VARIABLE = "AICENTER_RAY_PLAN"
MARKER = "aicenter-run-started"
CLAIM_WAIT_S = 30.0
CHUNK = 65536


def _ray() -> Any:
    """Ray, untyped (only this driver, on the cluster, talks to Ray's core API)."""
    return importlib.import_module("ray")


def claim_indices(lock_dir: str, count: int, total: int, wait_s: float) -> tuple[list[int],
                                                                               list[int]]:
    """Lock ``count`` of the indices ``0..total-1`` (lowest first); returns the indices and
    the open lock files' descriptors (the locks last as long as they stay open)."""
    os.makedirs(lock_dir, exist_ok=True)
    deadline = time.monotonic() + wait_s
    while True:
        taken: list[int] = []
        fds: list[int] = []
        for index in range(total):
            fd = os.open(os.path.join(lock_dir, f"{index}.lock"), os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            taken.append(index)
            fds.append(fd)
            if len(taken) == count:
                return taken, fds
        for fd in fds:
            os.close(fd)
        if time.monotonic() >= deadline:
            raise RuntimeError(f"only {len(taken)} of this node's {total} chips are free in "
                               f"{lock_dir}, {count} needed: a process of an ended run may "
                               "still hold one")
        time.sleep(0.2)


def visible_env(rule: dict[str, Any], ids: list[int]) -> dict[str, str]:
    """The vendor's visible-devices variables for ``ids`` (the rule the server sent)."""
    env = {"AICENTER_DEVICE_IDS": ",".join(str(i) for i in ids)}
    per_chip = int(rule.get("cores_per_chip", 1))
    units = [i * per_chip + c for i in ids for c in range(per_chip)]
    prefix = rule.get("item_prefix", "")
    value = ",".join(f"{prefix}{u}" for u in units)
    for variable in rule.get("variables", []):
        env[variable] = value
    return env


class Worker:
    """One bundle's share of the run: claims its chips, runs the command, streams output."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.locks: list[int] = []
        self.stopped = False

    def prepare(self, resource: str, count: int, want_port: bool) -> dict[str, Any]:
        ray = _ray()

        node_id = ray.get_runtime_context().get_node_id()
        ip = ray.util.get_node_ip_address()
        ids: list[int] = []
        if count > 0:
            total = 0
            for node in ray.nodes():
                if node.get("NodeID") == node_id:
                    total = int(node.get("Resources", {}).get(resource, 0))
            safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in resource)
            lock_dir = os.path.join(tempfile.gettempdir(), "aicenter-chips", node_id, safe)
            ids, self.locks = claim_indices(lock_dir, count, total, CLAIM_WAIT_S)
        port = 0
        if want_port:
            with socket.socket() as probe:
                probe.bind(("", 0))
                port = int(probe.getsockname()[1])
        return {"node_id": node_id, "ip": ip, "ids": ids, "port": port}

    def run(self, argv: list[str], env: dict[str, str], cwd: str | None) -> Any:
        """Start the command and yield its output in chunks, then its exit code (an int)."""
        if self.stopped:
            yield -int(signal.SIGTERM)
            return
        self.process = subprocess.Popen(argv, env={**os.environ, **env}, cwd=cwd,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        stdout: Any = self.process.stdout
        while True:
            data = stdout.read1(CHUNK)
            if not data:
                break
            yield data
        yield self.process.wait()

    def stop(self) -> None:
        """SIGTERM to the command's process group (the caller enforces the grace period)."""
        self.stopped = True
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)


def _pump(stream: Any, rank: int, out: Any, lock: threading.Lock, codes: dict[int, int]) -> None:
    ray = _ray()

    pending = b""
    for ref in stream:
        item = ray.get(ref)
        if isinstance(item, int):
            codes[rank] = item
            break
        if rank == 0:
            with lock:
                out.write(item)
                out.flush()
            continue
        pending += item
        *lines, pending = pending.split(b"\n")
        with lock:
            for line in lines:
                out.write(b"[rank %d] %s\n" % (rank, line))
            out.flush()
    if pending:
        with lock:
            out.write(b"[rank %d] %s\n" % (rank, pending))
            out.flush()


def main() -> int:
    """Run the plan in ``AICENTER_RAY_PLAN`` (see the module docstring)."""
    plan = json.loads(os.environ[PLAN_VARIABLE])
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    ray = _ray()
    from ray.util.placement_group import placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    ray.init(logging_level="ERROR", log_to_driver=False, configure_logging=False)
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())  # Ray's own handler prints to the log
    resource = plan["resource"]
    bundles: list[int] = plan["bundles"]
    strategy = None
    if any(bundles):
        pool = plan.get("pool_resource")  # the run's pool: its nodes only
        extra = {pool: float(plan["pool_share"])} if pool else {}
        group = placement_group([{resource: float(k), **extra} for k in bundles],
                                strategy=plan["strategy"])
        while not stopping.is_set():  # pending: wait for the chips, or a cancel
            ready, _ = ray.wait([group.ready()], timeout=0.5)
            if ready:
                break
        if stopping.is_set():
            return -int(signal.SIGTERM)
    remote = ray.remote(num_cpus=0, max_concurrency=4)(Worker)
    workers = []
    for index, k in enumerate(bundles):
        if k:
            strategy = PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=index)
        options: dict[str, Any] = {"resources": {resource: float(k)}} if k else {}
        if strategy is not None:
            options["scheduling_strategy"] = strategy
        workers.append(remote.options(**options).remote())
    try:
        places = ray.get([w.prepare.remote(resource, k, i == 0)
                          for i, (w, k) in enumerate(zip(workers, bundles, strict=True))])
    except Exception as error:
        print(f"aicenter: the run's workers could not start: {error}", flush=True)
        return 1
    if stopping.is_set():
        return -int(signal.SIGTERM)
    print(f"{MARKER} {time.time():.6f}", flush=True)
    if plan.get("note"):
        print(plan["note"], flush=True)
    master = places[0]
    local_ranks: dict[str, int] = {}
    ranks_on: dict[str, int] = {}
    for place in places:
        ranks_on[place["node_id"]] = ranks_on.get(place["node_id"], 0) + 1
    streams = []
    for rank, (worker, place) in enumerate(zip(workers, places, strict=True)):
        local = local_ranks.get(place["node_id"], 0)
        local_ranks[place["node_id"]] = local + 1
        env = dict(plan["env"])
        env.update({"RANK": str(rank), "WORLD_SIZE": str(len(workers)),
                    "LOCAL_RANK": str(local), "LOCAL_WORLD_SIZE": str(ranks_on[place["node_id"]]),
                    "NODE_RANK": str(rank), "MASTER_ADDR": master["ip"],
                    "MASTER_PORT": str(master["port"]),
                    "AICENTER_CHIP_COUNT": str(bundles[rank]),
                    "AICENTER_RAY_NODE_ID": place["node_id"]})
        if place["ids"]:
            env.update(visible_env(plan["visible"], place["ids"]))
        streams.append(worker.run.options(num_returns="streaming").remote(
            plan["command"], env, plan["working_dir"]))
    out = sys.stdout.buffer
    lock = threading.Lock()
    codes: dict[int, int] = {}
    pumps = [threading.Thread(target=_pump, args=(s, r, out, lock, codes), daemon=True)
             for r, s in enumerate(streams)]
    for pump in pumps:
        pump.start()
    stop_sent = False
    while any(p.is_alive() for p in pumps):
        if stopping.is_set() and not stop_sent:
            for worker in workers:
                worker.stop.remote()
            stop_sent = True
        failed = [c for c in codes.values() if c != 0]
        if failed and not stop_sent:  # one rank failed: the gang cannot go on
            for worker in workers:
                worker.stop.remote()
            stop_sent = True
        time.sleep(0.1)
    for pump in pumps:
        pump.join()
    failed = [codes[r] for r in sorted(codes) if codes[r] != 0]
    return failed[0] if failed else 0


def exit_status(code: int) -> int:
    """A worker's return code as a process exit status (killed by signal N: 128 + N)."""
    return code if 0 <= code < 256 else 128 - code


if __name__ == "__main__":
    sys.exit(exit_status(main()))
