"""Slurm accounting exports: replay an operator's own history.

Input: ``sacct --parsable2 --allocations --format=JobID,User,Account,Submit,Start,End,AllocTRES``
(``|``-separated, header line first; other columns are allowed and ignored). Each job that got
GPUs becomes a :class:`Job`:

* tenant = ``Account`` (the Slurm account is the unit fair share is configured on);
* arrival = ``Submit`` in seconds after the first submission;
* demand = ``count`` GPUs of the type in ``AllocTRES`` (``gres/gpu:a100=4``), with the same
  count on every other chip type of the cluster as alternatives (so an aware policy may move it);
* work = (``End`` − ``Start``) × its rate on the chip it really ran on, in the units of
  ``job_class`` (default ``dense-training``: H100-seconds), so replaying it on the same chip
  takes as long as it did;
* deadline = the optional ``Deadline`` column (``sbatch --deadline``; a time like ``Submit``,
  ``Unknown``/``None``/empty for none), in seconds on the same clock as arrival.
  ``Timelimit``/``TimelimitRaw`` are limits on run time, not on completion, so they are not
  read as deadlines.

Job steps (``123.batch``), jobs that never started and jobs without GPUs are skipped; an
untyped ``gres/gpu=N`` or a type the cluster does not have is an error with its line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from aicenter.domain.errors import InputError
from aicenter.scheduler.throughput import ThroughputMatrix
from aicenter.scheduler.types import ChipDemand, Job
from aicenter.simulator.trace import Trace, check_arrival

SACCT_FIELDS = ("JobID", "User", "Account", "Submit", "Start", "End", "AllocTRES")
NEVER = {"", "Unknown", "None", "N/A"}
_GPU = re.compile(r"gres/gpu(?::([^=,]+))?=(\d+)")


def _time(text: str, file: str, line: int, field: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"'{text}' is not a time like 2024-05-01T09:30:00", file=file, line=line, field=field
        ) from None


def _gpus(tres: str, file: str, line: int, known: set[str]) -> tuple[str, int] | None:
    typed: tuple[str, int] | None = None
    untyped = 0
    for match in _GPU.finditer(tres):
        kind, count = match.group(1), int(match.group(2))
        if kind:
            typed = (kind, count)
        else:
            untyped = count
    if typed is None:
        if untyped:
            raise InputError(
                f"'gres/gpu={untyped}' has no GPU type; export with typed GRES "
                "(gres/gpu:TYPE=N)", file=file, line=line, field="AllocTRES",
            )
        return None
    if typed[0] not in known:
        raise InputError(
            f"unknown GPU type '{typed[0]}'; the cluster has {', '.join(sorted(known))}",
            file=file, line=line, field="AllocTRES",
        )
    return typed


def read_sacct(
    path: Path | str,
    matrix: ThroughputMatrix,
    chip_types: Iterable[str],
    job_class: str = "dense-training",
) -> Trace:
    """Read a ``sacct --parsable2`` export (module docstring) into a trace."""
    p = Path(path)
    file = str(p)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=file) from None
    if not lines:
        raise InputError("empty file", file=file)
    header = lines[0].split("|")
    missing = [f for f in SACCT_FIELDS if f not in header]
    if missing:
        raise InputError(
            f"missing columns {', '.join(missing)} (export with --parsable2 and "
            f"--format={','.join(SACCT_FIELDS)})", file=file, line=1,
        )
    col = {name: header.index(name) for name in SACCT_FIELDS}
    known = set(chip_types)
    deadline_col = header.index("Deadline") if "Deadline" in header else None
    raw: list[tuple[int, str, str, datetime, float, str, int, datetime | None]] = []
    for number, text in enumerate(lines[1:], start=2):
        if not text.strip():
            continue
        fields = text.split("|")
        if len(fields) != len(header):
            raise InputError(
                f"expected {len(header)} '|'-separated fields, found {len(fields)}",
                file=file, line=number,
            )
        jid = fields[col["JobID"]]
        if "." in jid or fields[col["Start"]] in NEVER or fields[col["End"]] in NEVER:
            continue
        gpus = _gpus(fields[col["AllocTRES"]], file, number, known)
        if gpus is None:
            continue
        submit = _time(fields[col["Submit"]], file, number, "Submit")
        start = _time(fields[col["Start"]], file, number, "Start")
        end = _time(fields[col["End"]], file, number, "End")
        run_s = (end - start).total_seconds()
        if run_s < 0:
            raise InputError("End is before Start", file=file, line=number, field="End")
        deadline = None
        if deadline_col is not None and fields[deadline_col] not in NEVER:
            deadline = _time(fields[deadline_col], file, number, "Deadline")
        raw.append(
            (number, jid, fields[col["Account"]], submit, run_s, gpus[0], gpus[1], deadline)
        )
    if not raw:
        return Trace(p.stem, ())
    first = raw[0][3]
    previous = 0.0
    jobs: list[Job] = []
    for number, jid, account, submit, run_s, chip, count, deadline in raw:
        arrival = (submit - first).total_seconds()
        check_arrival(previous, arrival, file, number, "Submit")
        previous = arrival
        rate = matrix.rate(job_class, chip, count)
        if rate <= 0:
            raise InputError(
                f"no throughput for '{job_class}' on {count} × {chip}", file=file, line=number,
                field="AllocTRES",
            )
        others = [ChipDemand(c, count) for c in sorted(known) if c != chip]
        alternatives = (ChipDemand(chip, count), *others)
        jobs.append(
            Job(
                id=jid, tenant=account or "default", job_class=job_class,
                demand=alternatives, total_work=max(run_s, 1.0) * rate, arrival_s=arrival,
                deadline_s=(deadline - first).total_seconds() if deadline is not None else None,
            )
        )
    return Trace(p.stem, tuple(jobs))
