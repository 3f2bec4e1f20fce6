"""Output control end to end on the local backend: a job reads a licensed dataset through the
gateway; a log that prints a record is withheld from the tenant and shown to the provider, a
log of losses is released, and under a redact offer the record is replaced by the marker.

Real services, runner, isolation, gateway and job processes; SQLite and PostgreSQL."""

from __future__ import annotations

import shlex
import sys
from datetime import timedelta

import pytest

from aicenter.domain.job import JobStatus
from aicenter.exchange.licence import AccessDeniedError
from aicenter.exchange.output_check import MARKER
from aicenter.policy import PermissionDeniedError
from aicenter.services import job as job_svc
from aicenter.services import licence as licence_svc
from aicenter.services import output_release
from aicenter.services.errors import ConflictError
from tests.services.test_exchange_flow import ARTICLES, _spec
from tests.services.test_exchange_flow import exchange as exchange
from tests.services.test_job_flow import run_until

PRINTS_RECORD = """
from aicenter.exchange.reader import open_dataset
texts = list(open_dataset('daily-news'))
print('step 1 loss 2.31', flush=True)
print(texts[3], flush=True)
print('step 2 loss 2.02', flush=True)
"""

PRINTS_LOSSES = """
from aicenter.exchange.reader import open_dataset
texts = list(open_dataset('daily-news'))
for step in range(50):
    print(f'step {step} loss {2.5 - step * 0.01:.4f} tokens {sum(len(t) for t in texts)}')
print('{"eval_loss": 1.93, "accuracy": 0.61}')
"""


def _run(ctx, member, code: str):  # type: ignore[no-untyped-def]
    command = shlex.join([sys.executable, "-c", code])
    job, _ = job_svc.submit(ctx, member, _spec(["daily-news"], command=command))
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    if done.status is not JobStatus.SUCCEEDED:  # the raw log, for the failure message only
        from aicenter.backends import RunHandle

        raw = ctx.backend.read_log(RunHandle.parse(done.handle)).data.decode()
        raise AssertionError(f"{done.message}: {raw}")
    return job.id


def test_a_job_printing_a_record_is_withheld_and_shown_to_the_provider(exchange) -> None:  # type: ignore[no-untyped-def]
    ctx, member, provider, _dataset, offer = exchange
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    job_id = _run(ctx, member, PRINTS_RECORD)
    with pytest.raises(AccessDeniedError, match="withheld: the log reproduces licensed "
                       "records of dataset daily-news; the provider reviews it"):
        job_svc.logs(ctx, member, job_id)
    assert [r.job_id for r in output_release.list_withheld(ctx, member)] == []
    with pytest.raises(PermissionDeniedError, match="may not review the withheld output"):
        output_release.withheld_output(ctx, member, job_id)  # the tenant is no reviewer
    review = output_release.withheld_output(ctx, provider, job_id)
    assert ARTICLES[3]["text"] in review.files["log"]
    assert review.release.findings and review.release.findings[0]["file"] == "log"
    assert [r.job_id for r in output_release.list_withheld(ctx, provider)] == [job_id]


def test_a_job_printing_losses_is_released(exchange) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _provider, _dataset, offer = exchange
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    job_id = _run(ctx, member, PRINTS_LOSSES)
    log = job_svc.logs(ctx, member, job_id).text
    assert "step 49 loss 2.0100" in log and '"eval_loss": 1.93' in log
    with ctx.db.transaction(write=False) as tx:
        from aicenter.storage.repositories.output_release import OutputReleaseRepository

        release = OutputReleaseRepository(tx.conn).get(job_id)
    assert release is not None and release.verdict == "released"
    assert release.checked_bytes == len(log.encode())


def test_a_redact_offer_replaces_the_record_by_the_marker(exchange) -> None:  # type: ignore[no-untyped-def]
    ctx, member, provider, dataset, _offer = exchange
    today = ctx.clock.now().date()
    redacting = licence_svc.create_offer(ctx, provider, dataset.id, {
        "purposes": ["pre-training"], "term_start": str(today - timedelta(days=1)),
        "term_end": str(today + timedelta(days=365)), "territory": ["KR"],
        "price": {"basis": "per-million-tokens", "amount": "1000000"},
        "output_policy": "redact"})
    licence_svc.accept(ctx, member, redacting.id, "pre-training")
    job_id = _run(ctx, member, PRINTS_RECORD)
    log = job_svc.logs(ctx, member, job_id).text
    assert log.splitlines() == ["step 1 loss 2.31", MARKER, "step 2 loss 2.02"]
    assert output_release.list_withheld(ctx, provider) == []


def test_the_log_of_a_running_data_job_is_not_released(exchange) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _provider, _dataset, offer = exchange
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    job, _ = job_svc.submit(ctx, member, _spec(["daily-news"], command="sleep 5"))
    run_until(ctx, job.id, {JobStatus.RUNNING})
    with pytest.raises(ConflictError, match="released when it has ended"):
        job_svc.logs(ctx, member, job.id)
    job_svc.cancel(ctx, member, job.id)
    run_until(ctx, job.id, {JobStatus.CANCELLED})
