"""Typed HTTP client. The CLI uses nothing else to talk to the center.

Every method returns the API's response models; an error response raises :class:`ApiError`
with the server's readable message (the CLI prints it as ``error: ...``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from aicenter.client.fleet_models import (
    FleetScoreIn,
    ProcurementIn,
    ProcurementOut,
    ProposalIn,
    ProposalsScoreIn,
    RankedProposalOut,
    RubricPresetOut,
    ScoreOut,
)
from aicenter.client.grant_models import ReclaimNoticeOut
from aicenter.client.models import (
    AgreementOut,
    ApplicationOut,
    AuditEntryOut,
    AuditKeyOut,
    AuditVerifyOut,
    CallOut,
    CapacityOut,
    CheckpointOut,
    ComplianceComputeOut,
    CompliancePiiOut,
    ComplianceReadsOut,
    ComplianceResidencyOut,
    ConsistencyProofOut,
    DailyUsageOut,
    DatasetDetailOut,
    DatasetOut,
    DatasetReadOut,
    GrantOut,
    InclusionProofOut,
    JobCountOut,
    JobOut,
    LogOut,
    ModelCardOut,
    ModelVerifyOut,
    ModelVersionOut,
    OccupancyOut,
    OfferOut,
    OrgOut,
    PersonOut,
    PolicyOut,
    PoolOut,
    RankedOut,
    ReclaimOut,
    ReviewOut,
    RoyaltyStatementOut,
    ShareOut,
    SigningKeyOut,
    StatementOut,
    TokenOut,
    UploadOut,
    UsageOut,
    WhoAmI,
    WithheldOut,
)
from aicenter.client.plan_models import CompareIn, CompareOut, PlanIn, PlanOut
from aicenter.domain.errors import AicenterError

M = TypeVar("M", bound=BaseModel)

DEFAULT_URL = "http://127.0.0.1:8000"
"""``Settings.url``'s default (tests/client/test_leaf.py checks they agree)."""


def endpoint_from_environment() -> tuple[str, str | None]:
    """``AICENTER_URL`` and ``AICENTER_TOKEN`` read as :class:`aicenter.settings.Settings`
    reads them (names in any case, the last such variable winning), without building that
    class: importing pydantic-settings and building its ~40 fields cost every CLI command about
    80 ms of CPU for two strings."""
    found: dict[str, str] = {}
    for name, value in os.environ.items():
        found[name.lower()] = value
    return found.get("aicenter_url", DEFAULT_URL), found.get("aicenter_token")


class ApiError(AicenterError):
    """The server answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class Client:
    """A client of one server (``AICENTER_URL``) with one token (``AICENTER_TOKEN``)."""

    def __init__(self, url: str | None = None, token: str | None = None, *,
                 transport: httpx.BaseTransport | None = None, timeout_s: float = 30.0) -> None:
        env = endpoint_from_environment() if url is None or token is None else None
        self.url = (url or (env[0] if env else "")).rstrip("/")
        self.token = token if token is not None else (env[1] if env else None)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self._http = httpx.Client(base_url=self.url + "/api/v1", headers=headers,
                                  timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------
    def request(self, method: str, path: str, *, json: Any = None,
                params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
                ) -> Any:
        """Send one request; the decoded JSON body, or :class:`ApiError`."""
        try:
            response = self._http.request(method, path, json=json, params=params,
                                          headers=headers)
        except httpx.TransportError as exc:
            raise ApiError(f"cannot reach the aicenter server at {self.url} ({exc}); start it "
                           "with 'aicenter serve' or set AICENTER_URL") from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiError(f"{detail} (HTTP {response.status_code})", response.status_code)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _one(self, model: type[M], method: str, path: str, **kw: Any) -> M:
        return model.model_validate(self.request(method, path, **kw))

    def _many(self, model: type[M], method: str, path: str, **kw: Any) -> list[M]:
        return TypeAdapter(list[model]).validate_python(  # type: ignore[valid-type]
            self.request(method, path, **kw))

    # -- organisations, people, tokens ----------------------------------------------------
    def health(self) -> dict[str, str]:
        result: dict[str, str] = self.request("GET", "/health")
        return result

    def wait_until_up(self, timeout_s: float = 30.0) -> None:
        """Poll /health until the server answers (used by ``aicenter demo`` and tests)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.health()
                return
            except ApiError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def whoami(self) -> WhoAmI:
        return self._one(WhoAmI, "GET", "/whoami")

    def create_org(self, name: str, org_class: str, *, chase_team: bool = False,
                   region: str = "capital") -> OrgOut:
        body = {"name": name, "org_class": org_class, "chase_team": chase_team,
                "region": region}
        return self._one(OrgOut, "POST", "/orgs", json=body)

    def list_orgs(self) -> list[OrgOut]:
        return self._many(OrgOut, "GET", "/orgs")

    def get_org(self, org_id: str) -> OrgOut:
        return self._one(OrgOut, "GET", f"/orgs/{org_id}")

    def entitle(self, org_id: str, priority_class: str) -> OrgOut:
        """Entitle an organisation to a job priority class (operators)."""
        return self._one(OrgOut, "PUT", f"/orgs/{org_id}/priorities/{priority_class}")

    def revoke_priority(self, org_id: str, priority_class: str) -> OrgOut:
        """Take a job priority class back from an organisation (operators)."""
        return self._one(OrgOut, "DELETE", f"/orgs/{org_id}/priorities/{priority_class}")

    def add_person(self, org_id: str, name: str, email: str, role: str) -> PersonOut:
        return self._one(PersonOut, "POST", f"/orgs/{org_id}/people",
                         json={"name": name, "email": email, "role": role})

    def list_people(self, org_id: str) -> list[PersonOut]:
        return self._many(PersonOut, "GET", f"/orgs/{org_id}/people")

    def create_token(self, person_id: str, name: str, scopes: list[str] | None = None,
                     expires_in_days: float | None = None) -> TokenOut:
        body: dict[str, Any] = {"name": name, "expires_in_days": expires_in_days}
        if scopes is not None:
            body["scopes"] = scopes
        return self._one(TokenOut, "POST", f"/people/{person_id}/tokens", json=body)

    def list_tokens(self, person_id: str) -> list[TokenOut]:
        return self._many(TokenOut, "GET", f"/people/{person_id}/tokens")

    def revoke_token(self, token_id: str) -> TokenOut:
        return self._one(TokenOut, "POST", f"/tokens/{token_id}/revoke")

    # -- guaranteed shares ----------------------------------------------------------------
    def list_shares(self) -> list[ShareOut]:
        return self._many(ShareOut, "GET", "/shares")

    def set_share(self, holder_kind: str, holder_id: str, guaranteed_h100e: str) -> ShareOut:
        """Set an organisation's (``org``) or a call's (``call``) guaranteed share in H100e."""
        return self._one(ShareOut, "PUT", f"/shares/{holder_kind}/{holder_id}",
                         json={"guaranteed_h100e": guaranteed_h100e})

    def clear_share(self, holder_kind: str, holder_id: str) -> None:
        self.request("DELETE", f"/shares/{holder_kind}/{holder_id}")

    # -- the center's Cedar policies ----------------------------------------------------------
    def show_policy(self) -> PolicyOut:
        """The policy text in force, its version and sha256."""
        return self._one(PolicyOut, "GET", "/policy")

    def list_policy_versions(self) -> list[PolicyOut]:
        """Every version of the policies (0: the packaged ones), oldest first, no texts."""
        return self._many(PolicyOut, "GET", "/policy/versions")

    def set_policy(self, text: str) -> PolicyOut:
        """Put ``text`` in force as the next version (operators)."""
        return self._one(PolicyOut, "PUT", "/policy", json={"text": text})

    # -- the audit log ---------------------------------------------------------------------
    def list_audit(self, *, org: str | None = None, object_type: str | None = None,
                   object_id: str | None = None, action: str | None = None,
                   since: str | None = None, until: str | None = None, after: int = 0,
                   limit: int = 1000) -> list[AuditEntryOut]:
        """Entries of the audit log in sequence order (operators, auditors); page on with
        ``after`` = the last seq seen."""
        params: dict[str, Any] = {"org": org, "object_type": object_type,
                                  "object_id": object_id, "action": action, "since": since,
                                  "until": until, "after": after, "limit": limit}
        return self._many(AuditEntryOut, "GET", "/audit",
                          params={k: v for k, v in params.items() if v is not None})

    def verify_audit(self) -> AuditVerifyOut:
        """The server's check of the whole log: the first bad entry, if any."""
        return self._one(AuditVerifyOut, "GET", "/audit/verify")

    def audit_inclusion(self, seq: int, size: int | None = None) -> InclusionProofOut:
        params: dict[str, Any] = {"seq": seq} | ({"size": size} if size is not None else {})
        return self._one(InclusionProofOut, "GET", "/audit/proof/inclusion", params=params)

    def audit_consistency(self, first: int, second: int | None = None) -> ConsistencyProofOut:
        params: dict[str, Any] = {"first": first} | (
            {"second": second} if second is not None else {})
        return self._one(ConsistencyProofOut, "GET", "/audit/proof/consistency",
                         params=params)

    def audit_checkpoints(self) -> list[CheckpointOut]:
        return self._many(CheckpointOut, "GET", "/audit/checkpoints")

    def audit_checkpoint(self) -> CheckpointOut | None:
        """Sign a checkpoint now (operators); None when nothing was appended since the last."""
        body = self.request("POST", "/audit/checkpoints")
        return None if body is None else CheckpointOut.model_validate(body)

    def audit_keys(self) -> list[AuditKeyOut]:
        return self._many(AuditKeyOut, "GET", "/audit/keys")

    def rotate_audit_key(self) -> AuditKeyOut:
        return self._one(AuditKeyOut, "POST", "/audit/keys/rotate")

    # -- compliance reports ----------------------------------------------------------------
    @staticmethod
    def _scope(**given: str | None) -> dict[str, str]:
        return {k: v for k, v in given.items() if v is not None}

    def compliance_datasets(self, *, org_id: str | None = None, dataset_id: str | None = None,
                            month: str | None = None) -> ComplianceReadsOut:
        """Who read each dataset (of provider ``org_id``), when, from which job, where and
        under which agreement and purpose; ``matches``: the log's rebuild agrees."""
        return self._one(ComplianceReadsOut, "GET", "/compliance/datasets", params=self._scope(
            org_id=org_id, dataset_id=dataset_id, month=month))

    def compliance_residency(self, *, org_id: str | None = None,
                             dataset_id: str | None = None, month: str | None = None
                             ) -> ComplianceResidencyOut:
        """Reads of domestic datasets outside the domestic countries (none expected)."""
        return self._one(ComplianceResidencyOut, "GET", "/compliance/residency",
                         params=self._scope(org_id=org_id, dataset_id=dataset_id, month=month))

    def compliance_pii(self, *, org_id: str | None = None, dataset_id: str | None = None
                       ) -> CompliancePiiOut:
        """The PII actions applied at ingest to each dataset version."""
        return self._one(CompliancePiiOut, "GET", "/compliance/pii",
                         params=self._scope(org_id=org_id, dataset_id=dataset_id))

    def compliance_compute(self, *, org_id: str | None = None, month: str | None = None
                           ) -> ComplianceComputeOut:
        """Chip-hours and h100e-hours per organisation, month, chip type and country."""
        return self._one(ComplianceComputeOut, "GET", "/compliance/compute",
                         params=self._scope(org_id=org_id, month=month))

    def compliance_csv(self, report: str, *, org_id: str | None = None,
                       dataset_id: str | None = None, month: str | None = None) -> str:
        """A report's rows as CSV (``report``: datasets, residency, pii or compute; the
        filters as the JSON methods take them)."""
        params = self._scope(org_id=org_id, dataset_id=dataset_id, month=month)
        return self._raw("GET", f"/compliance/{report}", params={**params, "format": "csv"}
                         ).text

    # -- models and their provenance cards -------------------------------------------------
    def list_models(self, org_id: str | None = None, name: str | None = None
                    ) -> list[ModelVersionOut]:
        params = {k: v for k, v in (("org_id", org_id), ("name", name)) if v is not None}
        return self._many(ModelVersionOut, "GET", "/models", params=params)

    def get_model(self, model_id: str) -> ModelVersionOut:
        return self._one(ModelVersionOut, "GET", f"/models/{model_id}")

    def model_card(self, model_id: str) -> ModelCardOut:
        """The signed card (DSSE envelope) and its Hugging Face model card markdown."""
        return self._one(ModelCardOut, "GET", f"/models/{model_id}/card")

    def verify_model(self, model_id: str) -> ModelVerifyOut:
        """The center checks its registry's copy of the files and the card's signature."""
        return self._one(ModelVerifyOut, "GET", f"/models/{model_id}/verify")

    def model_signing_keys(self) -> dict[str, bytes]:
        """Every public key the center signs cards with: key id -> raw 32 bytes."""
        keys = self._many(SigningKeyOut, "GET", "/models/keys")
        return {k.key_id: bytes.fromhex(k.public_key) for k in keys}

    # -- pools, calls, applications, grants -----------------------------------------------
    def add_pool(self, chip_id: str, chip_count: int, site: str = "haenam",
                 country: str = "KR", pool_id: str | None = None) -> PoolOut:
        """Register a pool; ``country`` (ISO alpha-2) decides who may read domestic data."""
        body: dict[str, Any] = {"chip_id": chip_id, "chip_count": chip_count, "site": site,
                                "country": country}
        if pool_id is not None:
            body["id"] = pool_id
        return self._one(PoolOut, "POST", "/pools", json=body)

    def list_pools(self, include_removed: bool = False) -> list[PoolOut]:
        return self._many(PoolOut, "GET", "/pools",
                          params={"include_removed": "true"} if include_removed else None)

    def get_pool(self, pool_id: str) -> PoolOut:
        return self._one(PoolOut, "GET", f"/pools/{pool_id}")

    def update_pool(self, pool_id: str, *, chip_count: int | None = None,
                    site: str | None = None, country: str | None = None) -> PoolOut:
        """Resize or move a pool; only the fields given change."""
        body = {k: v for k, v in (("chip_count", chip_count), ("site", site),
                                  ("country", country)) if v is not None}
        return self._one(PoolOut, "PATCH", f"/pools/{pool_id}", json=body)

    def drain_pool(self, pool_id: str) -> PoolOut:
        return self._one(PoolOut, "POST", f"/pools/{pool_id}/drain")

    def undrain_pool(self, pool_id: str) -> PoolOut:
        return self._one(PoolOut, "POST", f"/pools/{pool_id}/undrain")

    def remove_pool(self, pool_id: str) -> PoolOut:
        return self._one(PoolOut, "DELETE", f"/pools/{pool_id}")

    def occupancy(self) -> OccupancyOut:
        """Every pool's busy chips and the number of queued and running jobs."""
        return self._one(OccupancyOut, "GET", "/occupancy")

    def capacity(self) -> CapacityOut:
        """Per chip type and pool: the database's chips, the engine's and the scheduler's."""
        return self._one(CapacityOut, "GET", "/capacity")

    def open_call(self, name: str, eligible_classes: list[str],
                  max_chips_per_project: dict[str, int], **options: Any) -> CallOut:
        body = {"name": name, "eligible_classes": eligible_classes,
                "max_chips_per_project": max_chips_per_project, **options}
        return self._one(CallOut, "POST", "/calls", json=body)

    def list_calls(self) -> list[CallOut]:
        return self._many(CallOut, "GET", "/calls")

    def get_call(self, call_id: str) -> CallOut:
        return self._one(CallOut, "GET", f"/calls/{call_id}")

    def close_call(self, call_id: str) -> CallOut:
        return self._one(CallOut, "POST", f"/calls/{call_id}/close")

    def apply(self, call_id: str, title: str, chips: dict[str, int], months: int,
              requested_h100e_h: float | str, *, org_id: str | None = None,
              plan: dict[str, Any] | None = None) -> ApplicationOut:
        body = {"title": title, "chips": chips, "months": months,
                "requested_h100e_h": str(requested_h100e_h), "org_id": org_id,
                "plan": plan or {}}
        return self._one(ApplicationOut, "POST", f"/calls/{call_id}/applications", json=body)

    def list_applications(self, call_id: str) -> list[ApplicationOut]:
        return self._many(ApplicationOut, "GET", f"/calls/{call_id}/applications")

    def review(self, application_id: str, impact: float, readiness: float,
               ecosystem: float) -> ReviewOut:
        return self._one(ReviewOut, "POST", f"/applications/{application_id}/reviews",
                         json={"impact": impact, "readiness": readiness,
                               "ecosystem": ecosystem})

    def ranking(self, call_id: str) -> list[RankedOut]:
        return self._many(RankedOut, "GET", f"/calls/{call_id}/ranking")

    # -- plans ----------------------------------------------------------------------------
    def plan_models(self) -> list[str]:
        """The model presets :meth:`plan` and :meth:`compare_plans` accept."""
        result: list[str] = self.request("GET", "/plans/models")
        return result

    def plan(self, model: str, tokens: float, chip: str, count: int = 1024) -> PlanOut:
        """Cost (rental and owned), time and energy of a run on ``count`` × ``chip``."""
        body = PlanIn(model=model, tokens=tokens, chip=chip, count=count)
        return self._one(PlanOut, "POST", "/plans", json=body.model_dump())

    def compare_plans(self, model: str, tokens: float, count: int = 1024,
                      deadline_days: float | None = None) -> CompareOut:
        """The run on every trainable chip type, the cheapest on each basis named."""
        body = CompareIn(model=model, tokens=tokens, count=count, deadline_days=deadline_days)
        return self._one(CompareOut, "POST", "/plans/compare", json=body.model_dump())

    # -- fleet and proposal scoring, procurement --------------------------------------------
    def rubric_presets(self) -> list[RubricPresetOut]:
        """The rubric presets a score or a procurement may name."""
        return self._many(RubricPresetOut, "GET", "/fleet/rubrics")

    def score_fleet(self, fleet_yaml: str, *, rubric: str | None = None,
                    rubric_yaml: str | None = None, name: str = "") -> ScoreOut:
        """A fleet or proposal YAML text scored with a preset (or a rubric YAML text)."""
        body = FleetScoreIn(fleet=fleet_yaml, name=name, rubric=rubric, rubric_yaml=rubric_yaml)
        return self._one(ScoreOut, "POST", "/fleet/score", json=body.model_dump())

    def score_proposals(self, proposals: dict[str, str], *, rubric: str | None = None,
                        rubric_yaml: str | None = None) -> list[RankedProposalOut]:
        """Proposals (file name → YAML text) scored together and ranked, best first."""
        body = ProposalsScoreIn(proposals=[ProposalIn(text=text, name=name)
                                           for name, text in proposals.items()],
                                rubric=rubric, rubric_yaml=rubric_yaml)
        return self._many(RankedProposalOut, "POST", "/proposals/score",
                          json=body.model_dump())

    def procure(self, offers_yaml: str, budget_krw: str | int, *, power_mw: float | None = None,
                rubric: str | None = None, rubric_yaml: str | None = None,
                min_score: float | None = None, name: str = "") -> ProcurementOut:
        """The procurement optimiser's purchase from an offers YAML text (center staff)."""
        body = ProcurementIn(offers=offers_yaml, name=name, budget_krw=Decimal(str(budget_krw)),
                             power_mw=power_mw, rubric=rubric, rubric_yaml=rubric_yaml,
                             min_score=min_score)
        return self._one(ProcurementOut, "POST", "/procurement",
                         json=body.model_dump(mode="json"))

    def award_grant(self, application_id: str, budget_h100e_h: float | str, *,
                    months: int | None = None, chip_ids: list[str] | None = None,
                    without_review: str | None = None) -> GrantOut:
        """Award a grant; ``without_review`` (the reason) for an application nobody
        reviewed."""
        body = {"application_id": application_id, "budget_h100e_h": str(budget_h100e_h),
                "months": months, "chip_ids": chip_ids, "without_review": without_review}
        return self._one(GrantOut, "POST", "/grants", json=body)

    def reject_application(self, application_id: str, reason: str) -> ApplicationOut:
        return self._one(ApplicationOut, "POST", f"/applications/{application_id}/reject",
                         json={"reason": reason})

    def list_grants(self, org_id: str | None = None) -> list[GrantOut]:
        return self._many(GrantOut, "GET", "/grants",
                          params={"org_id": org_id} if org_id else None)

    def get_grant(self, grant_id: str) -> GrantOut:
        return self._one(GrantOut, "GET", f"/grants/{grant_id}")

    def reclaim_idle(self) -> ReclaimOut:
        return self._one(ReclaimOut, "POST", "/grants/reclaim")

    def reclaim_notices(self, org_id: str | None = None) -> list[ReclaimNoticeOut]:
        """Grants noticed as idle, each with when it is reclaimed unless used."""
        return self._many(ReclaimNoticeOut, "GET", "/reclaim-notices",
                          params={"org_id": org_id} if org_id else None)

    # -- jobs, usage ----------------------------------------------------------------------
    def submit_job(self, spec: dict[str, Any], *, grant_id: str | None = None,
                   org_id: str | None = None, idempotency_key: str | None = None) -> JobOut:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._one(JobOut, "POST", "/jobs", json={"spec": spec, "grant_id": grant_id,
                                                        "org_id": org_id}, headers=headers)

    def list_jobs(self, *, org_id: str | None = None, status: str | None = None
                  ) -> list[JobOut]:
        params = {k: v for k, v in (("org_id", org_id), ("status", status)) if v}
        return self._many(JobOut, "GET", "/jobs", params=params or None)

    def count_jobs(self, *, org_id: str | None = None, status: str | None = None) -> int:
        """How many jobs :meth:`list_jobs` would list with the same filters, without a limit."""
        params = {k: v for k, v in (("org_id", org_id), ("status", status)) if v}
        return self._one(JobCountOut, "GET", "/jobs/count", params=params or None).count

    def get_job(self, job_id: str) -> JobOut:
        return self._one(JobOut, "GET", f"/jobs/{job_id}")

    def cancel_job(self, job_id: str) -> JobOut:
        return self._one(JobOut, "POST", f"/jobs/{job_id}/cancel")

    def job_logs(self, job_id: str, offset: int = 0) -> LogOut:
        return self._one(LogOut, "GET", f"/jobs/{job_id}/logs", params={"offset": offset})

    def follow_logs(self, job_id: str) -> Iterator[str]:
        """The job's log as it is written, until the job ends (a streamed response)."""
        with self._http.stream("GET", f"/jobs/{job_id}/logs/stream", timeout=None) as response:
            if response.status_code >= 400:
                response.read()
                raise ApiError(f"{response.json().get('detail')} (HTTP "
                               f"{response.status_code})", response.status_code)
            yield from response.iter_text()

    def wait_for_job(self, job_id: str, timeout_s: float = 60.0) -> JobOut:
        """Poll until the job has finished (succeeded, failed or cancelled)."""
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.get_job(job_id)
            if job.status in ("succeeded", "failed", "cancelled"):
                return job
            if time.monotonic() > deadline:
                raise ApiError(f"job {job_id} still {job.status} after {timeout_s} s")
            time.sleep(0.1)

    def list_usage(self, *, org_id: str | None = None, job_id: str | None = None,
                   month: str | None = None) -> list[UsageOut]:
        params = {k: v for k, v in (("org_id", org_id), ("job_id", job_id), ("month", month))
                  if v}
        return self._many(UsageOut, "GET", "/usage", params=params or None)

    def daily_usage(self, month: str, *, org_id: str | None = None) -> list[DailyUsageOut]:
        """Charged h100e-hours per UTC day and organisation in ``month`` (YYYY-MM)."""
        params = {"month": month} | ({"org_id": org_id} if org_id else {})
        return self._many(DailyUsageOut, "GET", "/usage/daily", params=params)

    def statement(self, org_id: str, month: str) -> StatementOut:
        return self._one(StatementOut, "GET", f"/orgs/{org_id}/statements/{month}")

    # -- licensed-data exchange ----------------------------------------------------------
    def _raw(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """Send one request whose answer need not be JSON; errors as in :meth:`request`."""
        try:
            response = self._http.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise ApiError(f"cannot reach the aicenter server at {self.url} ({exc})") from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiError(f"{detail} (HTTP {response.status_code})", response.status_code)
        return response

    def upload_dataset(self, path: Path, name: str, licence: str, *,
                       org_id: str | None = None, domestic: bool = True, description: str = "",
                       field: str = "text", input_format: str | None = None,
                       pii_actions: list[str] | None = None,
                       tdm_covered: list[str] | None = None, timeout_s: float = 3600.0
                       ) -> UploadOut:
        """Upload a file (streamed as the request body); the server queues it for ingest
        (follow it with :meth:`get_upload` or :meth:`wait_for_upload`)."""
        params: dict[str, Any] = {"name": name, "licence": licence, "filename": path.name,
                                  "domestic": str(domestic).lower(), "description": description,
                                  "field": field}
        if org_id:
            params["org_id"] = org_id
        if input_format:
            params["format"] = input_format
        if pii_actions:
            params["pii_action"] = pii_actions
        if tdm_covered:
            params["tdm_covered"] = tdm_covered
        with path.open("rb") as f:
            response = self._raw("POST", "/datasets", params=params, content=f,
                                 headers={"Content-Type": "application/octet-stream"},
                                 timeout=timeout_s)
        return UploadOut.model_validate(response.json())

    def get_upload(self, upload_id: str) -> UploadOut:
        return self._one(UploadOut, "GET", f"/uploads/{upload_id}")

    def list_uploads(self) -> list[UploadOut]:
        return self._many(UploadOut, "GET", "/uploads")

    def wait_for_upload(self, upload_id: str, timeout_s: float = 3600.0,
                        poll_s: float = 0.5) -> UploadOut:
        """Poll until the upload has succeeded or failed (ApiError on timeout)."""
        deadline = time.monotonic() + timeout_s
        while True:
            upload = self.get_upload(upload_id)
            if upload.status in ("succeeded", "failed"):
                return upload
            if time.monotonic() > deadline:
                raise ApiError(f"upload {upload_id} still {upload.status} after {timeout_s:.0f} s")
            time.sleep(poll_s)

    def list_datasets(self, provider_org_id: str | None = None) -> list[DatasetOut]:
        params = {"provider_org_id": provider_org_id} if provider_org_id else None
        return self._many(DatasetOut, "GET", "/datasets", params=params)

    def get_dataset(self, dataset_id: str) -> DatasetDetailOut:
        return self._one(DatasetDetailOut, "GET", f"/datasets/{dataset_id}")

    def create_offer(self, dataset_id: str, terms: dict[str, Any]) -> OfferOut:
        return self._one(OfferOut, "POST", f"/datasets/{dataset_id}/offers", json=terms)

    def list_offers(self, dataset_id: str | None = None) -> list[OfferOut]:
        params = {"dataset_id": dataset_id} if dataset_id else None
        return self._many(OfferOut, "GET", "/offers", params=params)

    def accept_offer(self, offer_id: str, purpose: str, org_id: str | None = None
                     ) -> AgreementOut:
        return self._one(AgreementOut, "POST", f"/offers/{offer_id}/accept",
                         json={"purpose": purpose, "org_id": org_id})

    def withdraw_offer(self, offer_id: str) -> OfferOut:
        return self._one(OfferOut, "POST", f"/offers/{offer_id}/withdraw")

    def announce_price(self, offer_id: str, price: dict[str, Any], effective_from: str
                       ) -> OfferOut:
        """A new price for agreements accepted or renewed from ``effective_from`` (ISO date)."""
        return self._one(OfferOut, "POST", f"/offers/{offer_id}/price",
                         json={"price": price, "effective_from": effective_from})

    def terminate_agreement(self, agreement_id: str, kind: str, reason: str = ""
                            ) -> AgreementOut:
        return self._one(AgreementOut, "POST", f"/agreements/{agreement_id}/terminate",
                         json={"kind": kind, "reason": reason})

    def renew_agreement(self, agreement_id: str) -> AgreementOut:
        return self._one(AgreementOut, "POST", f"/agreements/{agreement_id}/renew")

    def list_agreements(self) -> list[AgreementOut]:
        return self._many(AgreementOut, "GET", "/agreements")

    def get_agreement(self, agreement_id: str) -> AgreementOut:
        return self._one(AgreementOut, "GET", f"/agreements/{agreement_id}")

    def contract(self, agreement_id: str, fmt: str = "markdown") -> str:
        """The agreement's contract document as Markdown or as JSON text."""
        return self._raw("GET", f"/agreements/{agreement_id}/contract",
                         params={"format": fmt}).text

    def dataset_reads(self, *, org_id: str | None = None, dataset_id: str | None = None
                      ) -> list[DatasetReadOut]:
        params = {k: v for k, v in (("org_id", org_id), ("dataset_id", dataset_id)) if v}
        return self._many(DatasetReadOut, "GET", "/dataset-reads", params=params or None)

    def list_withheld(self) -> list[WithheldOut]:
        """Withheld output of jobs that read your datasets (providers, operators)."""
        return self._many(WithheldOut, "GET", "/data/withheld")

    def withheld(self, job_id: str) -> WithheldOut:
        """One job's withheld log and outputs, for review."""
        return self._one(WithheldOut, "GET", f"/data/withheld/{job_id}")

    def royalty_statement(self, org_id: str, month: str) -> RoyaltyStatementOut:
        return self._one(RoyaltyStatementOut, "GET", f"/orgs/{org_id}/royalty-statements/{month}")

    def iter_lines(self, path: str, params: dict[str, Any] | None = None) -> Iterator[str]:
        """Stream a text response line by line."""
        with self._http.stream("GET", path, params=params, timeout=None) as response:
            if response.status_code >= 400:
                response.read()
                raise ApiError(f"{response.json().get('detail')} (HTTP "
                               f"{response.status_code})", response.status_code)
            yield from response.iter_lines()
