"""Where ``POST /jobs`` hands its submissions.

The running server batches them (:class:`aicenter.server.batcher.AdmissionBatcher`, given to
:func:`aicenter.api.app.create_app`); an app built without one (tests, tools) admits each
submission alone in a worker thread. Both go through
:func:`aicenter.services.admission.admit`, so the rules and the errors are the same."""

from __future__ import annotations

from typing import Protocol

from starlette.concurrency import run_in_threadpool

from aicenter.services.admission import Admitted, Submission, admit
from aicenter.services.context import ServiceContext


class Admissions(Protocol):
    async def submit(self, submission: Submission) -> Admitted:
        """Admit one submission; raises its error."""
        ...

    def close(self) -> None:
        """Stop taking submissions (the app is shutting down)."""
        ...


class AdmitEach:
    """One submission, one transaction: what the batcher does when it is idle."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def submit(self, submission: Submission) -> Admitted:
        outcome = (await run_in_threadpool(admit, self.ctx, [submission]))[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def close(self) -> None:
        """Nothing to stop: no thread of its own."""
