"""The virtual backend: runs that progress on an injected clock instead of processes.

It lets the live server replay a trace on a manual clock and be compared with the simulator
(:mod:`aicenter.simulator.engine`), and lets tests and drills inject faults. Nothing is
executed: a run is a quantity of work done at a rate, exactly the simulator's model.

The maths, per run launched at ``t_l`` on ``n`` chips of type ``c``:

* the job's work ``W`` (H100-equivalent seconds) is the spec's ``SIM_WORK_H100_S``; its class
  ``k`` is ``SIM_JOB_CLASS`` (default ``dense-training``); the job is ``AICENTER_JOB_ID`` (the
  run id when absent) and its remaining work ``R`` survives its runs (``R = W`` at first);
* ``rate = throughputs.rate(k, c, n)`` work units a second, as the simulator computes it;
* the run starts at ``t_0 = t_l`` (later if :meth:`VirtualBackend.pend` delays it); a job
  that has run before first loses ``restart_cost_s`` (0: Gavel's free preemption), so it ends
  SUCCEEDED (exit 0) at ``t_0 + restart_cost_s + R / rate``, or FAILED at
  ``t_0 + max_duration_s`` if that comes first;
* stopped at ``t`` (preempted, cancelled, failed, lost), it has done
  ``rate · max(t − t_0 − restart_cost_s, 0)`` and the job keeps the rest for its next run
  (every stop is a perfect checkpoint); termination takes effect at once (no grace period:
  nothing runs that could write a checkpoint).

Capacity is the scheduler's business: the engine runs whatever it is given, except on a
pool. A request placed on one of the center's pools (``LaunchRequest.pool``) counts against
that pool's chips, its own accounting: if the pool's live runs leave too few, the run waits
PENDING, as in a real engine's queue, and starts at the instant enough of them ended (the
scheduler launches before it stops what it preempted in the same round; both happen at one
virtual instant, so such a run starts then). A run's status names its pool. State changes are
computed when asked (``status``, ``read_log``, ``list_runs``) from the clock's ``now``, so the
answer never depends on how often one asks; each is one line of the run's log, stamped with
the virtual time it happened. Everything lives in ``state.json`` in the state directory
(written atomically, under a file lock), so a restarted server re-attaches to its runs.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aicenter.backends.base import (
    Capabilities,
    ChipCapacity,
    LaunchRequest,
    LogChunk,
    RunHandle,
    RunState,
    RunStatus,
    StopReason,
)
from aicenter.backends.virtual.config import CAPABILITIES, NAME
from aicenter.domain.errors import InputError
from aicenter.scheduler.throughput import ThroughputMatrix

STATE = "state.json"
WORK_ENV = "SIM_WORK_H100_S"
CLASS_ENV = "SIM_JOB_CLASS"
DEFAULT_JOB_CLASS = "dense-training"
MAX_DURATION_EXIT = -15
"""Exit code of a run stopped at its max duration (SIGTERM's, as a real engine would)."""

Clock = Callable[[], datetime]
log = logging.getLogger("aicenter.backends.virtual")


@dataclass
class _Run:
    """One run's record in ``state.json`` (times as ISO 8601 text)."""

    run_id: str
    job_id: str
    job_class: str
    chip_type: str
    chip_count: int
    rate: float
    work: float
    """Remaining work of the job when this run was launched (``R``)."""
    restart_s: float
    launched_at: str
    start_at: str
    max_duration_s: float | None
    state: str = RunState.PENDING.value
    started_at: str | None = None
    ended_at: str | None = None
    exit_code: int | None = None
    message: str = ""
    log: str = ""
    pool_id: str | None = None
    pool_chips: int = 0
    """The chips of the run's pool when it was launched."""
    waiting: bool = False
    """Launched onto a pool without room: PENDING until the pool's live runs leave room."""

    def done_at(self, when: datetime) -> float:
        """Work done by ``when`` (0 before the start or during the restart cost)."""
        if self.started_at is None:
            return 0.0
        ran = (when - datetime.fromisoformat(self.started_at)).total_seconds() - self.restart_s
        return min(self.work, self.rate * max(ran, 0.0))

    def finish(self) -> datetime:
        start = datetime.fromisoformat(self.start_at)
        return start + timedelta(seconds=self.restart_s + self.work / self.rate)

    def status(self) -> RunStatus:
        def when(text: str | None) -> datetime | None:
            return None if text is None else datetime.fromisoformat(text)

        return RunStatus(RunState(self.state), self.exit_code, when(self.started_at),
                         when(self.ended_at), self.message, pool_id=self.pool_id)


class VirtualBackend:
    """A :class:`~aicenter.backends.base.Backend` on virtual time (module docstring)."""

    capabilities: Capabilities = CAPABILITIES

    def __init__(self, state_dir: Path, clock: Clock, throughputs: ThroughputMatrix,
                 restart_cost_s: float = 0.0) -> None:
        if restart_cost_s < 0:
            raise InputError("restart cost must be >= 0 seconds", field="restart_cost_s")
        self.root = Path(state_dir).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self.throughputs = throughputs
        self.restart_cost_s = restart_cost_s
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._remaining: dict[str, float] = {}
        self._seen: tuple[int, int, int] | None = None
        self._dirty = False

    @property
    def name(self) -> str:
        return NAME

    def set_slots(self, slots_by_chip: Mapping[str, int]) -> None:
        """Ignored: this backend does not own device indices (capacity is the
        scheduler's business here)."""

    def chip_capacity(self) -> dict[str, ChipCapacity]:
        """``{}``: the virtual backend models work, not chips; the center's pools are the
        count."""
        return {}

    # --- state file ------------------------------------------------------------------------

    @contextmanager
    def _state(self) -> Iterator[None]:
        """Hold the thread and file locks, with the state read afresh if another process
        wrote it; written back on the way out if anything changed (every change notes a log
        line, see :meth:`_note`)."""
        with self._lock, open(self.root / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            path = self.root / STATE
            try:
                st = path.stat()
                mark: tuple[int, int, int] | None = (st.st_ino, st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                mark = None
            if mark != self._seen:
                data: dict[str, Any] = json.loads(path.read_text()) if mark else {}
                self._runs = {k: _Run(**v) for k, v in data.get("runs", {}).items()}
                self._remaining = dict(data.get("remaining", {}))
            self._dirty = False
            yield
            if self._dirty or mark is None:
                tmp = self.root / f".{STATE}.{os.getpid()}.tmp"
                tmp.write_text(self._dump())
                os.replace(tmp, path)
                st = path.stat()
                mark = (st.st_ino, st.st_mtime_ns, st.st_size)
            self._seen = mark

    def _dump(self) -> str:
        return json.dumps({"runs": {k: asdict(r) for k, r in self._runs.items()},
                           "remaining": self._remaining}, sort_keys=True)

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise InputError("the virtual backend's clock must give timezone-aware times")
        return now

    def _get(self, run_id: str) -> _Run:
        run = self._runs.get(run_id)
        if run is None:
            raise InputError(f"run {run_id} is not known to the virtual backend",
                             field="run_id")
        return run

    # --- transitions -------------------------------------------------------------------------

    def _note(self, run: _Run, at: datetime, text: str) -> None:
        line = f"{at.isoformat()} {text}\n"
        run.log += line
        self._dirty = True
        log.debug("run %s: %s", run.run_id, line.rstrip())

    def _pool_runs(self, run: _Run) -> list[_Run]:
        return [o for o in self._runs.values() if o.pool_id == run.pool_id and o is not run]

    def _held_on(self, run: _Run, now: datetime) -> int:
        """Chips of ``run``'s pool the other runs hold at ``now`` (waiting runs launched
        before it count: they are ahead of it in the pool's queue)."""
        held = 0
        for other in self._pool_runs(run):
            if other.waiting:
                held += other.chip_count if other.launched_at <= run.launched_at else 0
                continue
            self._advance(other, now)
            if not RunState(other.state).is_final:
                held += other.chip_count
        return held

    def _room_at(self, run: _Run, now: datetime) -> datetime | None:
        """When a waiting run's pool had room for it, at or before ``now`` (``None``: not
        yet): the earliest end of one of the pool's runs after which it fits."""
        held = self._held_on(run, now)
        if held + run.chip_count > run.pool_chips:
            return None
        launched = datetime.fromisoformat(run.launched_at)
        ended = sorted(((datetime.fromisoformat(o.ended_at), o.chip_count)
                        for o in self._pool_runs(run) if not o.waiting and o.ended_at
                        and launched < datetime.fromisoformat(o.ended_at) <= now),
                       reverse=True)
        for at, chips in ended:  # going back in time, each end undone holds its chips again
            held += chips
            if held + run.chip_count > run.pool_chips:
                return at
        return launched  # what held the pool at the launch ended at that very instant

    def _advance(self, run: _Run, now: datetime) -> None:
        """Apply what happened to ``run`` up to ``now``: start (a waiting run: once its pool
        has room), success or max duration."""
        if RunState(run.state).is_final:
            return
        if run.waiting:
            room = self._room_at(run, now)
            if room is None:
                return
            run.waiting, run.start_at = False, room.isoformat()
            self._note(run, room, f"pool {run.pool_id} has room")
        start = datetime.fromisoformat(run.start_at)
        if now < start:
            return
        if run.state == RunState.PENDING.value:
            run.state, run.started_at = RunState.RUNNING.value, run.start_at
            self._note(run, start, f"running: {run.chip_count} × {run.chip_type} at "
                       f"{run.rate:g} work/s, {run.work:g} left")
        finish = run.finish()
        if run.max_duration_s is not None:
            deadline = start + timedelta(seconds=run.max_duration_s)
            if deadline < finish and now >= deadline:
                self._end(run, RunState.FAILED, deadline, MAX_DURATION_EXIT,
                          f"max duration of {run.max_duration_s:g} s exceeded")
                return
        if now >= finish:
            self._end(run, RunState.SUCCEEDED, finish, 0, "")

    def _end(self, run: _Run, state: RunState, at: datetime, exit_code: int | None,
             message: str, record_end: bool = True) -> None:
        """Final state at ``at``; the job keeps ``R − done`` for its next run."""
        left = run.work - run.done_at(at)
        if state is RunState.SUCCEEDED:
            self._remaining.pop(run.job_id, None)
        else:
            self._remaining[run.job_id] = max(left, 0.0)
        run.state, run.exit_code, run.message = state.value, exit_code, message
        run.ended_at = at.isoformat() if record_end else None
        code = "" if exit_code is None else f" exit {exit_code}"
        self._note(run, at, f"{state.value}{code}: {left:g} work left"
                   + (f" ({message})" if message else ""))

    def _settled(self, run_id: str) -> _Run:
        run = self._get(run_id)
        self._advance(run, self._now())
        return run

    # --- the Backend protocol --------------------------------------------------------------

    def launch(self, request: LaunchRequest) -> RunHandle:
        """Record the run; it starts at the launch instant (:meth:`pend` delays it)."""
        env = request.env
        job_class = env.get(CLASS_ENV, DEFAULT_JOB_CLASS)
        rate = self.throughputs.rate(job_class, request.chip_type, request.chip_count)
        if rate <= 0:
            raise InputError(f"a {job_class} job cannot run on {request.chip_count} × "
                             f"{request.chip_type} (rate 0)", field="chip_type")
        job_id = env.get("AICENTER_JOB_ID", request.run_id)
        now = self._now()
        with self._state():
            if request.run_id in self._runs:
                raise InputError(f"run id {request.run_id} is already used", field="run_id")
            for other in self._runs.values():  # the job's earlier run, if still open
                if other.job_id == job_id:
                    self._advance(other, now)
            pool = request.pool
            work = self._remaining.get(job_id)
            if work is None:
                work = _work_of(env)
            restart = self.restart_cost_s if job_id in self._remaining else 0.0
            run = _Run(request.run_id, job_id, job_class, request.chip_type,
                       request.chip_count, rate, work, restart, now.isoformat(),
                       now.isoformat(), request.max_duration_s,
                       pool_id=None if pool is None else pool.id,
                       pool_chips=0 if pool is None else pool.chip_count)
            self._note(run, now, f"pending: job {job_id}, {job_class}, {work:g} H100e·s "
                       f"left" + (f", restart cost {restart:g} s" if restart else "")
                       + (f", pool {pool.id}" if pool is not None else ""))
            if pool is not None and self._held_on(run, now) + run.chip_count > pool.chip_count:
                run.waiting = True
                self._note(run, now, f"waiting for {run.chip_count} chips of pool {pool.id}")
            self._runs[run.run_id] = run
        return RunHandle(NAME, request.run_id, str(self.root))

    def status(self, handle: RunHandle) -> RunStatus:
        """The run's state at the clock's now; LOST for a run this backend does not hold."""
        with self._state():
            run = self._runs.get(handle.run_id)
            if run is None:
                return RunStatus(RunState.LOST, message="the virtual backend holds no such run")
            self._advance(run, self._now())
            return run.status()

    def read_log(self, handle: RunHandle, offset: int = 0, max_bytes: int = 1 << 20) -> LogChunk:
        """The run's state changes, one line each, by byte offset."""
        if offset < 0:
            raise InputError("log offset must be >= 0", field="offset")
        with self._state():
            run = self._runs.get(handle.run_id)
            if run is None:
                return LogChunk(b"", offset, offset, complete=True)
            self._advance(run, self._now())
            text = run.log.encode()
            final = RunState(run.state).is_final
        data = text[offset:offset + max_bytes]
        end = offset + len(data)
        return LogChunk(data, offset, end, complete=final and end >= len(text))

    def terminate(
        self, handle: RunHandle, reason: StopReason, grace_period_s: float | None = None
    ) -> None:
        """Stop at the clock's now (no grace: no process to checkpoint); no-op once ended."""
        with self._state():
            run = self._runs.get(handle.run_id)
            if run is None:
                return
            now = self._now()
            self._advance(run, now)
            if not RunState(run.state).is_final:
                self._end(run, reason.final_state, now, None, f"{reason.value} requested")

    def list_runs(self) -> list[RunHandle]:
        with self._state():
            return [RunHandle(NAME, run_id, str(self.root)) for run_id in sorted(self._runs)]

    def forget(self, handle: RunHandle) -> None:
        with self._state():
            run = self._runs.get(handle.run_id)
            if run is None:
                return
            self._advance(run, self._now())
            if not RunState(run.state).is_final:
                raise InputError(f"run {handle.run_id} has not ended; terminate it first")
            del self._runs[handle.run_id]
            self._dirty = True

    # --- fault injection (tests and drills) ------------------------------------------------

    def fail(self, run_id: str, exit_code: int = 1, message: str = "failure injected") -> None:
        """End a live run now as FAILED with ``exit_code``."""
        if exit_code == 0:
            raise InputError("a failure needs a non-zero exit code", field="exit_code")
        with self._state():
            run = self._live(run_id)
            self._end(run, RunState.FAILED, self._now(), exit_code, message)

    def lose(self, run_id: str) -> None:
        """The engine loses track of a live run now: LOST, no exit code, no end time."""
        with self._state():
            run = self._live(run_id)
            self._end(run, RunState.LOST, self._now(), None, "run lost (injected)",
                      record_end=False)

    def pend(self, run_id: str, seconds: float) -> None:
        """Keep a run that has not worked yet PENDING for ``seconds`` from now: the engine's
        start then differs from the launch (a queue in front of the chips)."""
        if seconds < 0:
            raise InputError("seconds must be >= 0", field="seconds")
        with self._state():
            run = self._live(run_id)
            now = self._now()
            if run.done_at(now) > 0 or now > datetime.fromisoformat(run.start_at):
                raise InputError(f"run {run_id} has been running since {run.started_at}")
            run.start_at = (now + timedelta(seconds=seconds)).isoformat()
            if run.state == RunState.RUNNING.value:
                run.state, run.started_at = RunState.PENDING.value, None
            self._note(run, now, f"pending for {seconds:g} s (injected)")

    def _live(self, run_id: str) -> _Run:
        run = self._settled(run_id)
        if RunState(run.state).is_final:
            raise InputError(f"run {run_id} has already ended ({run.state})")
        return run

    # --- for drivers -------------------------------------------------------------------------

    def live_ends(self) -> list[datetime]:
        """When each live run will end by itself if nothing stops it (success or max
        duration): what a replay driver needs to end a round early, as the simulator does."""
        with self._state():
            now = self._now()
            ends = []
            for run in self._runs.values():
                self._advance(run, now)
                if not RunState(run.state).is_final and not run.waiting:
                    ends.append(self._end_time(run))
            return ends

    @staticmethod
    def _end_time(run: _Run) -> datetime:
        finish = run.finish()
        if run.max_duration_s is None:
            return finish
        deadline = datetime.fromisoformat(run.start_at) + timedelta(seconds=run.max_duration_s)
        return min(finish, deadline)


def _work_of(env: Any) -> float:
    text = env.get(WORK_ENV)
    if text is None:
        raise InputError(f"the virtual backend needs the job's work in {WORK_ENV} "
                         "(H100-equivalent seconds) in its env", field="env")
    try:
        work = float(text)
    except ValueError:
        raise InputError(f"{WORK_ENV}={text!r} is not a number", field="env") from None
    if not work > 0 or work == float("inf"):
        raise InputError(f"{WORK_ENV} must be a positive number of seconds", field="env")
    return work
