"""The data gateway: the center's reader in a process of its own, serving one job's reads on
a Unix socket, metering every batch itself before sending it."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aicenter.domain.units import Money
from aicenter.exchange.gateway import (
    DataGateway,
    GatewayConfig,
    command,
    token_digest,
    write_config,
)
from aicenter.exchange.gateway_client import ENV_SOCKET, ENV_TOKEN, open_via_gateway
from aicenter.exchange.licence import (
    AccessDeniedError,
    LicenceOffer,
    ModelRelease,
    Price,
    PriceBasis,
    Purpose,
    accept_offer,
)
from aicenter.exchange.meter import read_log, usage_by_job_dataset
from aicenter.exchange.reader import issue_grant, metered_size, reader_env, write_grant
from tests.exchange.test_reader import TEXTS, build_store

TOKEN = "capability-" + "x" * 40


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _config(tmp_path: Path, *, when: datetime, pool_country: str = "KR",
            domestic: bool = False) -> tuple[GatewayConfig, Path]:
    """A job admitted at ``when`` under a 60-day agreement; its gateway config and meter log."""
    manifest, manifest_path = build_store(tmp_path / "datasets")
    offer = LicenceOffer("off-1", "prov-daily", "news-2025", frozenset(Purpose),
                         when.date() - timedelta(days=10), when.date() + timedelta(days=300),
                         frozenset({"KR"}), ModelRelease.INTERNAL_ONLY,
                         Price(PriceBasis.PER_GB, Money.of(100_000, "KRW")), agreement_days=60)
    agreement = accept_offer(offer, agreement_id="agr-1", org_id="org-lab",
                             purpose=Purpose.PRE_TRAINING, at=when - timedelta(hours=1))
    grant = issue_grant(job_id="job-1", org_id="org-lab", purpose=Purpose.PRE_TRAINING,
                        pool_country="KR", when=when, manifests=[manifest],
                        domestic={"news-2025": domestic}, agreements=[agreement])
    if pool_country != "KR":  # placed abroad after admission (a stale or forged grant)
        grant = type(grant)(**{**{f: getattr(grant, f) for f in grant.__slots__},
                               "pool_country": pool_country})
    write_grant(tmp_path / "home" / "grant.json", grant)
    meter_log = tmp_path / "home" / "meter.jsonl"
    env = reader_env(job_id="job-1", purpose=Purpose.PRE_TRAINING, manifest_paths=[manifest_path],
                     grant_path=tmp_path / "home" / "grant.json", meter_log=meter_log)
    return GatewayConfig(env, tmp_path / "sock" / "job-1.sock", token_digest(TOKEN)), meter_log


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Callable[..., tuple[dict[str, str], Path]]]:
    """Run a gateway in a thread of this process (its clock injected); yields a starter."""
    running: list[tuple[DataGateway, threading.Thread]] = []

    def start(clock: Clock | None = None, **kw: object) -> tuple[dict[str, str], Path]:
        clock = clock or Clock(datetime(2026, 3, 10, 12, tzinfo=UTC))
        config, log = _config(tmp_path, when=clock.now, **kw)  # type: ignore[arg-type]
        gateway = DataGateway(config, clock)
        gateway.listen()
        thread = threading.Thread(target=gateway.serve, daemon=True)
        thread.start()
        running.append((gateway, thread))
        return {ENV_SOCKET: str(config.socket_path), ENV_TOKEN: TOKEN}, log

    yield start
    for gateway, thread in running:
        gateway.stop()
        thread.join(timeout=5)


def test_reads_every_record_and_the_job_sees_what_was_metered(served) -> None:  # type: ignore[no-untyped-def]
    env, log = served()
    reader = open_via_gateway("news-2025", env, 16)
    assert reader.records_total == len(TEXTS)
    records = list(reader.records())
    assert [r.text for r in records] == TEXTS and records[0].source == "https://news.example/0"
    events = read_log(log).meters
    assert [e.records for e in events] == [16, 16, 16, 2]
    assert reader.events == list(events)  # the job is told exactly what it was billed
    totals = usage_by_job_dataset(events)[("job-1", "news-2025")]
    assert (totals.bytes, totals.tokens) == tuple(map(sum, zip(*map(metered_size, TEXTS),
                                                               strict=True)))


def test_a_batch_is_metered_only_when_asked_for_and_before_it_is_sent(served) -> None:  # type: ignore[no-untyped-def]
    env, log = served()
    batches = open_via_gateway("news-2025", env, 7).batches()
    assert not log.exists()  # opening reads nothing
    assert len(next(batches)) == 7
    assert sum(e.records for e in read_log(log).meters) == 7
    batches.close()  # the job stops early: nothing more is metered
    time.sleep(0.2)
    assert sum(e.records for e in read_log(log).meters) == 7


def test_wrong_token_ungranted_dataset_and_domestic_abroad_read_nothing(served) -> None:  # type: ignore[no-untyped-def]
    env, log = served()
    with pytest.raises(AccessDeniedError, match="wrong token"):
        open_via_gateway("news-2025", {**env, ENV_TOKEN: "guessed"}, 16)
    with pytest.raises(AccessDeniedError, match="no grant for dataset other"):
        open_via_gateway("other", env, 16)
    assert not log.exists()


def test_domestic_dataset_is_refused_on_a_foreign_pool(served) -> None:  # type: ignore[no-untyped-def]
    env, log = served(pool_country="US", domestic=True)
    with pytest.raises(AccessDeniedError, match="tagged domestic"):
        open_via_gateway("news-2025", env, 16)
    assert not log.exists()


def test_grant_expiring_mid_read_stops_the_stream(served) -> None:  # type: ignore[no-untyped-def]
    clock = Clock(datetime(2026, 3, 10, 12, tzinfo=UTC))
    env, log = served(clock)
    batches = open_via_gateway("news-2025", env, 10).batches()
    assert len(next(batches)) == 10
    clock.now += timedelta(days=60)
    with pytest.raises(AccessDeniedError, match="expired"):
        next(batches)
    assert sum(e.records for e in read_log(log).meters) == 10


def test_concurrent_readers_of_one_job_share_one_numbered_log(served) -> None:  # type: ignore[no-untyped-def]
    env, log = served()
    counts: list[int] = []
    threads = [threading.Thread(target=lambda: counts.append(
        sum(1 for _ in open_via_gateway("news-2025", env, 3)))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts == [len(TEXTS)] * 4
    events = read_log(log).meters
    assert sorted(e.seq for e in events) == list(range(1, len(events) + 1))
    assert sum(e.records for e in events) == 4 * len(TEXTS)


def _start_process(tmp_path: Path) -> tuple[subprocess.Popen[bytes], dict[str, str], Path]:
    config, log = _config(tmp_path, when=datetime.now(UTC))
    path = tmp_path / "home" / "gateway.json"
    write_config(path, config)
    return _serve(path), {ENV_SOCKET: str(config.socket_path), ENV_TOKEN: TOKEN}, log


def _serve(path: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    return process


def test_gateway_process_serves_then_stops_on_sigterm(tmp_path: Path) -> None:
    process, env, log = _start_process(tmp_path)
    socket_path = Path(env[ENV_SOCKET])  # its directory's group may connect, nobody else
    assert socket_path.stat().st_mode & 0o777 == 0o660
    assert socket_path.stat().st_gid == socket_path.parent.stat().st_gid
    assert sum(1 for _ in open_via_gateway("news-2025", env, 1000)) == len(TEXTS)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert not Path(env[ENV_SOCKET]).exists()
    assert not (tmp_path / "home" / "gateway.json").exists()  # a clean end removes the config
    assert sum(e.records for e in read_log(log).meters) == len(TEXTS)


def test_a_crashed_gateway_keeps_its_config_and_a_restart_meters_on(tmp_path: Path) -> None:
    """What the local runner does when the gateway dies mid-job: start it again with the same
    config; reads after the restart work and the meter log counts both gateways' batches."""
    process, env, log = _start_process(tmp_path)
    assert sum(1 for _ in open_via_gateway("news-2025", env, 1000)) == len(TEXTS)
    process.kill()
    process.wait(timeout=10)
    path = tmp_path / "home" / "gateway.json"
    assert path.exists()
    again = _serve(path)
    try:
        assert sum(1 for _ in open_via_gateway("news-2025", env, 1000)) == len(TEXTS)
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=10)
    meters = read_log(log).meters
    assert sum(e.records for e in meters) == 2 * len(TEXTS)
    assert len({(e.writer, e.seq) for e in meters}) == len(meters)  # no event counted twice


def test_gateway_process_ends_when_its_runner_is_gone(tmp_path: Path) -> None:
    config, _log = _config(tmp_path, when=datetime.now(UTC))
    path = tmp_path / "home" / "gateway.json"
    write_config(path, config)
    argv = " ".join(command(path))
    # a stand-in runner: starts the gateway as the local runner does, then dies at once
    started = subprocess.run(
        ["/bin/sh", "-c", f"AICENTER_SIDECAR_PARENT=$$ {argv} >/dev/null & echo $!"],
        capture_output=True, text=True, timeout=30, check=True)
    pid = int(started.stdout)
    deadline = time.monotonic() + 20
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists()
    assert not config.socket_path.exists()


def test_bad_config_is_named_and_the_gateway_does_not_start(tmp_path: Path) -> None:
    path = tmp_path / "gateway.json"
    path.write_text('{"socket": "/tmp/x.sock"}')
    done = subprocess.run(command(path), capture_output=True, text=True, timeout=30,
                          check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert f"{path}: field 'reader_env': missing" in done.stderr
