"""``aicenter demo``: a sample center on SQLite, set up through the API and left running.

Pools of seven chip types from five vendors (Korean NPUs included), one organisation of every
class (one in the chase team), an open call modelled on the Dec 2025 AIinfrahub call, reviewed
applications, granted budgets and a few jobs that really run on the local backend and finish;
and the data exchange: a news publisher uploads a small (generated) dataset and offers it, the
university licenses it and a job reads it through the center's metered reader and writes a
small "model" directory, which the center registers with a signed provenance card (printed).
It prints the URL and an operator token, then serves until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.progress import Progress

from aicenter.cli.output import console
from aicenter.client import Client
from aicenter.server.process import build_server
from aicenter.settings import Settings

POOLS = {
    "nvidia-h100-sxm": 16, "nvidia-h200": 16, "nvidia-b200": 8, "amd-mi300x": 8,
    "intel-gaudi3": 8, "rebellions-atom": 16, "furiosa-rngd": 8,
}
ORGS = [  # name, class, region, chase team
    ("KAIST Graph Lab", "university", "daejeon", True),
    ("ETRI Speech", "research-institute", "daejeon", False),
    ("Seoul Vision Startup", "startup", "capital", False),
    ("Gwangju Youth AI", "youth-startup", "gwangju", False),
    ("Busan Logistics SME", "sme", "busan", False),
    ("Hanbit Enterprise", "enterprise", "capital", False),
    ("Ministry Data Agency", "public-agency", "sejong", False),
]
JOBS = [  # org index, name, chip, count, workload, command
    (0, "pretrain-smoke", "nvidia-h100-sxm", 8, "dense-training",
     "echo \"training on $AICENTER_CHIP_COUNT x $AICENTER_CHIP_TYPE\"; "
     "for s in 1 2 3; do echo step $s; sleep 0.5; done"),
    (3, "npu-serving", "rebellions-atom", 4, "inference",
     "echo \"serving on $AICENTER_CHIP_TYPE\"; sleep 1; echo ok"),
    (4, "route-finetune", "amd-mi300x", 4, "dense-training",
     "python3 -c \"import os; print('fine-tune on', os.environ['AICENTER_CHIP_TYPE'])\""),
    (1, "asr-eval", "intel-gaudi3", 2, "inference", "echo evaluating; sleep 0.5; echo done"),
]


def _articles(path: Path, n: int = 60) -> None:
    """Generated Korean-looking news articles (distinct, so none is dropped as a duplicate)."""
    rng = random.Random(2025)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            body = " ".join("".join(chr(0xAC00 + rng.randrange(11172)) for _ in range(3))
                            for _ in range(40))
            f.write(json.dumps({"text": f"[데모 기사 {i}] {body}", "publisher": "Demo Daily",
                                "url": f"https://demo-daily.example/{i}"},
                               ensure_ascii=False) + "\n")


def _exchange(op: Any, url: str, tenant_secret: str, home: Path) -> str:
    """Publisher uploads and offers; the tenant licenses and submits a reading job."""
    news = op.create_org("Demo Daily (news publisher)", "enterprise", region="capital")
    person = op.add_person(news.id, "Demo Daily data desk", "data@demo-daily.example",
                           "data-provider")
    source = home / "demo-daily.jsonl"
    _articles(source)
    today = datetime.now(UTC).date()
    with Client(url, op.create_token(person.id, "demo").secret or "") as publisher:
        upload = publisher.upload_dataset(source, "demo-daily", "proprietary (demo)",
                                          description="generated news articles")
        upload = publisher.wait_for_upload(upload.id, timeout_s=300)
        if upload.status != "succeeded":
            raise RuntimeError(f"the demo dataset's ingest failed: {upload.message}")
        offer = publisher.create_offer("demo-daily", {
            "purposes": ["pre-training", "fine-tuning"], "term_start": str(today),
            "term_end": str(today + timedelta(days=365)),
            "price": {"basis": "per-million-tokens", "amount": "50000"},
            "attribution": "Demo Daily"})
    with Client(url, tenant_secret) as tenant:
        tenant.accept_offer(offer.id, "pre-training")
        job = tenant.submit_job({"name": "news-pretrain",
                                 "command": shlex.join([sys.executable, "-c", TRAIN]),
                                 "resources": [{"chip": "nvidia-h100-sxm", "count": 1}],
                                 "datasets": ["demo-daily"], "outputs": ["model"],
                                 "max_duration": "5m"},
                                idempotency_key="demo-news-pretrain")
    return job.id


TRAIN = """
import json, os, struct
from collections import Counter
from aicenter.exchange.reader import open_dataset
counts, records = Counter(), 0
for text in open_dataset('demo-daily'):
    counts.update(text)
    records += 1
weights = sorted(counts.values(), reverse=True)[:256]
total = sum(weights) or 1
os.makedirs('model', exist_ok=True)
with open('model/weights.bin', 'wb') as f:
    f.write(struct.pack(f'<{len(weights)}f', *(w / total for w in weights)))
with open('model/config.json', 'w') as f:
    json.dump({'kind': 'unigram', 'vocab': len(weights), 'records': records}, f)
print('records read:', records, 'vocab:', len(weights))
"""
"""The demo's "training": a unigram table of the licensed articles, written as a model
directory (numbers only, so the output check releases it and the center registers it)."""


def _setup(url: str, operator_token: str, home: Path) -> list[str]:
    with Client(url, operator_token) as op, Progress(console=console(),
                                                     transient=True) as bar:
        task = bar.add_task("setting up the demo center", total=len(POOLS) + len(ORGS) * 4)
        for chip, count in POOLS.items():
            op.add_pool(chip, count)
            bar.advance(task)
        call = op.open_call(
            "AI infrastructure call (demo, after the Dec 2025 AIinfrahub call)",
            [cls for _, cls, _, _ in ORGS],
            {chip: 256 if chip != "nvidia-b200" else 128 for chip in POOLS}, max_months=12)
        members = []
        for i, (name, cls, region, chase) in enumerate(ORGS):
            org = op.create_org(name, cls, chase_team=chase, region=region)
            person = op.add_person(org.id, f"{name} lead", f"lead{i}@demo.aicenter", "org-admin")
            token = op.create_token(person.id, "demo")
            members.append((org.id, token.secret or ""))
            bar.advance(task)
            app = op.apply(call.id, f"{name}: model work", {"nvidia-h100-sxm": 8,
                                                            "rebellions-atom": 4,
                                                            "amd-mi300x": 4,
                                                            "intel-gaudi3": 2}, 6, 2000,
                           org_id=org.id)
            bar.advance(task)
            op.review(app.id, impact=6 + i % 4, readiness=7, ecosystem=5 + i % 3)
            bar.advance(task)
            op.award_grant(app.id, 500)
            bar.advance(task)
        job_ids = [_exchange(op, url, members[0][1], home)]
        for org_index, name, chip, count, workload, command in JOBS:
            _, secret = members[org_index]
            with Client(url, secret) as tenant:
                job = tenant.submit_job({"name": name, "command": command,
                                         "resources": [{"chip": chip, "count": count}],
                                         "workload": workload, "max_duration": "5m"},
                                        idempotency_key=f"demo-{name}")
                job_ids.append(job.id)
        wait = bar.add_task("running the demo jobs", total=len(job_ids))
        for job_id in job_ids:
            op.wait_for_job(job_id, timeout_s=120)
            bar.advance(wait)
    return job_ids


def _print_card(op: Client, job_id: str) -> None:
    """The signed provenance card of the model the news job trained, and its check."""
    out = sys.stdout
    found = [m for m in op.list_models() if m.job_id == job_id]
    if not found:
        out.write(f"  job {job_id} registered no model (see aicenter job show {job_id})\n")
        return
    card = op.model_card(found[0].id)
    check = op.verify_model(found[0].id)
    signature = card.envelope["signatures"][0]
    out.write(f"\nmodel {found[0].name} version {found[0].version} ({found[0].id}): its "
              "provenance card\n\n" + card.markdown + "\n")
    out.write(f"signed card: DSSE envelope ({card.envelope['payloadType']}), key "
              f"{signature['keyid']}, signature {signature['sig']}\n")
    out.write(f"verify: {'ok' if check.ok else 'FAILED'}, {check.files_checked} files"
              f"{'' if check.ok else ': ' + '; '.join(check.problems)}\n\n")


def demo(
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    home: Annotated[Path | None, typer.Option(help="State directory (default: a new "
                                              "temporary one)")] = None,
    exit_when_done: Annotated[bool, typer.Option(help="Stop after the demo jobs finished "
                                                 "(for tests and CI)")] = False,
) -> None:
    """Start a sample center on SQLite at 127.0.0.1:PORT and print an operator token."""
    home = home or Path(tempfile.mkdtemp(prefix="aicenter-demo-"))
    # A sample center on a developer's machine, run without root, cannot contain its jobs;
    # it runs them in the weak box (the user's own uid) and says so, where `aicenter serve`
    # would refuse to start.
    weak = os.geteuid() != 0
    if weak:
        sys.stderr.write("aicenter demo: not root, so the demo's jobs run in the WEAK box, as "
                         "your own uid (a real center runs `aicenter serve` as root; see "
                         "`aicenter doctor`)\n")
    settings = Settings(home=home, database_url=None, port=port, backend="local",
                        scheduler_interval_s=0.25, metering_interval_s=5.0,
                        unsafe_allow_weak_isolation=weak)
    server = build_server(settings)
    token = server.operator_token or (home / "operator-token").read_text().strip()
    url = f"http://127.0.0.1:{port}"
    uv = uvicorn.Server(uvicorn.Config(server.app, host="127.0.0.1", port=port,
                                       log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    try:
        Client(url, token).wait_until_up(30)
        job_ids = _setup(url, token, home)
        with Client(url, token) as op:
            rows = [op.get_job(j) for j in job_ids]
        out = sys.stdout
        out.write(f"aicenter demo running at {url} (API docs {url}/docs), state in {home}\n")
        for j in rows:
            out.write(f"  job {j.id} {j.name}: {j.status} on {j.chip_count} x {j.chip}\n")
        with Client(url, token) as op:
            _print_card(op, job_ids[0])
        out.write(f"export AICENTER_URL={url}\nexport AICENTER_TOKEN={token}\n")
        out.write("then try: aicenter job list; aicenter grant list; "
                  "aicenter usage list; aicenter dataset list; aicenter dataset usage; "
                  "aicenter model list; aicenter model verify MODEL_ID\n")
        out.flush()
        if not exit_when_done:
            while thread.is_alive():
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        uv.should_exit = True
        thread.join(timeout=30)
        server.ctx.db.dispose()
