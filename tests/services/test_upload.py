"""Uploads ingested in the background (SQLite and PostgreSQL): queued → succeeded with the
dataset version, a bad file fails with the reason and leaves nothing, only the provider's
people (and operators, auditors) see an upload, and an ingest killed with -9 halfway resumes
to the same dataset version as an uninterrupted one."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aicenter.domain.errors import InputError
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.domain.upload import UploadStatus
from aicenter.policy import PermissionDeniedError
from aicenter.services import dataset as dataset_svc
from aicenter.services import org as org_svc
from aicenter.services import upload as upload_svc
from aicenter.services.context import Caller, ServiceContext


def _provider(ctx: ServiceContext, operator: Caller, name: str = "Daily News") -> Caller:
    org = org_svc.create_org(ctx, operator, name, OrgClass.ENTERPRISE)
    return Caller(org_svc.add_person(ctx, operator, org.id, "P", f"p@{org.id}.kr",
                                     Role.DATA_PROVIDER))


def _articles(path: Path, n: int, seed: int = 5, first: int = 0xAC00, size: int = 11172
              ) -> None:
    """Distinct random articles (Hangul syllables by default)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            words = " ".join("".join(chr(first + rng.randrange(size)) for _ in range(3))
                             for _ in range(40))
            f.write(json.dumps({"text": f"기사 {i} {words}", "url": f"https://n.kr/{i}"},
                               ensure_ascii=False) + "\n")


def _queue(ctx: ServiceContext, provider: Caller, name: str, write) -> str:  # type: ignore[no-untyped-def]
    upload_id = upload_svc.new_upload_id()
    source = upload_svc.upload_folder(ctx, upload_id) / "articles.jsonl"
    source.parent.mkdir(parents=True)
    write(source)
    row = upload_svc.accept(ctx, provider, upload_id, dataset_svc.UploadRequest(
        name, source.name, licence_text="proprietary"), source)
    assert row.status is UploadStatus.QUEUED
    return upload_id


def test_upload_is_ingested_in_the_background(ctx: ServiceContext, operator: Caller) -> None:
    provider = _provider(ctx, operator)
    upload_id = _queue(ctx, provider, "daily-news", lambda p: _articles(p, 25))
    with pytest.raises(Exception, match="not found"):
        dataset_svc.get_dataset(ctx, provider, "daily-news")  # nothing until the ingest ran
    [done] = upload_svc.run_pending(ctx)
    assert done.status is UploadStatus.SUCCEEDED and done.finished_at is not None
    dataset = dataset_svc.get_dataset(ctx, provider, "daily-news")
    assert dataset.stats["records"] == 25 and done.version == dataset.version
    assert not upload_svc.upload_folder(ctx, upload_id).exists()
    assert upload_svc.run_pending(ctx) == []  # finished uploads are not run again
    rival = _provider(ctx, operator, "Rival Daily")
    with pytest.raises(PermissionDeniedError):
        upload_svc.get_upload(ctx, rival, upload_id)
    assert upload_svc.list_uploads(ctx, rival) == []
    assert [u.id for u in upload_svc.list_uploads(ctx, operator)] == [upload_id]


def test_bad_file_fails_with_the_reason_and_leaves_nothing(ctx: ServiceContext,
                                                           operator: Caller) -> None:
    provider = _provider(ctx, operator)
    upload_id = _queue(ctx, provider, "broken",
                       lambda p: p.write_text('{"text": "좋은 줄"}\n{"text": oops\n'))
    [done] = upload_svc.run_pending(ctx)
    assert done.status is UploadStatus.FAILED
    assert done.message.startswith("articles.jsonl:2: not JSON"), done.message
    assert not upload_svc.upload_folder(ctx, upload_id).exists()
    with ctx.db.transaction(write=False) as tx:
        assert tx.datasets.get("broken") is None


def test_upload_is_refused_before_its_bytes_are_stored(ctx: ServiceContext,
                                                       operator: Caller) -> None:
    provider = _provider(ctx, operator)
    with pytest.raises(InputError, match="licence"):
        dataset_svc.check_upload(ctx, provider, dataset_svc.UploadRequest("x", "a.jsonl"))
    member = Caller(org_svc.add_person(ctx, operator, provider.org_id, "M", "m@x.kr",
                                       Role.MEMBER))
    with pytest.raises(PermissionDeniedError):
        dataset_svc.check_upload(ctx, member, dataset_svc.UploadRequest(
            "x", "a.jsonl", licence_text="proprietary"))


RUNNER = """
import sys
from aicenter.services import upload
from aicenter.services.context import ServiceContext
from aicenter.settings import Settings
from aicenter.storage import Database

settings = Settings(home=sys.argv[1], database_url=sys.argv[2])
upload.run_pending(ServiceContext(db=Database(settings.sqlalchemy_url), settings=settings))
"""


def test_upload_killed_mid_ingest_resumes_without_losses_or_duplicates(
        ctx: ServiceContext, operator: Caller, tmp_path: Path) -> None:
    """A runner process is killed with SIGKILL after its first committed part; the next runner
    resumes the checkpoint: the dataset holds every record of the file once, in order."""
    provider = _provider(ctx, operator)
    n = 12_000  # six batches of 2,000 records
    def latin(path: Path) -> None:  # no syllable can pass for a person's name here
        _articles(path, n, first=ord("a"), size=26)

    upload_id = _queue(ctx, provider, "big-news", latin)
    url = ctx.db.engine.url.render_as_string(hide_password=False)
    if ctx.db.dialect == "postgresql":  # the test's schema travels in the URL
        with ctx.db.engine.connect() as conn:
            schema = conn.exec_driver_sql("SHOW search_path").scalar()
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    child = subprocess.Popen([sys.executable, "-c", RUNNER, str(ctx.settings.home), url],
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        found = list((ctx.settings.home / "datasets").glob("**/checkpoint.json"))
        if found and json.loads(found[0].read_text())["consumed"] > 0:
            break
        time.sleep(0.02)
    assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert upload_svc.get_upload(ctx, operator, upload_id).status is UploadStatus.INGESTING
    [done] = upload_svc.run_pending(ctx)
    assert done.status is UploadStatus.SUCCEEDED, done.message
    store = dataset_svc.store_of(ctx)
    texts = [r.text for r in store.records(store.manifest("big-news"))]
    expected = tmp_path / "expected.jsonl"
    latin(expected)
    assert texts == [json.loads(line)["text"] for line in expected.open(encoding="utf-8")]
