"""Jobs that read licensed data get no network (``job_network``), end to end on the local
backend: the service decides from the job's datasets and the setting, the wrapper cuts the
network, the gateway's Unix socket still serves, and what was read is billed as metered.

Real services, runner, isolation wrapper, gateway and job processes; a real TCP server of the
test on the host's 127.0.0.1 and the machine's PostgreSQL port."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from aicenter.domain.errors import InputError
from aicenter.domain.job import JobStatus, parse_job_spec
from aicenter.exchange.meter import read_log, usage_by_job_dataset
from aicenter.exchange.royalty import DATA_RECORDS, DATA_TOKENS, read_account
from aicenter.server.runtime import attach_backend
from aicenter.services import job as job_svc
from aicenter.services import licence as licence_svc
from aicenter.services import royalty as royalty_svc
from aicenter.services.dataset import no_network
from tests.services.test_exchange_flow import ARTICLES
from tests.services.test_exchange_flow import exchange as exchange
from tests.services.test_job_flow import run_until

CONNECT = """
import socket, sys
for name, port in (('test-server', int(sys.argv[1])), ('postgres', 5432)):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=5):
            print(name, 'CONNECTED', flush=True)
    except OSError as exc:
        print(name, 'refused:', exc, flush=True)
"""

HONEST = """
from aicenter.exchange.reader import open_dataset
reader = open_dataset('daily-news')
texts = list(reader)
print('read', len(texts), 'records', sum(e.tokens for e in reader.events), 'tokens', flush=True)
"""


def _submit(ctx, member, tmp_path: Path, port: int, datasets: list[str]  # type: ignore[no-untyped-def]
            ) -> tuple[str, JobStatus, str, str]:
    """A job that tries the test's server and PostgreSQL, then (with datasets) reads honestly.
    Its scripts are in its command (``python -c``): a job without network has a private /tmp,
    and a spec's workdir may only be inside the job's own area."""
    command = f"{sys.executable} -c {shlex.quote(CONNECT)} {port}"
    if datasets:
        command += f"; {sys.executable} -c {shlex.quote(HONEST)}"
    spec = parse_job_spec(json.dumps({
        "name": "net", "command": command, "max_duration": "60s",
        "resources": [{"chip": "nvidia-h100-sxm", "count": 1}], "datasets": datasets,
        "purpose": "pre-training"}))
    job, _ = job_svc.submit(ctx, member, spec)
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    return job.id, done.status, job_svc.logs(ctx, member, job.id).text, done.message


def test_data_job_has_no_network_but_reads_through_the_gateway_and_is_billed_as_metered(
        exchange, tmp_path: Path, tcp_server: int) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _provider, _dataset, offer = exchange
    assert ctx.settings.job_network == "isolated-for-data"  # the default
    assert ctx.backend.isolated and ctx.backend.network_note is None
    agreement = licence_svc.accept(ctx, member, offer.id, "pre-training")
    job_id, status, log, message = _submit(ctx, member, tmp_path, tcp_server, ["daily-news"])
    assert status is JobStatus.SUCCEEDED, log
    assert "CONNECTED" not in log and "network" not in message, log
    assert "test-server refused: [Errno 111] Connection refused" in log \
        or "test-server refused: [Errno 101] Network is unreachable" in log, log
    assert "postgres refused: [Errno 1" in log, log  # 111 refused or 101 unreachable
    meters = read_log(royalty_svc.meter_log_path(ctx, job_id)).meters
    metered = usage_by_job_dataset(meters)[(job_id, "daily-news")]
    assert metered.records == len(ARTICLES)
    assert f"read {len(ARTICLES)} records {metered.tokens} tokens" in log
    with ctx.db.transaction(write=False) as tx:
        booked = (tx.ledger.balance(read_account(agreement.id), DATA_RECORDS),
                  tx.ledger.balance(read_account(agreement.id), DATA_TOKENS))
        receivable = tx.ledger.flow(f"receivable:{member.org_id}", "KRW", "royalty")
    assert booked == (metered.records, metered.tokens)
    assert receivable == metered.tokens > 0  # 1 KRW per token: billed use = metered use


def test_every_contained_job_has_no_network_by_default(
        exchange, tmp_path: Path, tcp_server: int) -> None:  # type: ignore[no-untyped-def]
    """A contained job without datasets gets only its own loopback too (``job_egress``
    'none', the default): the host's 127.0.0.1 and PostgreSQL are out of reach."""
    ctx, member, _provider, _dataset, _offer = exchange
    assert ctx.backend.contained and ctx.settings.job_egress == "none"
    _id, status, log, _message = _submit(ctx, member, tmp_path, tcp_server, [])
    assert status is JobStatus.SUCCEEDED, log
    assert "test-server refused" in log and "CONNECTED" not in log, log


def test_weak_box_job_without_datasets_keeps_the_network(
        exchange, tmp_path: Path, tcp_server: int) -> None:  # type: ignore[no-untyped-def]
    """The weak box (operator's consent) keeps ``job_network``: 'isolated-for-data' leaves a
    job without datasets on the host network, 'isolated' cuts it."""
    ctx, member, _provider, _dataset, _offer = exchange
    ctx.settings.job_uid_range = "200000-200000"
    ctx.settings.unsafe_allow_weak_isolation = True
    from dataclasses import replace

    from aicenter.backends.local import LocalBackend
    from aicenter.server.runtime import job_isolation

    isolation = replace(job_isolation(ctx.settings), uid_range=None)
    ctx.backend = LocalBackend(ctx.settings.home / "runs" / "weak", {"nvidia-h100-sxm": 8},
                               isolation)
    _id, status, log, _message = _submit(ctx, member, tmp_path, tcp_server, [])
    assert status is JobStatus.SUCCEEDED, log
    assert "test-server CONNECTED" in log, log
    ctx.settings.job_network = "isolated"
    _id, status, log, _message = _submit(ctx, member, tmp_path, tcp_server, [])
    assert status is JobStatus.SUCCEEDED, log
    assert "test-server refused" in log and "CONNECTED" not in log, log


def test_isolation_off_says_the_data_job_had_the_network(
        exchange, tmp_path: Path, tcp_server: int) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _provider, _dataset, offer = exchange
    ctx.settings.job_isolation = "none"
    ctx.settings.unsafe_allow_weak_isolation = True
    attach_backend(ctx)
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    _id, status, log, message = _submit(ctx, member, tmp_path, tcp_server, ["daily-news"])
    assert status is JobStatus.SUCCEEDED, log
    assert "test-server CONNECTED" in log  # never pretended
    assert "ran WITH the host's network" in log.splitlines()[0]
    assert "ran WITH the host's network" in message


@pytest.mark.parametrize(("setting", "datasets", "cut"), [
    ("isolated-for-data", True, True), ("isolated-for-data", False, False),
    ("isolated", True, True), ("isolated", False, True),
    ("host", True, False), ("host", False, False)])
def test_who_gets_no_network(setting: str, datasets: bool, cut: bool) -> None:
    assert no_network(setting, datasets) is cut


def test_an_unknown_network_setting_is_named() -> None:
    with pytest.raises(InputError, match="job_network must be"):
        no_network("none", True)
