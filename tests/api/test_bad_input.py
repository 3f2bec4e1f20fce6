"""Bad input never breaks the center (issue 12 item 9): every case answers a 4xx with the one
error body, names the field, stores nothing and leaves the other tenants' requests alone. On
SQLite and PostgreSQL, through the real HTTP app (TestClient, or a live server where the case
is about bytes on the wire)."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import zstandard
from fastapi.testclient import TestClient

from aicenter.api import create_app
from aicenter.api.limits import BodyLimits
from aicenter.domain.errors import InputError
from aicenter.domain.job import spec_from_mapping
from aicenter.exchange.file_formats import RecordReader
from aicenter.server.batcher import AdmissionBatcher
from aicenter.services import upload as upload_svc
from aicenter.services.admission import Admitted, Submission
from aicenter.services.context import ServiceContext
from aicenter.storage.tables import audit_entries, metadata
from tests.api.test_authorization_table import SPEC, World, build_world
from tests.support.live_server import LiveServer


@pytest.fixture
def world(ctx: ServiceContext) -> World:
    return build_world(ctx)


@pytest.fixture
def client(ctx: ServiceContext, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), raise_server_exceptions=False) as c:
        yield c


def _auth(world: World, role: str = "operator") -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[role]}"}


_AUDIT_TABLES = {"audit_entries", "audit_head", "audit_checkpoints"}


def _rows(ctx: ServiceContext) -> dict[str, int]:
    """Rows per table: what a refused request must leave unchanged. The audit log records the
    request's authorisation decisions and admission's refusals (DESIGN rule 11), so it may only
    have grown by ``authz.*`` and ``job.refused`` entries: any other entry would record a change
    that must not have happened."""
    from sqlalchemy import func, select

    with ctx.db.transaction(write=False) as tx:
        changes = tx.conn.execute(select(func.count()).select_from(audit_entries).where(
            audit_entries.c.action.not_like("authz.%"),
            audit_entries.c.action != "job.refused")).scalar_one()
        counts = {t.name: int(tx.conn.execute(select(func.count()).select_from(t)).scalar_one())
                  for t in metadata.sorted_tables if t.name not in _AUDIT_TABLES}
    counts["audit entries other than decisions and refusals"] = int(changes)
    return counts


def _refused(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """The response is ``status`` with the one error body, naming ``field``."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) <= {"error", "detail", "field"}, body
    assert isinstance(body["error"], str) and isinstance(body["detail"], str) and body["detail"]
    if field is not None:
        assert body.get("field") == field, body
    return body


def test_absurd_max_duration_fails_alone_and_is_not_stored(
        ctx: ServiceContext, world: World, client: TestClient) -> None:
    before = _rows(ctx)
    for duration, why in (("9" * 400 + "d", "far too long"), ("31d", "limit of 30 days"),
                          ("100000000000000d", "far too long")):
        body = _refused(client.post("/api/v1/jobs", headers=_auth(world, "member"), json={
            "spec": {**SPEC, "max_duration": duration}}), 422, "max_duration")
        assert why in body["detail"]
    assert _rows(ctx) == before


def test_batch_with_one_absurd_submission_admits_the_others(
        ctx: ServiceContext, world: World) -> None:
    batcher = AdmissionBatcher(ctx)
    good = spec_from_mapping(SPEC)
    absurd = spec_from_mapping({**SPEC, "max_duration": "3650d"})
    subs = [Submission(spec, secret=world.tokens["member"])
            for spec in (good, absurd, good, good)]

    async def all_at_once() -> list[Admitted | BaseException]:
        return await asyncio.gather(*(batcher.submit(s) for s in subs), return_exceptions=True)

    try:
        # In a thread of its own: a session's browser (Playwright's sync API) may keep an
        # event loop running in this worker's main thread.
        with ThreadPoolExecutor(1) as pool:
            outcomes = pool.submit(asyncio.run, all_at_once()).result()
    finally:
        batcher.close()
    assert isinstance(outcomes[1], InputError) and outcomes[1].field == "max_duration"
    admitted = [o for i, o in enumerate(outcomes) if i != 1]
    assert all(isinstance(o, Admitted) and o.created for o in admitted), outcomes


@pytest.mark.parametrize("path", [
    "/api/v1/orgs/{org}/statements/9999-12", "/api/v1/orgs/{org}/statements/1999-12",
    "/api/v1/orgs/{org}/royalty-statements/9999-12", "/api/v1/usage?month=9999-12",
    "/api/v1/orgs/{org}/statements/2026-13"])
def test_months_out_of_range(world: World, client: TestClient, path: str) -> None:
    _refused(client.get(path.format(**world.ids), headers=_auth(world)), 422, "month")


def test_nul_is_refused_before_the_database(
        ctx: ServiceContext, world: World, client: TestClient) -> None:
    before = _rows(ctx)
    h = _auth(world)
    _refused(client.get("/api/v1/orgs/x%00", headers=h), 422, "path")
    _refused(client.get("/api/v1/jobs", params={"org_id": "a\0"}, headers=h), 422, "org_id")
    _refused(client.get("/api/v1/usage", params={"org_id": "\0"}, headers=h), 422, "org_id")
    _refused(client.post("/api/v1/orgs", json={"name": "a\0", "org_class": "sme"}, headers=h),
             422, "name")
    _refused(client.post(f"/api/v1/calls/{world.ids['call']}/applications", headers=h, json={
        "title": "t", "chips": {"nvidia-h100-sxm": 1}, "months": 1, "requested_h100e_h": "1",
        "org_id": world.ids["org"], "plan": {"notes": ["ok", {"k\0": 1}]}}), 422, "plan")
    _refused(client.post("/api/v1/jobs", headers=_auth(world, "member"), json={
        "spec": {**SPEC, "name": "a\0"}}), 422)
    _refused(client.post(f"/api/v1/offers/{world.ids['offer']}/accept", headers=h,
                         json={"purpose": "pre-training", "org_id": "\0"}), 422, "org_id")
    _refused(client.post("/api/v1/datasets", params={
        "name": "n", "licence": "l", "filename": "f\0.txt"}, content=b"x\n", headers=h),
        422, "filename")
    assert _rows(ctx) == before
    assert not _leftovers(ctx, world)


@pytest.mark.parametrize(("change", "field"), [
    ({"price": {"basis": "per-gb", "amount": "NaN"}}, "price.amount"),
    ({"price": {"basis": "per-gb", "amount": "Infinity"}}, "price.amount"),
    ({"price": {"basis": "per-gb", "amount": "1e999999"}}, "price.amount"),
    ({"price": {"basis": "per-gb", "amount": "-1"}}, "price.amount"),
    ({"term_end": "9999-12-31"}, "term_end"),
    ({"term_start": "0001-01-01"}, "term_start"),
    ({"chase_waiver_days": 10**12}, "chase_waiver_days"),
    ({"agreement_days": 10**12}, "agreement_days"),
])
def test_offers_with_unbounded_numbers_or_dates(
        ctx: ServiceContext, world: World, client: TestClient, change: dict[str, Any],
        field: str) -> None:
    terms = {"purposes": ["pre-training"], "term_start": "2020-01-01",
             "term_end": "2099-12-31", "price": {"basis": "per-gb", "amount": "1000"}}
    before = _rows(ctx)
    _refused(client.post("/api/v1/datasets/world-news/offers", headers=_auth(world),
                         json={**terms, **change}), 422, field)
    assert _rows(ctx) == before


def test_log_offsets_far_beyond_the_file(world: World, client: TestClient) -> None:
    for job in (world.ids["job"], world.ids["done_job"]):
        r = client.get(f"/api/v1/jobs/{job}/logs", params={"offset": 2**62}, headers=_auth(world))
        assert r.status_code == 200 and r.json()["text"] == "", r.text
        _refused(client.get(f"/api/v1/jobs/{job}/logs", params={"offset": 2**63 + 5},
                            headers=_auth(world)), 422, "offset")


def test_json_body_too_large_or_nested_is_a_4xx(world: World, client: TestClient) -> None:
    big = b'{"name": "' + b"a" * (2 << 20) + b'", "org_class": "sme"}'
    _refused(client.post("/api/v1/orgs", content=big, headers={
        **_auth(world), "content-type": "application/json"}), 413)
    deep = b"[" * 200_000 + b"]" * 200_000
    r = client.post("/api/v1/orgs", content=deep, headers={
        **_auth(world), "content-type": "application/json"})
    assert 400 <= r.status_code < 500, r.text


def test_chunked_body_over_the_limit_leaves_nothing(ctx: ServiceContext, world: World) -> None:
    before = _rows(ctx)
    app = create_app(ctx, body_limits=BodyLimits(json_max_bytes=1024, upload_max_bytes=4096))

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield b"line of text\n" * 100

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/api/v1/datasets", params={
            "name": "chunky", "licence": "l", "filename": "c.txt",
            "org_id": world.ids["org"]}, content=chunks(), headers=_auth(world))
        _refused(r, 413)
    assert _rows(ctx) == before
    assert not [p for p in (ctx.settings.home / "uploads").glob("*")
                if p.name != world.ids["upload"]]


def _raw_request(url: str, head: str, body: bytes = b"", close_early: bool = False
                 ) -> bytes:
    """Send a request by hand (a Content-Length the body does not match); the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as s:
        s.sendall(head.encode() + body)
        if close_early:
            return b""
        chunks = []
        while data := s.recv(65536):
            chunks.append(data)
            if b"\r\n\r\n" in b"".join(chunks):
                break
        return b"".join(chunks)


def test_large_or_unauthenticated_bodies_are_refused_unread(
        ctx: ServiceContext, world: World) -> None:
    token = world.tokens["operator"]
    with LiveServer(create_app(ctx)) as server:
        for path, auth, status in (
                ("/api/v1/orgs", f"Authorization: Bearer {token}\r\n", b"413"),
                ("/api/v1/datasets?name=n&licence=l&filename=f.txt",
                 f"Authorization: Bearer {token}\r\n", b"413"),
                ("/api/v1/orgs", "", b"401"),
                ("/api/v1/orgs", "Authorization: Bearer not-a-token\r\n", b"401")):
            size = 100 << 30 if status == b"413" else 50 << 20
            head = (f"POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json"
                    f"\r\nContent-Length: {size}\r\n\r\n")
            answer = _raw_request(server.url, head)  # the body is never sent: answered anyway
            assert answer.split(b" ")[1] == status, answer


def test_upload_cut_off_mid_body_leaves_nothing(ctx: ServiceContext, world: World) -> None:
    before = _rows(ctx)
    token = world.tokens["operator"]
    with LiveServer(create_app(ctx)) as server:
        head = (f"POST /api/v1/datasets?name=cut&licence=l&filename=c.txt&org_id="
                f"{world.ids['org']} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                "Content-Length: 10000000\r\n\r\n")
        _raw_request(server.url, head, b"some text\n" * 10_000, close_early=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _leftovers(ctx, world):
            time.sleep(0.1)
        time.sleep(0.3)
    assert not _leftovers(ctx, world)
    assert _rows(ctx) == before


def _leftovers(ctx: ServiceContext, world: World) -> list[Path]:
    return [p for p in (ctx.settings.home / "uploads").glob("*") if p.name != world.ids["upload"]]


def _gzip_bomb(path: Path, megabytes: int = 256) -> None:
    """One line of ``megabytes`` MiB of 'a', gzipped (about 254 KiB), written without ever
    holding the line in memory."""
    block = b"a" * (1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as f:
        for _ in range(megabytes):
            f.write(compressor.compress(block))
        f.write(compressor.flush())


def test_gzip_bomb_upload_fails_naming_file_and_line_within_bounded_memory(
        ctx: ServiceContext, world: World, client: TestClient, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.txt.gz"
    _gzip_bomb(bomb)
    assert bomb.stat().st_size < 300 << 10
    r = client.post("/api/v1/datasets", params={
        "name": "bomb", "licence": "l", "filename": "bomb.txt.gz", "org_id": world.ids["org"]},
        content=bomb.read_bytes(), headers=_auth(world))
    assert r.status_code == 202, r.text
    upload_id = r.json()["id"]
    tracemalloc.start()
    try:
        upload_svc.run_pending(ctx)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    done = client.get(f"/api/v1/uploads/{upload_id}", headers=_auth(world)).json()
    assert done["status"] == "failed", done
    assert "bomb.txt.gz:1" in done["message"] and "longer than" in done["message"], done
    assert peak < 200 << 20, f"peak {peak / 2**20:.0f} MiB"
    assert not upload_svc.upload_folder(ctx, upload_id).exists()


def test_readers_bound_lines_records_and_expansion(tmp_path: Path) -> None:
    def refused(path: Path, **kw: Any) -> InputError:
        with pytest.raises(InputError) as info:
            list(RecordReader(path, **kw))
        return info.value

    text = tmp_path / "t.txt"
    text.write_text("short\n" + "x" * 200 + "\nshort\n")
    assert refused(text, max_record_chars=100).line == 2
    assert [len(t) for b in RecordReader(text, max_record_chars=200).text_batches()
            for t in b.texts] == [5, 200, 5]
    with pytest.raises(InputError) as info:
        list(RecordReader(text, max_record_chars=100).text_batches(chunk_chars=64))
    assert info.value.line == 2
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text('{"text": "a"}\n{"text": "' + "y" * 300 + '"}\n')
    assert refused(jsonl, max_record_chars=100).line == 2
    table = tmp_path / "t.csv"
    table.write_text('text\nok\n"' + "z" * 300 + '"\n')
    assert "t.csv" in str(refused(table, max_record_chars=100))
    zst = tmp_path / "z.txt.zst"
    zst.write_bytes(zstandard.ZstdCompressor(level=3).compress(b"ab\n" * (40 << 20)))
    error = refused(zst)
    assert "compression bomb" in str(error) and "z.txt.zst" in str(error)
    ok = tmp_path / "ok.txt.gz"
    ok.write_bytes(gzip.compress(b"a normal line of text\n" * 1000))
    assert len(list(RecordReader(ok))) == 1000


def test_every_route_declares_the_error_body(ctx: ServiceContext) -> None:
    document = create_app(ctx).openapi()
    assert set(document["components"]["schemas"]["ErrorOut"]["properties"]) == {
        "error", "detail", "field"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "401", "403", "404", "409", "413", "422"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path)
