"""Models end to end on the local backend: a job reads a licensed dataset and writes a "model"
directory; when it succeeds the center registers a model version whose signed card names the
dataset version, agreement, licence and PII status, the chips, pools and countries, the run's
h100e-hours and cost and the programme beside it; verify passes, and a changed file or a
changed card fails naming what. A model whose file reproduces a licensed record is withheld
and not registered. Real services, runner and job processes; SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import shlex
import shutil
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from aicenter.domain.job import JobStatus, parse_job_spec
from aicenter.domain.model import PREDICATE_TYPE, check_card, render_card, statement_of
from aicenter.ledger.audit import AuditFilter, decode
from aicenter.services import job as job_svc
from aicenter.services import licence as licence_svc
from aicenter.services import model as model_svc
from aicenter.services.model import hash_tree, models_dir
from tests.services.test_exchange_flow import exchange as exchange
from tests.services.test_job_flow import run_until

TRAINS = """
import json, os
from aicenter.exchange.reader import open_dataset
texts = list(open_dataset('daily-news'))
os.makedirs('model/checkpoints', exist_ok=True)
json.dump({'vocab': 64, 'layers': 2, 'trained_on': len(texts)}, open('model/config.json', 'w'))
open('model/weights.bin', 'wb').write(bytes(range(256)) * 16)
open('model/checkpoints/step-10.bin', 'wb').write(b'\\x01' * 512)
print('step 10 loss 1.93', flush=True)
"""

LEAKS = """
from aicenter.exchange.reader import open_dataset
import os
texts = list(open_dataset('daily-news'))
os.makedirs('model', exist_ok=True)
open('model/vocab.txt', 'w').write(texts[3])
"""


def _train(ctx, member, code: str, status: JobStatus = JobStatus.SUCCEEDED):  # type: ignore[no-untyped-def]
    spec = parse_job_spec(json.dumps({
        "name": "tiny-lm", "command": shlex.join([sys.executable, "-c", code]),
        "max_duration": "60s", "resources": [{"chip": "nvidia-h100-sxm", "count": 1}],
        "datasets": ["daily-news"], "purpose": "pre-training", "outputs": ["model"]}))
    job, _ = job_svc.submit(ctx, member, spec)
    done = run_until(ctx, job.id, {JobStatus.SUCCEEDED, JobStatus.FAILED})
    assert done.status is status, done.message
    return done


def test_a_trained_model_is_registered_with_a_signed_card(exchange) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _provider, dataset, offer = exchange
    agreement = licence_svc.accept(ctx, member, offer.id, "pre-training")
    job = _train(ctx, member, TRAINS)

    [model] = model_svc.list_models(ctx, member)
    assert (model.job_id, model.name, model.version) == (job.id, "tiny-lm", 1)
    assert [f.path for f in model.files] == [
        "model/checkpoints/step-10.bin", "model/config.json", "model/weights.bin"]
    statement = model.statement
    assert statement["predicateType"] == PREDICATE_TYPE
    assert {s["name"] for s in statement["subject"]} == {f.path for f in model.files}
    lineage = model.lineage
    [read] = lineage["datasets"]
    assert (read["id"], read["version"], read["agreement_id"]) == (
        "daily-news", dataset.version, agreement.id)
    assert read["provider"] == "Daily News" and read["licence"]["territory"] == ["KR"]
    assert read["licence"]["model_release"] == offer.model_release.value
    assert read["pii"]["status"] and read["read"]["records"] == 40
    compute = lineage["compute"]
    assert compute["chips"] == ["nvidia-h100-sxm"] and compute["countries"] == ["KR"]
    assert compute["pools"] == [job.pool_id] and len(compute["runs"]) == 1
    assert Decimal(compute["final_run"]["h100e_hours"]) > 0
    assert Decimal(compute["final_run"]["cost_krw"]) > 0
    programme = lineage["programme"]
    assert Decimal(programme["total_krw"]) > Decimal(compute["final_run"]["cost_krw"])
    assert any("outside the center" in u for u in lineage["unproven"])
    assert lineage["output_release"]["verdict"] == "released"

    card = render_card(model.envelope)
    assert card.startswith("---\nlicense: other\n") and "datasets:\n- daily-news" in card
    assert "What this card cannot prove" in card

    ok = model_svc.verify(ctx, member, model.id)
    assert ok.check.ok and ok.check.files_checked == 3, ok.check.problems
    [entry] = [decode(e.body).record for e in _entries(ctx, "model.registered")]
    assert entry.object_id == model.id and entry.payload["job"] == job.id

    # the tenant's copy, checked away from the center with the public keys only
    copy = ctx.settings.home.parent / "download"
    shutil.copytree(models_dir(ctx) / model.id, copy)
    keys = model_svc.signing_keys(ctx)
    assert check_card(model.envelope, keys, hash_tree(copy)).ok
    (copy / "model" / "weights.bin").write_bytes(b"tampered")
    (copy / "model" / "extra.bin").write_bytes(b"slipped in")
    bad = check_card(model.envelope, keys, hash_tree(copy))
    assert [p.split(":")[0] for p in bad.problems] == ["file model/weights.bin",
                                                       "file model/extra.bin"]

    # the registry's copy changed, then the card
    (models_dir(ctx) / model.id / "model" / "config.json").write_text("{}")
    changed = model_svc.verify(ctx, member, model.id).check
    assert changed.problems[0].startswith("file model/config.json: changed")
    forged = json.loads(json.dumps(model.envelope))
    claim = statement_of(forged)
    claim["predicate"]["datasets"] = []
    forged["payload"] = base64.b64encode(json.dumps(claim).encode()).decode()
    problems = check_card(forged, keys).problems
    assert problems and "does not match the card" in problems[0]
    assert "not one of the center's keys" in check_card(model.envelope, {}).problems[0]


def test_a_second_run_is_version_two_and_others_do_not_see_it(exchange) -> None:  # type: ignore[no-untyped-def]
    ctx, member, provider, _dataset, offer = exchange
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    _train(ctx, member, TRAINS)
    _train(ctx, member, TRAINS)
    assert sorted(m.version for m in model_svc.list_models(ctx, member)) == [1, 2]
    assert model_svc.list_models(ctx, provider) == []


def test_a_model_reproducing_licensed_records_is_not_registered(exchange) -> None:  # type: ignore[no-untyped-def]
    ctx, member, _provider, _dataset, offer = exchange
    licence_svc.accept(ctx, member, offer.id, "pre-training")
    job = _train(ctx, member, LEAKS)
    assert model_svc.list_models(ctx, member) == []
    [entry] = [decode(e.body).record for e in _entries(ctx, "model.not_registered")]
    assert entry.object_id == job.id and "withheld" in entry.payload["reason"]
    assert not Path(models_dir(ctx)).exists() or not any(models_dir(ctx).iterdir())


def _entries(ctx, action: str):  # type: ignore[no-untyped-def]
    with ctx.db.transaction(write=False) as tx:
        return tx.audit.search(AuditFilter(action=action))


@pytest.fixture(autouse=True)
def _fast(exchange) -> None:  # type: ignore[no-untyped-def]
    exchange[0].settings.metering_interval_s = 0.5
