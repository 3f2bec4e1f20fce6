"""The meter log: a durable, append-only JSON-lines record of what jobs read, and of the
agreements under which they read it.

Every line is one event with a ``kind``:

* ``meter``: a job read ``records``, ``bytes`` (UTF-8 bytes of the record texts) and
  ``tokens`` (Σ over records of round-half-even(estimated tokens of the record), see
  :mod:`aicenter.exchange.stats`) of one dataset under one agreement, at ``at``;
* ``agreement``: an agreement was accepted (the whole agreement, with its offer).

Each event carries ``writer`` (one id per writing process) and ``seq`` (1, 2, 3… per writer):
the pair is the event's key, so reading a log twice, or merging the same events into the
center's audit log twice, never counts an event twice. A batch of events is written with one
``write`` under an exclusive ``flock`` and ``fsync``-ed before the reader hands the records to
the job, so no record is read unmetered; a crash can leave at most a torn last line, which
:func:`read_log` ignores (it was never fsynced, so its records were never handed out).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aicenter.domain.dataset import Usage
from aicenter.domain.errors import InputError
from aicenter.exchange.licence import Agreement, agreement_from_dict, agreement_to_dict


@dataclass(frozen=True, slots=True)
class MeterEvent:
    """Use of one dataset by one job, metered over one batch of records."""

    writer: str
    seq: int
    job_id: str
    dataset_id: str
    agreement_id: str
    at: datetime
    records: int
    bytes: int
    tokens: int

    @property
    def key(self) -> tuple[str, int]:
        return self.writer, self.seq

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "meter", "writer": self.writer, "seq": self.seq, "job_id": self.job_id,
                "dataset_id": self.dataset_id, "agreement_id": self.agreement_id,
                "at": self.at.isoformat(), "records": self.records, "bytes": self.bytes,
                "tokens": self.tokens}


@dataclass(frozen=True, slots=True)
class AgreementEvent:
    """An agreement entered the log (accepted by a tenant)."""

    writer: str
    seq: int
    agreement: Agreement

    @property
    def key(self) -> tuple[str, int]:
        return self.writer, self.seq

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "agreement", "writer": self.writer, "seq": self.seq,
                "agreement": agreement_to_dict(self.agreement)}


LogEvent = MeterEvent | AgreementEvent


@dataclass(frozen=True, slots=True)
class LogContents:
    """The events of a log, each key once, in file order."""

    meters: tuple[MeterEvent, ...]
    agreements: tuple[Agreement, ...]
    keys: frozenset[tuple[str, int]]


def _line(event: LogEvent) -> bytes:
    return json.dumps(event.to_dict(), ensure_ascii=False, sort_keys=True).encode() + b"\n"


def append_events(path: Path, events: Sequence[LogEvent]) -> None:
    """Append ``events`` to the log at ``path`` durably: one write, flock, fsync."""
    if not events:
        return
    data = b"".join(_line(e) for e in events)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _repair_torn_tail(fd)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock


def _repair_torn_tail(fd: int) -> None:
    """If the file does not end with a newline (a write torn by a crash), end the torn line so
    the next event starts on its own line; :func:`read_log` skips the torn one."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.write(fd, b"\n")


def _event(value: Any, file: str, line: int) -> LogEvent:
    if not isinstance(value, dict):
        raise InputError("not an event object", file=file, line=line)
    try:
        kind = value["kind"]
        writer, seq = str(value["writer"]), int(value["seq"])
        if kind == "meter":
            return MeterEvent(writer, seq, str(value["job_id"]), str(value["dataset_id"]),
                              str(value["agreement_id"]), datetime.fromisoformat(value["at"]),
                              int(value["records"]), int(value["bytes"]), int(value["tokens"]))
        if kind == "agreement":
            return AgreementEvent(writer, seq, agreement_from_dict(value["agreement"]))
    except KeyError as exc:
        raise InputError("missing", file=file, line=line, field=str(exc.args[0])) from None
    except InputError as exc:
        raise exc.located(file=file, line=line, field_prefix="agreement") from None
    except (TypeError, ValueError) as exc:
        raise InputError(f"bad value: {exc}", file=file, line=line) from None
    raise InputError(f"unknown kind '{kind}'", file=file, line=line, field="kind")


def iter_log(path: Path) -> Iterator[LogEvent]:
    """Every complete event of the log in file order (repeated keys included); a torn line
    (no newline, or not JSON and not the last) written by a crash is skipped."""
    for event, _offset, _line in _complete_lines(path):
        if event is not None:
            yield event


def _complete_lines(path: Path, offset: int = 0, line: int = 0
                    ) -> Iterator[tuple[LogEvent | None, int, int]]:
    """Each complete line of the log after byte ``offset`` (line ``line``): its event (None
    for a torn line ended by _repair_torn_tail), and the offset and line number after it.
    Stops at a torn tail (no newline: never fsynced, never handed out)."""
    if not path.exists():
        return
    with path.open("rb") as f:
        f.seek(offset)
        for raw in f:
            if not raw.endswith(b"\n"):
                return
            offset += len(raw)
            line += 1
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                yield None, offset, line
                continue
            yield _event(value, str(path), line), offset, line


def read_log(path: Path) -> LogContents:
    """The log's events, each key once (the first occurrence wins)."""
    return collect_events(iter_log(path))


def collect_events(events: Iterable[LogEvent]) -> LogContents:
    seen: set[tuple[str, int]] = set()
    meters: list[MeterEvent] = []
    agreements: list[Agreement] = []
    for event in events:
        if event.key in seen:
            continue
        seen.add(event.key)
        if isinstance(event, MeterEvent):
            meters.append(event)
        else:
            agreements.append(event.agreement)
    return LogContents(tuple(meters), tuple(agreements), frozenset(seen))


def merge_into(audit_log: Path, *sources: Path) -> int:
    """Copy into ``audit_log`` the events of ``sources`` (jobs' meter logs) not merged yet;
    returns how many were added. Running it again adds nothing.

    Incremental: ``<audit log>.merged.json`` remembers, per source, the byte offset (and line
    number, for error messages) up to which it has been merged, so a call reads only what the
    sources gained since the last one and never re-reads the audit log (which grows with every
    job of the center). The offsets are written after the fsynced append: a crash between the
    two appends the same events again next time, and every reader counts an event once (events
    are keyed by writer and seq)."""
    state_path = audit_log.with_name(audit_log.name + ".merged.json")
    state: dict[str, list[int]] = (json.loads(state_path.read_text(encoding="utf-8"))
                                   if state_path.exists() else {})
    new: list[LogEvent] = []
    seen: set[tuple[str, int]] = set()
    for source in sources:
        name = str(source.resolve())
        offset, line = state.get(name, [0, 0])
        events, offset, line = _events_after(source, offset, line)
        state[name] = [offset, line]
        for event in events:
            if event.key not in seen:
                seen.add(event.key)
                new.append(event)
    append_events(audit_log, new)
    state_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = state_path.with_name(state_path.name + ".tmp")
    tmp.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
    os.replace(tmp, state_path)
    return len(new)


def _events_after(path: Path, offset: int, line: int) -> tuple[list[LogEvent], int, int]:
    """The complete events of the log after byte ``offset`` (line ``line``), with the offset
    and line number after the last complete line (a torn tail is left for later: it is either
    completed or skipped)."""
    events: list[LogEvent] = []
    end_offset, end_line = offset, line
    for event, end_offset, end_line in _complete_lines(path, offset, line):  # noqa: B007
        if event is not None:
            events.append(event)
    return events, end_offset, end_line


class MeterWriter:
    """Numbers the events of one writer and appends them to one log. Thread-safe: the data
    gateway meters the reads of several connections of one job through one writer, and the
    log's order of a writer's events is the order of their numbers."""

    def __init__(self, path: Path, writer: str, *, fresh: bool = False) -> None:
        """``fresh``: ``writer`` is a new id (it has written nothing to this log), so its
        numbers start at 1 without reading the log to find where they had got to."""
        self.path = path
        self.writer = writer
        self._seq = 0 if fresh else max(
            (e.seq for e in iter_log(path) if e.writer == writer), default=0)
        self._lock = threading.Lock()

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def meter(self, *, job_id: str, dataset_id: str, agreement_id: str, at: datetime,
              records: int, bytes_read: int, tokens: int) -> MeterEvent:
        """Append one meter event durably and return it."""
        with self._lock:
            self._seq += 1
            event = MeterEvent(self.writer, self._seq, job_id, dataset_id, agreement_id, at,
                               records, bytes_read, tokens)
            append_events(self.path, [event])
        return event

    def agreement(self, agreement: Agreement) -> AgreementEvent:
        with self._lock:
            self._seq += 1
            event = AgreementEvent(self.writer, self._seq, agreement)
            append_events(self.path, [event])
        return event


def usage_by_job_dataset(events: Iterable[MeterEvent]) -> dict[tuple[str, str], Usage]:
    """Σ records, bytes, tokens per (job, dataset)."""
    totals: dict[tuple[str, str], Usage] = {}
    for e in events:
        key = (e.job_id, e.dataset_id)
        totals[key] = totals.get(key, Usage()) + Usage(e.records, e.bytes, e.tokens)
    return totals
