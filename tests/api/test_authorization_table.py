"""Every route × every role: who may call it (on organisation A's resources).

The table below is the specification; a route missing from it fails the test, so a new route
cannot ship without its authorisation decided. Allowed → 2xx; denied → 403; no token → 401.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from aicenter.api import create_app
from aicenter.domain.job import parse_job_spec
from aicenter.domain.org import OrgClass
from aicenter.domain.output_release import OutputRelease
from aicenter.domain.person import Role
from aicenter.domain.share import ShareHolder
from aicenter.domain.token import Scope
from aicenter.policy.source import packaged_policies
from aicenter.services import audit as audit_svc
from aicenter.services import call as call_svc
from aicenter.services import dataset as dataset_svc
from aicenter.services import grant as grant_svc
from aicenter.services import identity as identity_svc
from aicenter.services import job as job_svc
from aicenter.services import licence as licence_svc
from aicenter.services import org as org_svc
from aicenter.services import pool as pool_svc
from aicenter.services import share as share_svc
from aicenter.services import upload as upload_svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.services.org import bootstrap_operator

ROLES = ["operator", "auditor", "org-admin", "member", "data-provider", "other-org", "anonymous"]
ALL = {"operator", "auditor", "org-admin", "member", "data-provider", "other-org"}
OWN = {"operator", "auditor", "org-admin", "member", "data-provider"}
SPEC = {"name": "t", "command": "true", "max_duration": "60s",
        "resources": [{"chip": "nvidia-h100-sxm", "count": 1}]}
FLEET = ("bidder: B\nsite: {country: KR, region: Haenam-gun, capital_region: false, "
         "renewable_share: 0.5, pue: 1.2}\npools:\n  - {chip: nvidia-h100-sxm, count: 8, "
         "price_krw_per_chip_hour: 3000}\n")
OFFERS = ("site: {country: KR, region: Haenam-gun, capital_region: false, renewable_share: 0.5, "
          "pue: 1.2}\noffers:\n  - {id: o, chip: nvidia-h100-sxm, available: 16, "
          "unit_cost_krw: 40000000, lot: 8}\n")


@dataclass
class World:
    tokens: dict[str, str]
    ids: dict[str, str]


Request = Callable[[World], tuple[str, dict[str, Any] | None]]


def _path(template: str) -> Request:
    return lambda w: (template.format(**w.ids), None)


def _body(template: str, body: Callable[[World], dict[str, Any]]) -> Request:
    return lambda w: (template.format(**w.ids), body(w))


TABLE: dict[tuple[str, str], tuple[set[str], Request]] = {
    ("GET", "/api/v1/health"): (ALL | {"anonymous"}, _path("/api/v1/health")),
    ("GET", "/api/v1/whoami"): (ALL, _path("/api/v1/whoami")),
    ("POST", "/api/v1/orgs"): ({"operator"}, _body(
        "/api/v1/orgs", lambda w: {"name": "New", "org_class": "startup"})),
    ("GET", "/api/v1/orgs"): (ALL, _path("/api/v1/orgs")),
    ("GET", "/api/v1/orgs/count"): (ALL, _path("/api/v1/orgs/count")),
    ("GET", "/api/v1/orgs/{org_id}"): (OWN, _path("/api/v1/orgs/{org}")),
    ("POST", "/api/v1/orgs/{org_id}/people"): ({"operator", "org-admin"}, _body(
        "/api/v1/orgs/{org}/people",
        lambda w: {"name": "N", "email": "new@a.kr", "role": "member"})),
    ("PUT", "/api/v1/orgs/{org_id}/priorities/{priority_class}"): (
        {"operator"}, _path("/api/v1/orgs/{org}/priorities/chase-team")),
    ("DELETE", "/api/v1/orgs/{org_id}/priorities/{priority_class}"): (
        {"operator"}, _path("/api/v1/orgs/{org}/priorities/best-effort")),
    ("GET", "/api/v1/orgs/{org_id}/people"): (OWN, _path("/api/v1/orgs/{org}/people")),
    ("POST", "/api/v1/people/{person_id}/tokens"): ({"operator", "org-admin"}, _body(
        "/api/v1/people/{target}/tokens", lambda w: {"name": "t"})),
    ("GET", "/api/v1/people/{person_id}/tokens"): (
        {"operator", "auditor", "org-admin"}, _path("/api/v1/people/{target}/tokens")),
    ("POST", "/api/v1/tokens/{token_id}/revoke"): (
        {"operator", "org-admin"}, _path("/api/v1/tokens/{target_token}/revoke")),
    ("POST", "/api/v1/pools"): ({"operator"}, _body(
        "/api/v1/pools", lambda w: {"chip_id": "amd-mi300x", "chip_count": 8})),
    ("GET", "/api/v1/pools"): (ALL, _path("/api/v1/pools")),
    ("GET", "/api/v1/policy"): (ALL, _path("/api/v1/policy")),
    ("GET", "/api/v1/policy/versions"): (ALL, _path("/api/v1/policy/versions")),
    ("PUT", "/api/v1/policy"): ({"operator"}, _body(
        "/api/v1/policy", lambda w: {"text": packaged_policies()})),
    ("GET", "/api/v1/shares"): (ALL, _path("/api/v1/shares")),
    ("PUT", "/api/v1/shares/{holder_kind}/{holder_id}"): ({"operator"}, _body(
        "/api/v1/shares/org/{org}", lambda w: {"guaranteed_h100e": "8"})),
    ("DELETE", "/api/v1/shares/{holder_kind}/{holder_id}"): (
        {"operator"}, _path("/api/v1/shares/org/{org}")),
    ("GET", "/api/v1/pools/{pool_id}"): (ALL, _path("/api/v1/pools/{pool}")),
    ("GET", "/api/v1/occupancy"): (ALL, _path("/api/v1/occupancy")),
    ("GET", "/api/v1/capacity"): (ALL, _path("/api/v1/capacity")),
    ("GET", "/api/v1/identities"): ({"operator"}, _path("/api/v1/identities")),
    ("POST", "/api/v1/identities/{request_id}/approve"): ({"operator"}, _body(
        "/api/v1/identities/{identity}/approve", lambda w: {"org_id": w.ids["org"],
                                                            "role": "member"})),
    ("POST", "/api/v1/identities/{request_id}/reject"): ({"operator"}, _body(
        "/api/v1/identities/{identity}/reject", lambda w: {"reason": "unknown to us"})),
    ("PATCH", "/api/v1/pools/{pool_id}"): ({"operator"}, _body(
        "/api/v1/pools/{pool}", lambda w: {"chip_count": 16})),
    ("POST", "/api/v1/pools/{pool_id}/drain"): ({"operator"}, _path("/api/v1/pools/{pool}/drain")),
    ("POST", "/api/v1/pools/{pool_id}/undrain"): (
        {"operator"}, _path("/api/v1/pools/{pool}/undrain")),
    ("DELETE", "/api/v1/pools/{pool_id}"): ({"operator"}, _path("/api/v1/pools/{pool}")),
    ("POST", "/api/v1/calls"): ({"operator"}, _body("/api/v1/calls", lambda w: {
        "name": "c", "eligible_classes": ["sme"], "max_chips_per_project": {"nvidia-h200": 8}})),
    ("GET", "/api/v1/calls"): (ALL, _path("/api/v1/calls")),
    ("GET", "/api/v1/calls/{call_id}"): (ALL, _path("/api/v1/calls/{call}")),
    ("POST", "/api/v1/calls/{call_id}/close"): ({"operator"}, _path("/api/v1/calls/{call}/close")),
    ("POST", "/api/v1/calls/{call_id}/applications"): (
        {"operator", "org-admin", "member"}, _body(
            "/api/v1/calls/{call}/applications", lambda w: {
                "org_id": w.ids["org"], "title": "t", "chips": {"nvidia-h100-sxm": 8},
                "months": 3, "requested_h100e_h": "10"})),
    ("GET", "/api/v1/calls/{call_id}/applications"): (
        ALL, _path("/api/v1/calls/{call}/applications")),
    ("GET", "/api/v1/calls/{call_id}/ranking"): ({"operator"}, _path(
        "/api/v1/calls/{call}/ranking")),
    ("GET", "/api/v1/applications/{application_id}"): (
        OWN, _path("/api/v1/applications/{app}")),
    ("POST", "/api/v1/applications/{application_id}/reviews"): ({"operator"}, _body(
        "/api/v1/applications/{unreviewed}/reviews",
        lambda w: {"impact": 5, "readiness": 5, "ecosystem": 5})),
    ("POST", "/api/v1/applications/{application_id}/reject"): ({"operator"}, _body(
        "/api/v1/applications/{app}/reject", lambda w: {"reason": "out of scope"})),
    ("POST", "/api/v1/grants"): ({"operator"}, _body(
        "/api/v1/grants", lambda w: {"application_id": w.ids["app"], "budget_h100e_h": "5"})),
    ("GET", "/api/v1/grants"): (ALL, _path("/api/v1/grants")),
    ("GET", "/api/v1/grants/count"): (ALL, _path("/api/v1/grants/count")),
    ("GET", "/api/v1/grants/{grant_id}"): (OWN, _path("/api/v1/grants/{grant}")),
    ("POST", "/api/v1/grants/reclaim"): ({"operator"}, _path("/api/v1/grants/reclaim")),
    ("POST", "/api/v1/jobs"): ({"operator", "org-admin", "member"}, _body(
        "/api/v1/jobs", lambda w: {"spec": SPEC, "org_id": w.ids["org"]})),
    ("GET", "/api/v1/jobs"): (ALL, _path("/api/v1/jobs")),
    ("GET", "/api/v1/jobs/count"): (ALL, _path("/api/v1/jobs/count")),
    ("GET", "/api/v1/jobs/{job_id}"): (OWN, _path("/api/v1/jobs/{job}")),
    ("POST", "/api/v1/jobs/{job_id}/cancel"): (
        {"operator", "org-admin", "member"}, _path("/api/v1/jobs/{job}/cancel")),
    ("GET", "/api/v1/jobs/{job_id}/logs"): (OWN, _path("/api/v1/jobs/{done_job}/logs")),
    ("GET", "/api/v1/jobs/{job_id}/logs/stream"): (
        OWN, _path("/api/v1/jobs/{done_job}/logs/stream")),
    ("GET", "/api/v1/usage"): (ALL, _path("/api/v1/usage")),
    ("GET", "/api/v1/usage/daily"): (ALL, _path("/api/v1/usage/daily?month=2026-01")),
    ("GET", "/api/v1/orgs/{org_id}/statements/{month}"): (
        OWN, _path("/api/v1/orgs/{org}/statements/2026-01")),
    # the licensed-data exchange (organisation A provides dataset "world-news")
    ("POST", "/api/v1/datasets"): ({"operator", "org-admin", "data-provider"}, _body(
        "/api/v1/datasets?name=upload-{org}&licence=x&filename=a.jsonl&org_id={org}",
        lambda w: {"text": "한 줄의 기사 본문입니다"})),
    ("GET", "/api/v1/datasets"): (ALL, _path("/api/v1/datasets")),
    ("GET", "/api/v1/uploads"): (ALL, _path("/api/v1/uploads")),
    ("GET", "/api/v1/uploads/{upload_id}"): (OWN, _path("/api/v1/uploads/{upload}")),
    ("GET", "/api/v1/datasets/{dataset_id}"): (ALL, _path("/api/v1/datasets/world-news")),
    ("GET", "/api/v1/dataset-reads"): (ALL, _path("/api/v1/dataset-reads")),
    ("POST", "/api/v1/datasets/{dataset_id}/offers"): (
        {"operator", "org-admin", "data-provider"}, _body(
            "/api/v1/datasets/world-news/offers", lambda w: {
                "purposes": ["evaluation"], "term_start": "2020-01-01",
                "term_end": "2099-12-31", "price": {"basis": "flat", "amount": "10"}})),
    ("GET", "/api/v1/offers"): (ALL, _path("/api/v1/offers")),
    ("GET", "/api/v1/data/withheld"): (ALL, _path("/api/v1/data/withheld")),
    ("GET", "/api/v1/data/withheld/{job_id}"): (  # the provider's reviewers, not the tenant
        {"operator", "auditor", "org-admin", "data-provider"},
        _path("/api/v1/data/withheld/{done_job}")),
    ("POST", "/api/v1/offers/{offer_id}/accept"): ({"operator", "org-admin", "member"}, _body(
        "/api/v1/offers/{offer}/accept",
        lambda w: {"purpose": "pre-training", "org_id": w.ids["org"]})),
    ("POST", "/api/v1/offers/{offer_id}/withdraw"): (
        {"operator", "org-admin", "data-provider"}, _path("/api/v1/offers/{offer}/withdraw")),
    ("POST", "/api/v1/offers/{offer_id}/price"): (
        {"operator", "org-admin", "data-provider"}, _body(
            "/api/v1/offers/{offer}/price", lambda w: {
                "price": {"basis": "per-gb", "amount": "2000"},
                "effective_from": "2099-01-01"})),
    ("POST", "/api/v1/agreements/{agreement_id}/terminate"): (
        {"operator", "org-admin", "data-provider"}, _body(
            "/api/v1/agreements/{agreement}/terminate",
            lambda w: {"kind": "cause", "reason": "breach"})),
    ("POST", "/api/v1/agreements/{agreement_id}/renew"): (
        {"operator", "org-admin", "member"}, _path("/api/v1/agreements/{agreement}/renew")),
    ("GET", "/api/v1/agreements"): (ALL, _path("/api/v1/agreements")),
    ("GET", "/api/v1/agreements/{agreement_id}"): (OWN, _path("/api/v1/agreements/{agreement}")),
    ("GET", "/api/v1/agreements/{agreement_id}/contract"): (
        OWN, _path("/api/v1/agreements/{agreement}/contract")),
    ("GET", "/api/v1/orgs/{org_id}/royalty-statements/{month}"): (
        OWN, _path("/api/v1/orgs/{org}/royalty-statements/2026-01")),
    ("GET", "/api/v1/audit"): ({"operator", "auditor"}, _path("/api/v1/audit?org={org}")),
    ("GET", "/api/v1/audit/verify"): ({"operator", "auditor"}, _path("/api/v1/audit/verify")),
    ("GET", "/api/v1/audit/proof/inclusion"): (
        {"operator", "auditor"}, _path("/api/v1/audit/proof/inclusion?seq=1")),
    ("GET", "/api/v1/audit/proof/consistency"): (
        {"operator", "auditor"}, _path("/api/v1/audit/proof/consistency?first=1")),
    ("GET", "/api/v1/audit/checkpoints"): (
        {"operator", "auditor"}, _path("/api/v1/audit/checkpoints")),
    ("POST", "/api/v1/audit/checkpoints"): ({"operator"}, _path("/api/v1/audit/checkpoints")),
    ("GET", "/api/v1/audit/keys"): ({"operator", "auditor"}, _path("/api/v1/audit/keys")),
    ("POST", "/api/v1/audit/keys/rotate"): ({"operator"}, _path("/api/v1/audit/keys/rotate")),
    # compliance reports: operators, auditors, and organisation A's providers and admins on A
    **{("GET", f"/api/v1/compliance/{report}"): (
        {"operator", "auditor", "org-admin", "data-provider"},
        _path(f"/api/v1/compliance/{report}?org_id={{org}}"))
       for report in ("datasets", "residency", "pii", "compute")},
    # plans: a computation on the catalogue, nothing read or stored
    ("GET", "/api/v1/plans/models"): (ALL, _path("/api/v1/plans/models")),
    ("POST", "/api/v1/plans"): (ALL, _body("/api/v1/plans", lambda w: {
        "model": "llama-3.1-8b", "tokens": 1e9, "chip": "nvidia-h100-sxm", "count": 8})),
    ("POST", "/api/v1/plans/compare"): (ALL, _body("/api/v1/plans/compare", lambda w: {
        "model": "llama-3.1-8b", "tokens": 1e9, "count": 8})),
    # fleet and proposal scoring: a computation on the caller's own text, nothing read or
    # stored; procurement: the center's staff (the MILP's cost is the one a request can blow up)
    ("GET", "/api/v1/fleet/rubrics"): (ALL, _path("/api/v1/fleet/rubrics")),
    ("POST", "/api/v1/fleet/score"): (ALL, _body("/api/v1/fleet/score", lambda w: {
        "fleet": FLEET, "rubric": "korea-nacc-2025"})),
    ("POST", "/api/v1/proposals/score"): (ALL, _body("/api/v1/proposals/score", lambda w: {
        "proposals": [{"text": FLEET, "name": "a.yaml"}], "rubric": "korea-nacc-2025"})),
    ("POST", "/api/v1/procurement"): ({"operator", "auditor"}, _body(
        "/api/v1/procurement", lambda w: {"offers": OFFERS, "budget_krw": "1000000000"})),
    # reclaim notices: everyone signed in, scoped to their organisation's grants
    ("GET", "/api/v1/reclaim-notices"): (ALL, _path("/api/v1/reclaim-notices")),
    ("GET", "/api/v1/reclaim-notices/count"): (ALL, _path("/api/v1/reclaim-notices/count")),
    ("GET", "/api/v1/models"): (ALL, _path("/api/v1/models")),
    ("GET", "/api/v1/models/keys"): (ALL, _path("/api/v1/models/keys")),  # public keys
    ("GET", "/api/v1/models/{model_id}"): (OWN, _path("/api/v1/models/{model}")),
    ("GET", "/api/v1/models/{model_id}/card"): (OWN, _path("/api/v1/models/{model}/card")),
    ("GET", "/api/v1/models/{model_id}/verify"): (
        OWN, _path("/api/v1/models/{model}/verify")),
}
CATALOGUE = {"/api/v1/datasets", "/api/v1/datasets/{dataset_id}", "/api/v1/offers",
             "/api/v1/shares"}
"""Public to everyone signed in: the catalogue names its providers (organisation A) by design."""


def build_world(ctx: ServiceContext) -> World:
    boot = bootstrap_operator(ctx)
    assert boot is not None
    op = Caller(boot[0])
    pool = pool_svc.add_pool(ctx, op, "nvidia-h100-sxm", 8)
    call = call_svc.open_call(ctx, op, call_svc.CallRequest(
        "call", frozenset({OrgClass.SME}), {"nvidia-h100-sxm": 64}))
    a = org_svc.create_org(ctx, op, "A", OrgClass.SME)
    b = org_svc.create_org(ctx, op, "B", OrgClass.SME)
    tokens = {"operator": boot[1]}

    def person(org_id: str, role: Role, email: str) -> Caller:
        p = org_svc.add_person(ctx, op, org_id, email, email, role)
        return Caller(p)

    everyone = {
        "auditor": person(boot[0].org_id, Role.AUDITOR, "aud@c.kr"),
        "org-admin": person(a.id, Role.ORG_ADMIN, "adm@a.kr"),
        "member": person(a.id, Role.MEMBER, "mem@a.kr"),
        "data-provider": person(a.id, Role.DATA_PROVIDER, "dp@a.kr"),
        "other-org": person(b.id, Role.MEMBER, "mem@b.kr"),
    }
    for role, caller in everyone.items():
        tokens[role] = org_svc.create_token(ctx, op, caller.person.id, "t",
                                            frozenset({Scope.READ, Scope.WRITE}), None)[1]
    target = person(a.id, Role.MEMBER, "target@a.kr")
    target_token = org_svc.create_token(ctx, op, target.person.id, "t",
                                        frozenset({Scope.READ}), None)[0]
    granted = call_svc.apply(ctx, op, call.id, a.id, "g", {"nvidia-h100-sxm": 8}, 3,
                                Decimal(100))
    call_svc.review(ctx, op, granted.id, 7, 7, 7)
    grant = grant_svc.award(ctx, op, granted.id, Decimal(100))
    with ctx.db.transaction() as tx:  # a reclaim notice on A's grant (the idle sweep's)
        tx.grants.set_notice(grant.grant.id, ctx.clock.now())
    pending = call_svc.apply(ctx, op, call.id, a.id, "p", {"nvidia-h100-sxm": 8}, 3,
                                Decimal(10))
    call_svc.review(ctx, op, pending.id, 6, 6, 6)
    unreviewed = call_svc.apply(ctx, op, call.id, a.id, "u", {"nvidia-h100-sxm": 8}, 3,
                                   Decimal(10))
    member = everyone["member"]
    spec = parse_job_spec("name: j\ncommand: 'true'\nresources: [{chip: nvidia-h100-sxm, "
                          "count: 1}]\nmax_duration: 60s\n")
    job, _ = job_svc.submit(ctx, member, spec)
    done, _ = job_svc.submit(ctx, member, spec)
    job_svc.cancel(ctx, member, done.id)
    source = ctx.settings.home / "world-news.jsonl"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text('{"text": "세계 뉴스 기사 본문"}\n', encoding="utf-8")
    dataset = dataset_svc.upload(ctx, everyone["data-provider"], dataset_svc.UploadRequest(
        "world-news", "world-news.jsonl", licence_text="proprietary"), source)
    offer = licence_svc.create_offer(ctx, everyone["data-provider"], dataset.id, {
        "purposes": ["pre-training"], "term_start": "2020-01-01", "term_end": "2099-12-31",
        "price": {"basis": "per-gb", "amount": "1000"}})
    agreement = licence_svc.accept(ctx, member, offer.id, "pre-training")
    with ctx.db.transaction() as tx:  # output withheld from the (cancelled) job, for review
        tx.output_releases.add(OutputRelease(
            done.id, "withheld", "withhold", "the log reproduces licensed records",
            ("world-news",), (a.id,), (), 0, ctx.clock.now()))
    model = _model_of(ctx, done)
    share_svc.set_share(ctx, op, ShareHolder.ORG, a.id, Decimal(4))
    upload_id = upload_svc.new_upload_id()
    queued = upload_svc.upload_folder(ctx, upload_id) / "more.jsonl"
    queued.parent.mkdir(parents=True)
    queued.write_text('{"text": "더 많은 기사"}\n', encoding="utf-8")
    upload_svc.accept(ctx, everyone["data-provider"], upload_id, dataset_svc.UploadRequest(
        "world-news", "more.jsonl", licence_text="proprietary"), queued)
    with ctx.db.transaction() as tx:  # entries and a signed checkpoint for the audit routes
        for name in ("pool.added", "org.created"):
            audit_svc.record_change(tx, ctx.clock.now(), op, name, "org", a.id, a.id)
    audit_svc.checkpoint_now(ctx)
    identity = identity_svc.request_access(ctx, "https://idp.example.ac.kr", "sub-1",
                                           {"email": "new@a.kr", "name": "New Person"})
    return World(tokens, {"org": a.id, "call": call.id, "app": pending.id,
                          "unreviewed": unreviewed.id,
                          "grant": grant.grant.id, "job": job.id, "done_job": done.id,
                          "target": target.person.id, "target_token": target_token.id,
                          "offer": offer.id, "agreement": agreement.id,
                          "upload": upload_id, "pool": pool.id, "model": model,
                          "identity": identity.id})


def _model_of(ctx: ServiceContext, job: Any) -> str:
    """A model version of ``job`` (org A) with a signed card and its one file in the
    registry, as registration would leave them."""
    from aicenter.domain.model import ModelFile, ModelVersion, make_statement, sign
    from aicenter.services.model import models_dir

    files = (ModelFile("model/w.bin", hashlib.sha256(b"w").hexdigest(), 1),)
    final = {"h100e_hours": "0", "chip_hours": "0", "cost_krw": "0"}
    lineage = {"model": {"id": "mdl_a", "name": "t", "version": 1, "org_id": job.org_id,
                         "org_name": "A", "registered_at": "2026-01-01T00:00:00Z"},
               "job": {"id": job.id, "name": "t", "purpose": "pre-training"},
               "datasets": [], "compute": {"runs": [], "chips": [], "pools": [],
                                           "countries": [], "final_run": final,
                                           "all_runs": final},
               "unproven": ["code"]}
    keys = audit_svc.KeyStore.of(ctx)
    envelope = sign(make_statement(files, lineage), keys.signing_key(), keys.current_key_id())
    (models_dir(ctx) / "mdl_a" / "model").mkdir(parents=True, exist_ok=True)
    (models_dir(ctx) / "mdl_a" / "model" / "w.bin").write_bytes(b"w")
    with ctx.db.transaction() as tx:
        tx.models.add(ModelVersion("mdl_a", job.org_id, job.id, "t", 1, files, envelope,
                                   ctx.clock.now()))
    return "mdl_a"


def test_the_table_covers_every_route(ctx: ServiceContext) -> None:
    paths = create_app(ctx).openapi()["paths"]
    routes = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    assert routes == set(TABLE)


@pytest.mark.parametrize("route", sorted(TABLE), ids=lambda r: f"{r[0]} {r[1]}")
def test_every_role_on_route(ctx: ServiceContext, route: tuple[str, str]) -> None:
    """Each role in turn; the world is rebuilt after a call that may have changed it."""
    allowed, build = TABLE[route]
    world = build_world(ctx)
    failures = []
    with TestClient(create_app(ctx)) as client:
        for role in ROLES:
            path, body = build(world)
            headers = ({"Authorization": f"Bearer {world.tokens[role]}"}
                       if role != "anonymous" else {})
            response = client.request(route[0], path, json=body, headers=headers)
            code = response.status_code
            if role in allowed:
                ok = 200 <= code < 300
                if ok and role == "other-org" and route[0] == "GET" and \
                        route[1] not in CATALOGUE:
                    ok = world.ids["org"] not in response.text  # lists leak nothing of A
                if route[0] != "GET":
                    world = build_world_again(ctx)
            elif role == "anonymous":
                ok = code == 401
            else:
                ok = code == 403 and "may not" in response.json()["detail"]
            if not ok:
                failures.append(f"{role}: {code} {response.text[:200]}")
    assert not failures, "\n".join(failures)


def build_world_again(ctx: ServiceContext) -> World:
    """A fresh world in the same database: wipe the tables, then build it again."""
    from sqlalchemy import delete, update

    from aicenter.storage.tables import metadata

    with ctx.db.transaction() as tx:
        for table in reversed(metadata.sorted_tables):
            if table.name == "audit_head":  # the log's one row, present from migration on
                tx.conn.execute(update(table).values(seq=0, hash=bytes(32)))
                continue
            tx.conn.execute(delete(table))
    return build_world(ctx)
