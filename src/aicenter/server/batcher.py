"""Group commit for job submissions: requests wait on the event loop, one thread admits them.

Each request handler puts its submission on a queue and awaits a future. One admission thread
per server process takes whatever has queued up (at most ``max_batch``) and admits it with
:func:`aicenter.services.admission.admit` in one transaction, then resolves the futures on the
event loop. While a batch is in the database the next one fills, so the batch size follows the
load by itself: 1 when idle (no added latency), tens under load (a fraction of a round trip and
of a commit per submission).

One submission's failure is its own: :func:`admit` gives each its own error, and if the
database fails the whole batch anyway each submission is admitted again alone, so a value the
database refuses fails only the submission that carried it.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass

from aicenter.domain.errors import InputError, StoredValueError
from aicenter.services.admission import Admitted, Submission, admit
from aicenter.services.context import ServiceContext

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Waiting:
    submission: Submission
    future: asyncio.Future[Admitted]
    loop: asyncio.AbstractEventLoop


class AdmissionBatcher:
    def __init__(self, ctx: ServiceContext, max_batch: int = 256) -> None:
        self.ctx = ctx
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.batches = 0
        self.largest_batch = 0

    async def submit(self, submission: Submission) -> Admitted:
        """Admit one submission with whatever else is waiting; raises its error."""
        self._ensure_thread()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Admitted] = loop.create_future()
        self._queue.put(_Waiting(submission, future, loop))
        return await future

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="admission",
                                                    daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)  # finish this batch, then stop
                    break
                batch.append(more)
            self._admit(batch)

    def _admit(self, batch: list[_Waiting]) -> None:
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(batch))
        subs = [w.submission for w in batch]
        try:
            outcomes: list[Admitted | BaseException] = list(admit(self.ctx, subs))
        except Exception:  # the database failed the whole batch: find whose fault, alone
            log.warning("admission batch of %d failed; admitting one by one", len(batch),
                        exc_info=True)
            outcomes = [_admit_alone(self.ctx, sub) for sub in subs]
        for waiting, outcome in zip(batch, outcomes, strict=True):
            waiting.loop.call_soon_threadsafe(_resolve, waiting.future, outcome)


def _admit_alone(ctx: ServiceContext, submission: Submission) -> Admitted | BaseException:
    """One submission in a transaction of its own: its failure is its own. A value the
    database refuses (out of its range) is this submission's bad input (422); any other
    database failure stays a server error, but for this submission only."""
    try:
        return admit(ctx, [submission])[0]
    except StoredValueError:
        return InputError("a value of this job is out of the range the database can store")
    except Exception as exc:
        log.exception("admission of one submission failed")
        return exc


def _resolve(future: asyncio.Future[Admitted], outcome: Admitted | BaseException) -> None:
    if future.done():  # the client went away and the request was cancelled
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
