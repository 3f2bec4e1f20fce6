"""Slurm job states and records, read from ``scontrol``/``sacct`` output (pure: no I/O).

Every state Slurm 22.05-24.x reports maps to one of aicenter's (:data:`STATE_MAP`). A run is
not over while Slurm may still run it: a requeued job (``REQUEUED``, ``REQUEUE_HOLD``, a
``NODE_FAIL`` or ``PREEMPTED`` job that ``--requeue`` sends back to the queue) is PENDING again
under the same job id, and only the state Slurm reports *now* counts. ``COMPLETING`` is still
RUNNING: the job has no exit code and end time until its processes are gone. ``SUSPENDED`` and
``STOPPED`` keep their allocation, so they stay RUNNING (with a message saying so).

Times: the backend calls Slurm with ``SLURM_TIME_FORMAT=%s``, so start and end times arrive as
seconds since the epoch; ``Unknown``/``None``/``0`` mean "not yet". Slurm's start time of a
pending job is an *estimate*, so :func:`parse_job_record` drops it until the job has started.

Exit codes: Slurm writes ``<exit status>:<signal>``; a job killed by signal ``N`` gets
``-N`` (Python's convention, as the other backends), otherwise its exit status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from aicenter.backends.base import RunState, utc_from_epoch

STATE_MAP: dict[str, tuple[RunState, str]] = {
    # Waiting: not started, or sent back to the queue.
    "PENDING": (RunState.PENDING, ""),
    "CONFIGURING": (RunState.PENDING, "nodes are being configured"),
    "REQUEUED": (RunState.PENDING, "requeued by Slurm"),
    "REQUEUE_HOLD": (RunState.PENDING, "requeued by Slurm and held"),
    "REQUEUE_FED": (RunState.PENDING, "requeued by the Slurm federation"),
    "RESV_DEL_HOLD": (RunState.PENDING, "held: its reservation was deleted"),
    "RESIZING": (RunState.RUNNING, "being resized"),
    # Holding its allocation.
    "RUNNING": (RunState.RUNNING, ""),
    "COMPLETING": (RunState.RUNNING, "completing"),
    "STAGE_OUT": (RunState.RUNNING, "staging out"),
    "SIGNALING": (RunState.RUNNING, "being signalled"),
    "SUSPENDED": (RunState.RUNNING, "suspended by Slurm (keeps its allocation)"),
    "STOPPED": (RunState.RUNNING, "stopped by Slurm (keeps its allocation)"),
    # Ended.
    "COMPLETED": (RunState.SUCCEEDED, ""),
    "FAILED": (RunState.FAILED, "failed"),
    "TIMEOUT": (RunState.FAILED, "max duration exceeded (Slurm time limit)"),
    "OUT_OF_MEMORY": (RunState.FAILED, "out of memory"),
    "NODE_FAIL": (RunState.FAILED, "a node of the job failed"),
    "BOOT_FAIL": (RunState.FAILED, "a node of the job failed to boot"),
    "DEADLINE": (RunState.FAILED, "its Slurm deadline passed"),
    "SPECIAL_EXIT": (RunState.FAILED, "special exit (held by Slurm)"),
    "CANCELLED": (RunState.CANCELLED, "cancelled"),
    "REVOKED": (RunState.CANCELLED, "revoked by the Slurm federation (runs on another cluster)"),
    "PREEMPTED": (RunState.PREEMPTED, "preempted by Slurm"),
}
"""Slurm job state -> (aicenter state, message). Unknown states are RUNNING with a message
(:func:`map_state`): never final, so nothing is settled on a state this code does not know."""

TIMEOUT_EXIT_CODES = (124, 137)
"""``timeout``'s exit codes when it ended the command (after SIGTERM, after SIGKILL): the
batch script enforces the max duration to the second with ``timeout`` (Slurm's own time limit
is checked about every 30 s and counted in minutes, so it is the backstop)."""

_NOT_YET = {"", "unknown", "none", "0", "n/a"}


def map_state(slurm_state: str) -> tuple[RunState, str]:
    """aicenter's state and a message for a Slurm state (``CANCELLED by 0`` reads as
    ``CANCELLED``; a trailing ``+`` as Slurm prints it is dropped)."""
    word = slurm_state.strip().split(" ", 1)[0].rstrip("+").upper()
    found = STATE_MAP.get(word)
    if found is None:
        return RunState.RUNNING, f"Slurm state {word or '?'} not known to aicenter"
    return found


def parse_exit_code(text: str) -> int | None:
    """``7:0`` -> 7, ``0:9`` -> -9 (killed by SIGKILL); ``None`` for empty text."""
    text = text.strip()
    if not text:
        return None
    status, _, signal = text.partition(":")
    try:
        sig = int(signal or "0")
        code = int(status)
    except ValueError:
        return None
    return -sig if sig else code


def parse_epoch(text: str) -> datetime | None:
    """A time Slurm printed with ``SLURM_TIME_FORMAT=%s``; ``None`` for "not yet"."""
    text = text.strip()
    if text.lower() in _NOT_YET:
        return None
    try:
        return utc_from_epoch(float(text))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One Slurm job as aicenter reads it: Slurm's words and aicenter's state."""

    job_id: str
    slurm_state: str
    state: RunState
    message: str
    exit_code: int | None
    started_at: datetime | None
    ended_at: datetime | None
    reason: str = ""
    restarts: int = 0
    """How often Slurm requeued the job itself (``scontrol``'s ``Restarts``; 0 from sacct)."""
    ran_from: datetime | None = None
    ran_to: datetime | None = None
    """The start and end Slurm printed, whatever the state: for an attempt ``sacct -D`` keeps
    after a requeue (state ``REQUEUED``, which aicenter reads as waiting again) these are
    when that attempt held its chips."""

    @property
    def is_final(self) -> bool:
        return self.state.is_final


def parse_job_record(job_id: str, state: str, exit_code: str, start: str, end: str,
                     reason: str = "", restarts: str = "0") -> JobRecord:
    """A :class:`JobRecord` from the fields ``scontrol``/``sacct`` print. A COMPLETING job
    keeps its end (Slurm set it when the job began completing: what ``sacct`` will say)."""
    run_state, message = map_state(state)
    word = state.strip().split(" ", 1)[0].rstrip("+").upper()
    started = parse_epoch(start) if run_state is not RunState.PENDING else None
    ended = parse_epoch(end) if run_state.is_final or word == "COMPLETING" else None
    if started is None and ended is not None:
        started = ended  # ended before it started (cancelled while pending): nothing to bill
    code = parse_exit_code(exit_code) if run_state.is_final else None
    reason = "" if reason.strip() in ("None", "(null)") else reason.strip()
    return JobRecord(job_id, state.strip().split(" ", 1)[0].rstrip("+"), run_state, message,
                     code, started, ended, reason,
                     int(restarts) if restarts.strip().isdigit() else 0,
                     parse_epoch(start), parse_epoch(end))


_KEY = re.compile(r"(?:^|\s)([A-Za-z][A-Za-z:/]*)=")


def parse_scontrol_line(line: str) -> dict[str, str]:
    """``scontrol show job|node -o`` prints one ``Key=value`` line per object; values may hold
    spaces (``Reason=Not responding``), so a value runs to the next `` Key=``."""
    marks = list(_KEY.finditer(line))
    fields: dict[str, str] = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(line)
        fields[mark.group(1)] = line[mark.end():end].strip()
    return fields


def job_from_scontrol(line: str) -> JobRecord:
    """The job in one line of ``scontrol show job -o <id>`` (``SLURM_TIME_FORMAT=%s``)."""
    f = parse_scontrol_line(line)
    return parse_job_record(f.get("JobId", ""), f.get("JobState", ""), f.get("ExitCode", ""),
                            f.get("StartTime", ""), f.get("EndTime", ""), f.get("Reason", ""),
                            f.get("Restarts", "0"))


SACCT_FIELDS = ("JobID", "State", "ExitCode", "Start", "End")
"""The ``sacct --format`` the backend asks for (``-X -P -n``: the allocation, '|'-separated)."""


def attempt_intervals(records: list[JobRecord]
                      ) -> tuple[tuple[datetime, datetime], ...] | None:
    """(start, end) of each earlier attempt in ``records`` that ran (``sacct -D``: one record
    per attempt of a job Slurm requeued, oldest first), from the times Slurm printed (such an
    attempt's state is ``REQUEUED``, read as waiting: its own start and end are the ones
    that count). ``None`` while an attempt that started has no end on record yet: billing
    must wait for it rather than skip the attempt."""
    spans = []
    for r in records:
        if r.ran_from is None:
            continue  # requeued before it ever ran
        if r.ran_to is None:
            return None
        if r.ran_to > r.ran_from:
            spans.append((r.ran_from, r.ran_to))
    return tuple(spans)


def jobs_from_sacct(text: str) -> list[JobRecord]:
    """Records in ``sacct -X -P -n --format=JobID,State,ExitCode,Start,End`` output."""
    records = []
    for line in text.splitlines():
        parts = line.split("|")
        if len(parts) < len(SACCT_FIELDS) or not parts[0].strip():
            continue
        records.append(parse_job_record(*parts[: len(SACCT_FIELDS)]))
    return records
