"""Which of several API workers runs the scheduling loop: the one holding an exclusive
``flock`` on HOME/scheduler.lock.

The kernel drops the lock when its holder dies (``kill -9`` included), so leadership needs no
lease, heartbeat or database row. Workers that did not get the lock at start stay on standby
and try again every ``min(scheduler_interval_s, STANDBY_RETRY_MAX_S)`` seconds: when the leader
dies, a surviving worker takes over within that time, whether or not the process supervisor
(uvicorn) restarts the dead one. Two loops never run at once: whoever holds the lock runs the
loop, and a loop stops before its lock is released.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from pathlib import Path
from typing import IO

from aicenter.server.runtime import SchedulingLoop
from aicenter.services.context import ServiceContext

log = logging.getLogger("aicenter.leader")

LOCK_FILE = "scheduler.lock"
STANDBY_RETRY_MAX_S = 5.0
"""Longest wait between two attempts of a standby worker to take the lock."""


def try_lock(home: Path) -> IO[str] | None:
    """The open, exclusively locked HOME/scheduler.lock, or None if another process holds it.
    The lock lasts as long as the returned file stays open (or the process lives)."""
    handle = (home / LOCK_FILE).open("a", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


class ElectedLoop:
    """The scheduling loop of one worker among several: runs only while this process holds
    the lock (see the module docstring). ``role`` is ``leader`` or ``standby``."""

    def __init__(self, ctx: ServiceContext, home: Path) -> None:
        self.ctx = ctx
        self.home = home
        self.loop = SchedulingLoop(ctx)
        self._lock: IO[str] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def role(self) -> str:
        return "leader" if self._lock is not None else "standby"

    def start(self) -> None:
        """Lead at once if the lock is free, else watch for it in a daemon thread."""
        if not self._take():
            self._thread = threading.Thread(target=self._standby, name="aicenter-standby",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the loop (if leading), then release the lock for another worker."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._lock is not None:
            self.loop.stop()
            thread = getattr(self.loop, "_thread", None)
            if thread is not None and thread.is_alive():
                # a round outlived the join: keep the lock, the process's exit drops it
                log.warning("scheduling loop still busy at shutdown; lock kept until exit")
                return
            self._lock.close()
            self._lock = None

    def _take(self) -> bool:
        handle = try_lock(self.home)
        if handle is None:
            return False
        self._lock = handle
        log.info("this worker leads: the scheduling loop runs here")
        self.loop.start()
        return True

    def _standby(self) -> None:
        wait_s = min(max(self.ctx.settings.scheduler_interval_s, 0.1), STANDBY_RETRY_MAX_S)
        while not self._stop.wait(wait_s):
            try:
                if self._take():
                    return
            except Exception:  # e.g. the database is briefly down during recovery
                log.exception("taking over the scheduling loop failed; retrying")
                if self._lock is not None:
                    self._lock.close()
                    self._lock = None
