"""Compute-to-data against a hostile job, end to end on the local backend: the job runs
isolated and reads only through the data gateway, which meters every batch itself.

Real server-side services, real runner, isolation wrapper, gateway and job processes."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from aicenter.domain.job import JobStatus
from aicenter.exchange.meter import read_log, usage_by_job_dataset
from aicenter.exchange.royalty import DATA_BYTES, DATA_RECORDS, DATA_TOKENS, read_account
from aicenter.server.runtime import attach_backend
from aicenter.services import job as job_svc
from aicenter.services import licence as licence_svc
from aicenter.services import royalty as royalty_svc
from aicenter.services.context import ServiceContext
from aicenter.services.dataset import store_of
from tests.services.test_exchange_flow import ARTICLES, _spec
from tests.services.test_exchange_flow import exchange as exchange
from tests.services.test_job_flow import run_until

HONEST = """
from aicenter.exchange.reader import open_dataset
reader = open_dataset('daily-news')
texts = list(reader)
print('read', len(texts), 'records', sum(e.records for e in reader.events),
      'tokens', sum(e.tokens for e in reader.events), flush=True)
"""

HOSTILE = """
import json, os, socket, sys
targets = json.loads(sys.argv[1])
job = os.environ['AICENTER_JOB_ID']
exchange = targets.pop('exchange')
targets['meter_log'] = f'{exchange}/meters/{job}.log'
targets['grant'] = f'{exchange}/grants/{job}.json'
for name, path in targets.items():
    try:
        with open(path, 'rb') as f:
            f.read(16)
        print('LEAK', name, path, flush=True)
    except OSError as exc:
        print('denied', name, type(exc).__name__, flush=True)
for name in ('meter_log', 'audit_log') if 'write' in sys.argv else ():  # forge/truncate
    try:
        with open(targets[name], 'a') as f:
            f.write('{}\\n')
        print('LEAK wrote', name, flush=True)
    except OSError as exc:
        print('denied write', name, type(exc).__name__, flush=True)
try:  # around the covers through a process outside the job's namespaces
    os.listdir('/proc/1/root' + os.path.dirname(targets['parquet']))
    print('LEAK /proc/1/root', flush=True)
except OSError as exc:
    print('denied /proc/1/root', type(exc).__name__, flush=True)
sock = os.environ.get('AICENTER_DATA_SOCKET')
if sock:  # the job's own socket with a guessed capability token
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(json.dumps({'token': 'guess', 'op': 'open', 'dataset': 'daily-news'}).encode()
              + b'\\n')
    print('wrong token:', s.recv(4096)[4:].decode(), flush=True)
"""


def _targets(ctx: ServiceContext) -> str:
    """Every private file a hostile job would like to open, by absolute path (the job adds
    its own meter log and grant, whose names hold its id), as JSON."""
    store = store_of(ctx)
    part = next(store.objects.rglob("*.parquet"))
    manifest = next((store.root / "manifests").rglob("*.json"))
    key = store.root / "keys" / "pseudonym.key"
    assert part.is_file() and manifest.is_file() and key.is_file()
    return json.dumps({
        "parquet": str(part), "manifest": str(manifest), "key": str(key),
        "audit_log": str(royalty_svc.audit_log_path(ctx)),
        "exchange": str(royalty_svc.exchange_dir(ctx))})


def _python(code: str, *args: str) -> str:
    """A shell command running ``code`` inline: a job reading data has a private /tmp, in
    which a script written to the test's tmp_path would not be."""
    return shlex.join([sys.executable, "-c", code, *args])


def _run(ctx: ServiceContext, member, tmp_path: Path, datasets: list[str], *,  # type: ignore[no-untyped-def]
         hostile: bool, writes: bool = True) -> tuple[str, JobStatus, str, str]:
    """Submit a job (hostile probe first, then the honest read), run it to its end; returns
    (job id, final status, log, job message)."""
    command = _python(HONEST)
    if hostile:
        command = f"{_python(HOSTILE, _targets(ctx), 'write' if writes else '')}; {command}"
    job, _ = job_svc.submit(ctx, member, _spec(datasets, command=command))
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    return job.id, done.status, job_svc.logs(ctx, member, job.id).text, done.message


def test_hostile_job_reads_only_through_the_gateway_and_is_billed_what_was_metered(
        exchange, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _provider, _dataset, offer = exchange
    assert ctx.backend.isolated, ctx.backend.isolation_note
    agreement = licence_svc.accept(ctx, member, offer.id, "pre-training")
    job_id, status, log, message = _run(ctx, member, tmp_path, ["daily-news"], hostile=True)
    assert status is JobStatus.SUCCEEDED, log
    assert "LEAK" not in log and "isolation" not in message, log
    for name in ("parquet", "manifest", "key", "audit_log", "meter_log", "grant"):
        assert f"denied {name} " in log, log
    assert "denied write meter_log" in log and "denied write audit_log" in log
    assert "denied /proc/1/root" in log
    assert "bad-capability" in log
    # the honest read in the same job: every record, metered by the gateway
    meters = read_log(royalty_svc.meter_log_path(ctx, job_id)).meters
    metered = usage_by_job_dataset(meters)[(job_id, "daily-news")]
    assert metered.records == len(ARTICLES)
    assert f"read {len(ARTICLES)} records {len(ARTICLES)} tokens {metered.tokens}" in log
    with ctx.db.transaction(write=False) as tx:
        booked = (tx.ledger.balance(read_account(agreement.id), DATA_RECORDS),
                  tx.ledger.balance(read_account(agreement.id), DATA_BYTES),
                  tx.ledger.balance(read_account(agreement.id), DATA_TOKENS))
        receivable = tx.ledger.flow(f"receivable:{member.org_id}", "KRW", "royalty")
    assert booked == (metered.records, metered.bytes, metered.tokens)
    assert receivable == metered.tokens > 0  # 1 KRW per token: billed use = metered use


def test_job_env_names_no_private_path(exchange, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _provider, _dataset, offer = exchange
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    dump = "import json, os; print('ENV', json.dumps(dict(os.environ)))"
    job, _ = job_svc.submit(ctx, member, _spec(["daily-news"], command=_python(dump)))
    run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    line = next(x for x in job_svc.logs(ctx, member, job.id).text.splitlines()
                if x.startswith("ENV "))
    env = json.loads(line[4:])
    assert env["AICENTER_DATA_SOCKET"] and len(env["AICENTER_DATA_TOKEN"]) >= 40
    home = str(ctx.settings.home)
    assert env["PWD"].endswith("/work") and env["HOME"] == env["PWD"]  # its own work dir
    assert not [k for k, v in env.items() if home in v and k not in ("PWD", "HOME")], env
    assert "AICENTER_DATA_GRANT" not in env and "AICENTER_METER_LOG" not in env


def test_job_without_agreement_gets_nothing(exchange, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _provider, _dataset, _offer = exchange
    job_id, status, log, message = _run(ctx, member, tmp_path, [], hostile=True)
    assert status is JobStatus.FAILED, log  # the honest read is refused: no grant
    assert message == "exit code 1"
    assert "no data grant" in log and "LEAK" not in log, log
    assert "denied parquet" in log and "denied key" in log
    assert not royalty_svc.meter_log_path(ctx, job_id).exists()


def test_isolation_off_is_said_in_the_log_and_the_message(exchange, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _provider, _dataset, offer = exchange
    ctx.settings.job_isolation = "none"
    ctx.settings.unsafe_allow_weak_isolation = True
    attach_backend(ctx)
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    job_id, status, log, message = _run(ctx, member, tmp_path, ["daily-news"], hostile=True,
                               writes=False)
    assert status is JobStatus.SUCCEEDED, log
    assert log.startswith("aicenter: job isolation is off"), log
    assert "WITHOUT isolation" in message
    assert "LEAK parquet" in log  # the truth: an unisolated job can open the store
    metered = usage_by_job_dataset(read_log(royalty_svc.meter_log_path(ctx, job_id)).meters)
    assert metered[(job_id, "daily-news")].records == len(ARTICLES)


def test_domestic_dataset_is_not_served_to_a_foreign_pool_grant(
        exchange, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Even with a gateway config written by hand for a foreign-pool grant, the gateway
    refuses the domestic dataset (the rule is re-checked where the records are)."""
    import threading

    from aicenter.exchange.gateway import DataGateway, GatewayConfig, token_digest
    from aicenter.exchange.gateway_client import open_via_gateway
    from aicenter.exchange.licence import AccessDeniedError
    from aicenter.exchange.reader import Grant, write_grant

    ctx, member, _provider, _dataset, offer = exchange
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    job, _ = job_svc.submit(ctx, member, _spec(["daily-news"]))
    from aicenter.services.dataset import launch_env

    env = launch_env(ctx, job, "KR")
    grant_file = Path(env["AICENTER_DATA_GRANT"])
    data = json.loads(grant_file.read_text())
    grant = Grant.from_dict({**data, "pool_country": "US"}, str(grant_file))
    write_grant(grant_file, grant)
    sock = tmp_path / "g.sock"
    gateway = DataGateway(GatewayConfig(env, sock, token_digest("t" * 43)))
    gateway.listen()
    thread = threading.Thread(target=gateway.serve, daemon=True)
    thread.start()
    try:
        with pytest.raises(AccessDeniedError, match="domestic"):
            open_via_gateway("daily-news", {"AICENTER_DATA_SOCKET": str(sock),
                                            "AICENTER_DATA_TOKEN": "t" * 43}, 8)
    finally:
        gateway.stop()
        thread.join(timeout=5)
    assert not royalty_svc.meter_log_path(ctx, job.id).exists()


NEIGHBOUR = """
import json, os, socket, sys, time
sockets, victim = sys.argv[1], sys.argv[2]
time.sleep(2)  # the licensed job's gateway is up by now
try:
    print('LEAK sees the sockets', os.listdir(sockets), flush=True)
except OSError as exc:
    print('denied listing', exc.errno, flush=True)
path = os.path.join(sockets, victim + '-1-0', 'gateway.sock')
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    print('LEAK connected to', path, flush=True)
except OSError as exc:
    print('denied connect', exc.errno, flush=True)
for attempt in (lambda: os.rename(path, path + '.mine'), lambda: os.unlink(path),
                lambda: open(path + '.fake', 'w')):
    try:
        attempt()
        print('LEAK replaced the socket', flush=True)
    except OSError as exc:
        print('denied', type(exc).__name__, flush=True)
"""


def test_a_job_without_agreement_cannot_use_or_replace_a_licensed_jobs_gateway(
        exchange, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Job B (no agreement, no datasets) runs next to licensed job A: A's socket is not even
    there for B (each job sees its own socket directory alone), so B can neither connect
    to it nor rename, remove or shadow it."""
    import time

    from aicenter.exchange.gateway import socket_dir
    from aicenter.services.scheduling import make_policy, run_round

    ctx, member, _provider, _dataset, offer = exchange
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    a, _ = job_svc.submit(ctx, member, _spec(
        ["daily-news"], command=f"sleep 3; {_python(HONEST)}"))
    b, _ = job_svc.submit(ctx, member, _spec(
        [], command=_python(NEIGHBOUR, str(socket_dir()), a.id)))
    policy = make_policy(ctx)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run_round(ctx, policy)
        with ctx.db.transaction(write=False) as tx:
            done = [tx.jobs.get(j.id) for j in (a, b)]
        if all(j.status.finished for j in done):
            break
        time.sleep(0.1)
    assert [j.status for j in done] == [JobStatus.SUCCEEDED] * 2, [j.message for j in done]
    log_b = job_svc.logs(ctx, member, b.id).text
    assert "denied listing 2" in log_b and "denied connect 2" in log_b, log_b  # ENOENT
    assert "LEAK" not in log_b and log_b.count("denied ") == 5, log_b
    assert f"read {len(ARTICLES)}" in job_svc.logs(ctx, member, a.id).text
    meters = read_log(royalty_svc.meter_log_path(ctx, a.id)).meters
    assert sum(m.records for m in meters) == len(ARTICLES)  # A's reads only, once
    assert not royalty_svc.meter_log_path(ctx, b.id).exists()
