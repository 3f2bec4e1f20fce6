from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import astuple
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from aicenter.domain.units import Money
from aicenter.exchange.licence import (
    AccessDeniedError,
    Agreement,
    LicenceOffer,
    ModelRelease,
    Price,
    PriceBasis,
    Purpose,
    accept_offer,
)
from aicenter.exchange.meter import (
    MeterEvent,
    append_events,
    iter_log,
    merge_into,
    read_log,
    usage_by_job_dataset,
)
from aicenter.exchange.reader import (
    Grant,
    ReaderContext,
    issue_grant,
    metered_size,
    open_dataset,
    reader_env,
    write_grant,
)
from aicenter.exchange.stats import estimated_tokens
from aicenter.exchange.store import DatasetStore, Manifest, StoredRecord

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TEXTS = [f"{i}번째 기사: 국가 AI 컴퓨팅 센터가 문을 열었다. Record {i} in English."
         for i in range(50)]


def build_store(root: Path, dataset: str = "news-2025", provider: str = "prov-daily"
                ) -> tuple[Manifest, Path]:
    store = DatasetStore(root)
    parts = [store.write_part([StoredRecord(t, source=f"https://news.example/{i}")
                               for i, t in enumerate(TEXTS[:30])]),
             store.write_part([StoredRecord(t) for t in TEXTS[30:]])]
    manifest = Manifest(dataset, provider, parts, licence="licensed")
    return manifest, store.save_manifest(manifest)


def agreement(org: str = "org-lab", purpose: Purpose = Purpose.PRE_TRAINING,
              territory: frozenset[str] = frozenset({"KR", "JP"})) -> Agreement:
    offer = LicenceOffer("off-1", "prov-daily", "news-2025", frozenset(Purpose), date(2026, 1, 1),
                         date(2026, 12, 31), territory, ModelRelease.INTERNAL_ONLY,
                         Price(PriceBasis.PER_GB, Money.of(100_000, "KRW")), agreement_days=60)
    return accept_offer(offer, agreement_id="agr-1", org_id=org, purpose=purpose,
                        at=T0 - timedelta(days=1))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def job(tmp_path: Path) -> Callable[..., tuple[ReaderContext, Path]]:
    """Admit a job (issue and write its grant) and return the reader context and meter log."""

    def make(*, pool_country: str = "KR", domestic: bool = False, clock: Clock | None = None,
             purpose: Purpose = Purpose.PRE_TRAINING) -> tuple[ReaderContext, Path]:
        manifest, manifest_path = build_store(tmp_path / "datasets")
        grant = issue_grant(job_id="job-1", org_id="org-lab", purpose=purpose,
                            pool_country=pool_country, when=T0, manifests=[manifest],
                            domestic={"news-2025": domestic}, agreements=[agreement()])
        write_grant(tmp_path / "run" / "grant.json", grant)
        meter_log = tmp_path / "run" / "meter.jsonl"
        env = reader_env(job_id="job-1", purpose=purpose, manifest_paths=[manifest_path],
                         grant_path=tmp_path / "run" / "grant.json", meter_log=meter_log)
        return ReaderContext.from_env(env, clock or Clock(T0)), meter_log

    return make


def test_reads_every_record_and_meters_it_exactly(job: Callable[..., tuple[ReaderContext, Path]]
                                                  ) -> None:
    ctx, log = job()
    reader = open_dataset("news-2025", context=ctx, batch_records=16)
    assert list(reader) == TEXTS
    events = read_log(log).meters
    assert [e.records for e in events] == [16, 16, 16, 2]
    assert [e.seq for e in events] == [1, 2, 3, 4]
    totals = usage_by_job_dataset(events)[("job-1", "news-2025")]
    assert totals.records == 50
    assert totals.bytes == sum(len(t.encode()) for t in TEXTS)
    assert totals.tokens == sum(round(estimated_tokens(t)) for t in TEXTS)
    assert {e.agreement_id for e in events} == {"agr-1"}


def test_each_batch_is_on_disk_before_the_job_sees_it(
        job: Callable[..., tuple[ReaderContext, Path]]) -> None:
    ctx, log = job()
    seen = 0
    for batch in open_dataset("news-2025", context=ctx, batch_records=7).batches():
        seen += len(batch)
        assert sum(e.records for e in read_log(log).meters) == seen
    records = list(open_dataset("news-2025", context=ctx).records())
    assert records[0].source == "https://news.example/0"


def test_job_without_an_agreement_cannot_read_a_byte(tmp_path: Path) -> None:
    manifest, manifest_path = build_store(tmp_path / "datasets")
    with pytest.raises(AccessDeniedError, match="no-agreement"):
        issue_grant(job_id="job-1", org_id="org-other", purpose=Purpose.PRE_TRAINING,
                    pool_country="KR", when=T0, manifests=[manifest], domestic={},
                    agreements=[agreement()])
    # launched anyway, without a grant: the reader refuses before opening any file
    env = {"AICENTER_JOB_ID": "job-1", "AICENTER_DATASET_MANIFESTS": str(manifest_path),
           "AICENTER_DATA_PURPOSE": "pre-training",
           "AICENTER_METER_LOG": str(tmp_path / "m.jsonl")}
    with pytest.raises(AccessDeniedError, match="no data grant"):
        ReaderContext.from_env(env)
    with pytest.raises(AccessDeniedError, match="no data grant at"):
        ReaderContext.from_env({**env, "AICENTER_DATA_GRANT": str(tmp_path / "missing.json")})
    assert not (tmp_path / "m.jsonl").exists()


def test_domestic_dataset_cannot_be_read_from_a_foreign_pool(
        tmp_path: Path, job: Callable[..., tuple[ReaderContext, Path]]) -> None:
    manifest, _ = build_store(tmp_path / "other")
    with pytest.raises(AccessDeniedError, match="domestic-only"):
        issue_grant(job_id="job-1", org_id="org-lab", purpose=Purpose.PRE_TRAINING,
                    pool_country="JP", when=T0, manifests=[manifest],
                    domestic={"news-2025": True}, agreements=[agreement()])
    # a grant that says otherwise (edited, or issued by a buggy service) is refused too
    ctx, log = job(pool_country="JP", domestic=False)
    data = ctx.grant.to_dict()
    data["datasets"][0]["domestic"] = True
    forged = ReaderContext(ctx.job_id, ctx.purpose, ctx.manifest_paths,
                           Grant.from_dict(data, "grant.json"), ctx.meter_log, ctx.clock)
    with pytest.raises(AccessDeniedError, match="tagged domestic"):
        open_dataset("news-2025", context=forged)
    assert not log.exists()
    # the same dataset on a domestic pool reads
    ctx_kr, _ = job(pool_country="KR", domestic=True)
    assert len(list(open_dataset("news-2025", context=ctx_kr))) == 50


def test_refusals_for_job_purpose_dataset_and_expiry(
        job: Callable[..., tuple[ReaderContext, Path]]) -> None:
    ctx, log = job()
    other_job = ReaderContext("job-2", ctx.purpose, ctx.manifest_paths, ctx.grant,
                              ctx.meter_log, ctx.clock)
    with pytest.raises(AccessDeniedError, match="for job job-1, not job-2"):
        open_dataset("news-2025", context=other_job)
    other_purpose = ReaderContext(ctx.job_id, Purpose.RETRIEVAL, ctx.manifest_paths,
                                  ctx.grant, ctx.meter_log, ctx.clock)
    with pytest.raises(AccessDeniedError, match="for pre-training, not retrieval"):
        open_dataset("news-2025", context=other_purpose)
    with pytest.raises(AccessDeniedError, match="no grant for dataset web-2024"):
        open_dataset("web-2024", context=ctx)
    late = ReaderContext(ctx.job_id, ctx.purpose, ctx.manifest_paths, ctx.grant,
                         ctx.meter_log, Clock(ctx.grant.valid_until))
    with pytest.raises(AccessDeniedError, match="is valid from"):
        open_dataset("news-2025", context=late)
    no_manifest = ReaderContext(ctx.job_id, ctx.purpose, (), ctx.grant, ctx.meter_log,
                                ctx.clock)
    with pytest.raises(AccessDeniedError, match="no manifest"):
        open_dataset("news-2025", context=no_manifest)
    assert not log.exists()


def test_grant_expiring_mid_read_stops_the_reader(
        job: Callable[..., tuple[ReaderContext, Path]]) -> None:
    clock = Clock(T0)
    ctx, log = job(clock=clock)
    assert ctx.grant.valid_until == T0 + timedelta(days=59)  # the agreement's 60 days
    batches = open_dataset("news-2025", context=ctx, batch_records=10).batches()
    assert len(next(batches)) == 10
    clock.now = ctx.grant.valid_until
    with pytest.raises(AccessDeniedError, match="expired"):
        next(batches)
    assert sum(e.records for e in read_log(log).meters) == 10


def test_log_rereads_and_merges_never_double_count(
        tmp_path: Path, job: Callable[..., tuple[ReaderContext, Path]]) -> None:
    ctx, log = job()
    list(open_dataset("news-2025", context=ctx, batch_records=20))
    events = read_log(log).meters
    append_events(log, events[:2])  # the same events again (a retried copy)
    assert read_log(log).meters == events
    audit = tmp_path / "audit.jsonl"
    assert merge_into(audit, log) == 3
    size = audit.stat().st_size
    assert merge_into(audit, log) == 0 and audit.stat().st_size == size
    assert read_log(audit).meters == events
    # Incremental: only what the source gained is read and appended.
    later = MeterEvent("late-writer", 1, *astuple(events[0])[2:])
    append_events(log, [later])
    assert merge_into(audit, log) == 1 and read_log(audit).meters == (*events, later)
    # A crash after the append but before the offsets were saved: merged again, counted once.
    audit.with_name(audit.name + ".merged.json").unlink()
    assert merge_into(audit, log) == 4
    assert read_log(audit).meters == (*events, later)


def test_torn_last_line_is_ignored_and_the_log_continues(
        job: Callable[..., tuple[ReaderContext, Path]]) -> None:
    ctx, log = job()
    reader = open_dataset("news-2025", context=ctx, batch_records=25)
    batches = reader.batches()
    next(batches)
    with log.open("ab") as f:  # a crash in the middle of a write
        f.write(b'{"kind": "meter", "writer": "x", "se')
    assert len(read_log(log).meters) == 1
    next(batches)
    events = read_log(log).meters
    assert [e.records for e in events] == [25, 25]
    assert len(list(iter_log(log))) == 2


def test_a_job_process_reads_through_the_environment(
        tmp_path: Path, job: Callable[..., tuple[ReaderContext, Path]]) -> None:
    ctx, log = job()
    now = datetime.now(UTC)
    # a grant valid now, for the real clock of the child process
    grant = Grant(ctx.grant.job_id, ctx.grant.purpose, "KR", now - timedelta(minutes=1),
                  now + timedelta(hours=1), ctx.grant.datasets)
    write_grant(tmp_path / "run" / "grant.json", grant)
    env = {**os.environ, **reader_env(job_id="job-1", purpose=Purpose.PRE_TRAINING,
                                      manifest_paths=ctx.manifest_paths,
                                      grant_path=tmp_path / "run" / "grant.json",
                                      meter_log=log)}
    code = ("from aicenter.exchange.reader import open_dataset\n"
            "print(sum(1 for _ in open_dataset('news-2025')))\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "50"
    assert sum(e.records for e in read_log(log).meters) == 50
    env.pop("AICENTER_DATA_GRANT")
    failed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True)
    assert failed.returncode != 0 and "AccessDeniedError" in failed.stderr
    assert json.loads(log.read_text().splitlines()[0])["job_id"] == "job-1"


def test_bad_grant_file_names_the_field(tmp_path: Path) -> None:
    from aicenter.domain.errors import InputError

    grant = {"job_id": "j", "purpose": "pre-training", "pool_country": "KR",
             "issued_at": "2026-03-01T00:00:00", "valid_until": "2026-04-01T00:00:00+00:00",
             "datasets": []}
    with pytest.raises(InputError, match="field 'issued_at': must carry a timezone"):
        Grant.from_dict(grant, "grant.json")
    del grant["pool_country"]
    with pytest.raises(InputError, match=r"grant\.json: field 'pool_country': missing"):
        Grant.from_dict(grant, "grant.json")


@given(st.text(alphabet=st.one_of(st.characters(codec="utf-8"),  # and around Hangul:
                                  st.characters(min_codepoint=0xA000, max_codepoint=0xD7FF)),
               max_size=300))
@example("가힣\uac00\ud7a3\ud7a4\ud7b0\ud7ff\ua000\uabff갂 ascii é 中文 😀")
def test_metered_size_is_the_stats_estimate(text: str) -> None:
    assert metered_size(text) == (len(text.encode()), round(estimated_tokens(text)))


def _child_env(tmp_path: Path, ctx: ReaderContext, log: Path) -> dict[str, str]:
    now = datetime.now(UTC)
    grant = Grant(ctx.grant.job_id, ctx.grant.purpose, "KR", now - timedelta(minutes=1),
                  now + timedelta(hours=1), ctx.grant.datasets)
    write_grant(tmp_path / "run" / "grant.json", grant)
    return {**os.environ, **reader_env(job_id="job-1", purpose=Purpose.PRE_TRAINING,
                                       manifest_paths=ctx.manifest_paths,
                                       grant_path=tmp_path / "run" / "grant.json",
                                       meter_log=log)}


def test_killed_reader_leaves_every_handed_out_record_metered(
        tmp_path: Path, job: Callable[..., tuple[ReaderContext, Path]]) -> None:
    ctx, log = job()
    code = ("import sys, time\n"
            "from aicenter.exchange.reader import open_dataset\n"
            "for i in range(1000):\n"
            "    for batch in open_dataset('news-2025', batch_records=3).batches():\n"
            "        print(len(batch), flush=True)\n"
            "        time.sleep(0.002)\n")
    child = subprocess.Popen([sys.executable, "-c", code], env=_child_env(tmp_path, ctx, log),
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    handed_out = 0
    for line in child.stdout:
        handed_out += int(line)
        if handed_out >= 200:
            child.kill()  # SIGKILL in the middle of reading
            break
    handed_out += sum(int(line) for line in child.stdout)  # printed before it died
    child.wait()
    metered = sum(e.records for e in read_log(log).meters)
    # each batch is on disk before the job sees it; at most the one batch being handed out
    # when the job died is metered without having been used
    assert handed_out >= 200
    assert handed_out <= metered <= handed_out + 3


def test_two_processes_append_to_one_meter_log(
        tmp_path: Path, job: Callable[..., tuple[ReaderContext, Path]]) -> None:
    ctx, log = job()
    env = _child_env(tmp_path, ctx, log)
    code = ("from aicenter.exchange.reader import open_dataset\n"
            "for _ in range(20):\n"
            "    sum(1 for _ in open_dataset('news-2025', batch_records=1))\n")
    children = [subprocess.Popen([sys.executable, "-c", code], env=env) for _ in range(2)]
    assert [c.wait() for c in children] == [0, 0]
    events = read_log(log).meters
    assert len(list(iter_log(log))) == len(events) == 2 * 20 * 50  # no torn or lost lines
    assert len({e.writer for e in events}) == 2
    assert sum(e.records for e in events) == 2000


def test_grant_admitted_by_the_chase_waiver_ends_with_the_waiver(tmp_path: Path) -> None:
    manifest, _ = build_store(tmp_path / "datasets")
    offer = LicenceOffer("off-c", "prov-daily", "news-2025", frozenset(Purpose),
                         date(2026, 1, 1), date(2026, 12, 31), frozenset({"KR"}),
                         ModelRelease.INTERNAL_ONLY,
                         Price(PriceBasis.PER_GB, Money.of(1, "KRW")), chase_waiver_days=7)
    chase = accept_offer(offer, agreement_id="agr-c", org_id="org-lab",
                         purpose=Purpose.FINE_TUNING, at=T0, chase_team=True)
    waived = issue_grant(job_id="job-1", org_id="org-lab", purpose=Purpose.EVALUATION,
                         pool_country="KR", when=T0, manifests=[manifest], domestic={},
                         agreements=[chase])
    assert waived.valid_until == T0 + timedelta(days=7)
    own = issue_grant(job_id="job-1", org_id="org-lab", purpose=Purpose.FINE_TUNING,
                      pool_country="KR", when=T0, manifests=[manifest], domestic={},
                      agreements=[chase])
    assert own.valid_until == datetime(2027, 1, 1, tzinfo=UTC)


def test_a_grant_shortened_mid_read_stops_the_reader(
        job: Callable[..., tuple[ReaderContext, Path]], tmp_path: Path) -> None:
    """The center shortens a running job's grant when its agreement is terminated: the next
    batch is refused and nothing more is metered."""
    clock = Clock(T0 + timedelta(hours=1))
    ctx, log = job(clock=clock)
    batches = open_dataset("news-2025", context=ctx, batch_records=10).batches()
    assert len(next(batches)) == 10
    grant_file = tmp_path / "run" / "grant.json"
    data = json.loads(grant_file.read_text(encoding="utf-8"))
    data["valid_until"] = (T0 + timedelta(minutes=30)).isoformat()
    grant_file.write_text(json.dumps(data), encoding="utf-8")
    os.utime(grant_file, ns=(1, 1))  # a new mtime, also on file systems with coarse stamps
    with pytest.raises(AccessDeniedError, match="expired"):
        next(batches)
    assert sum(e.records for e in read_log(log).meters) == 10
    with pytest.raises(AccessDeniedError, match="valid from"):
        open_dataset("news-2025", context=ctx)
