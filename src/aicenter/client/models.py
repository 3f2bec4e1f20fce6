"""Request and response bodies of the API (pydantic), and converters from domain objects.

A leaf: it imports only pydantic and ``aicenter.domain``, so the client, the CLI's remote
commands and the server's routers (through :mod:`aicenter.api.schemas`) share one definition
while the client never imports the server, SQLAlchemy or the scanner.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from aicenter.domain.org import Organisation, OrgClass
from aicenter.domain.person import Person, Role
from aicenter.domain.token import ApiToken, Scope
from aicenter.domain.units import Currency

# -- bounded input types: what PostgreSQL cannot store or Python cannot compute is refused
# here (422 naming the field), never deeper down as a 500 -----------------------------------
FIRST_YEAR, LAST_YEAR = 2000, 2100
"""Dates and months a request may name: wide enough for any real term, far from overflow."""


def _no_nul(value: str) -> str:
    if "\0" in value:
        raise ValueError("must not contain NUL (\\x00)")
    return value


def _no_nul_deep(value: Any) -> Any:
    """Refuse NUL in any key or string of a JSON value (stored as is)."""
    if isinstance(value, str):
        _no_nul(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(str(key))
            _no_nul_deep(item)
    elif isinstance(value, list):
        for item in value:
            _no_nul_deep(item)
    return value


def _year_in_range(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be in the years {FIRST_YEAR} to {LAST_YEAR}")
    return value


def _month_in_range(value: str) -> str:
    if not FIRST_YEAR <= int(value[:4]) <= LAST_YEAR:
        raise ValueError(f"must be a month of the years {FIRST_YEAR} to {LAST_YEAR}")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
"""A string without NUL (PostgreSQL's text cannot hold one)."""
JsonObject = Annotated[dict[str, Any], AfterValidator(_no_nul_deep)]
"""A JSON object without NUL in any key or string."""
Day = Annotated[date, AfterValidator(_year_in_range)]
"""An ISO date (2026-01-31) in the years FIRST_YEAR..LAST_YEAR."""
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$"),
                  AfterValidator(_month_in_range)]
"""A month like 2026-03, in the years FIRST_YEAR..LAST_YEAR."""
ChipCount = Annotated[int, Field(ge=1, le=1_000_000)]
Amount = Annotated[Decimal, Field(ge=0, le=10**15, allow_inf_nan=False)]
"""A finite, non-negative amount of money."""


class Model(BaseModel):
    """Base of every body. Validators are built on first use, not at import: the CLI starts
    for one command and needs one or two of these models, the server builds them all anyway."""

    model_config = ConfigDict(defer_build=True)


class Strict(Model):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class OrgIn(Strict):
    name: Text = Field(min_length=1, max_length=200, description="Unique name")
    org_class: OrgClass = Field(description="Class that sets eligibility and the price rule")
    chase_team: bool = Field(default=False, description="Member of the priority chase team")
    region: Text = Field(default="capital", min_length=1, max_length=80,
                        description="Region ('capital' gets no regional bonus)")


class OrgOut(Model):
    id: str
    name: str
    org_class: OrgClass
    chase_team: bool
    region: str
    created_at: datetime
    priority_classes: list[str] = Field(
        default_factory=list, description="Job priority classes the operator entitled it to")

    @staticmethod
    def of(org: Organisation) -> OrgOut:
        return OrgOut(id=org.id, name=org.name, org_class=org.org_class,
                      chase_team=org.chase_team, region=org.region, created_at=org.created_at,
                      priority_classes=sorted(c.value for c in org.priority_classes))


class PersonIn(Strict):
    name: Text = Field(min_length=1, max_length=200)
    email: Text = Field(min_length=3, max_length=320)
    role: Role


class PersonOut(Model):
    id: str
    org_id: str
    name: str
    email: str
    role: Role
    created_at: datetime

    @staticmethod
    def of(p: Person) -> PersonOut:
        return PersonOut(id=p.id, org_id=p.org_id, name=p.name, email=p.email, role=p.role,
                         created_at=p.created_at)


class TokenIn(Strict):
    name: Text = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(default_factory=lambda: [Scope.READ, Scope.WRITE], min_length=1)
    expires_in_days: float | None = Field(default=None, gt=0, le=3650)


class TokenOut(Model):
    id: str
    person_id: str
    name: str
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    secret: str | None = Field(default=None, description="Shown once, at creation")

    @staticmethod
    def of(t: ApiToken, secret: str | None = None) -> TokenOut:
        return TokenOut(id=t.id, person_id=t.person_id, name=t.name,
                        scopes=sorted(t.scopes), created_at=t.created_at,
                        expires_at=t.expires_at, revoked_at=t.revoked_at, secret=secret)


class WhoAmI(Model):
    person: PersonOut
    can_write: bool


def decimal_str(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


JsonDict = dict[str, Any]


# -- pools ---------------------------------------------------------------------------------
class PoolIn(Strict):
    chip_id: Text = Field(max_length=200, description="Catalog id, e.g. nvidia-h100-sxm")
    chip_count: int = Field(ge=1, le=1_000_000)
    site: Text = Field(default="haenam", min_length=1, max_length=80)
    country: Text = Field(default="KR", description="ISO 3166 alpha-2 country of the site; "
                         "datasets tagged domestic are read only on domestic pools")
    id: Text | None = Field(default=None, max_length=40,
                            description="An id of your choosing (lower case, digits, - and _); "
                            "a random one if left out")


class PoolUpdate(Strict):
    chip_count: int | None = Field(default=None, ge=1, le=1_000_000,
                                   description="New size; not below the chips running jobs "
                                   "hold there (409)")
    site: Text | None = Field(default=None, min_length=1, max_length=80)
    country: Text | None = Field(default=None, description="ISO 3166 alpha-2")


class PoolOut(Model):
    id: str
    chip_id: str
    chip_count: int
    site: str
    country: str = "KR"
    state: str = Field(default="active", description="active, draining (takes no new jobs) "
                       "or removed")
    chips_in_use: int = Field(default=0, description="Chips running jobs hold on it now")
    created_at: datetime | None = None


class OccupancyOut(Model):
    """The center at a glance (the overview page): every pool with the chips running jobs hold
    on it, and the queue. Counts only: no job of another organisation is named."""

    pools: list[PoolOut]
    queued: int = Field(description="Jobs waiting in the queue, every organisation's")
    running: int = Field(description="Jobs running now, every organisation's")


class PoolCapacityOut(Model):
    """One pool in the capacity view."""

    id: str
    chip_id: str
    state: str = Field(description="active or draining (removed pools are left out)")
    chip_count: int = Field(description="Chips the database records for the pool")
    chips_in_use: int = Field(description="Chips running jobs hold on it now")
    usable: int = Field(description="Chips the scheduler uses on it this round: the "
                        "database's count capped by the engine's free chips")


class ChipCapacityOut(Model):
    """One chip type: the database's chips beside the engine's count and the scheduler's."""

    chip_id: str
    database: int = Field(description="Chips over the type's pools that are not removed")
    chips_in_use: int = Field(description="Chips running jobs hold now")
    engine_total: int | None = Field(description="Chips the engine counts on its live nodes; "
                                     "null: not reported by the engine")
    engine_available: int | None = Field(description="Chips the engine has free now; null: "
                                         "not reported")
    engine_per_node: int | None = Field(description="The most chips of the type on one node")
    usable: int = Field(description="Chips the scheduler uses this round over the pools")
    pools: list[PoolCapacityOut]


class CapacityOut(Model):
    """The database's chips beside the execution engine's count, per chip type and pool."""

    backend: str = Field(description="The execution backend the server runs")
    reports_capacity: bool = Field(description="Whether the engine's own count caps the "
                                   "scheduler's pools (Slurm's nodes, Ray's resources); the "
                                   "local backend shows its slots, which are the pools")
    engine_error: str | None = Field(description="Why the engine could not be asked now; the "
                                     "database's counts then stand, as in the round")
    chips: list[ChipCapacityOut]


# -- calls, applications, reviews ----------------------------------------------------------
class CallIn(Strict):
    name: Text = Field(min_length=1, max_length=200)
    eligible_classes: list[OrgClass] = Field(min_length=1)
    max_chips_per_project: dict[Text, ChipCount] = Field(
        min_length=1, description="Per-project cap by chip type, e.g. {nvidia-h200: 256}")
    max_months: int = Field(default=12, ge=1, le=60)
    market_price_krw_per_h100e_h: Decimal | None = Field(default=None, ge=0, le=10**9)
    payable_fraction: dict[OrgClass, Annotated[Decimal, Field(ge=0, le=1)]] = Field(
        default_factory=dict, description="Share of the market price each class pays "
        "(defaults: academia 0, SMEs/startups 0.10, youth startups 0.05, enterprises 1)")
    chase_team_priority: bool = True
    regional_bonus: float = Field(default=1.0, ge=0, le=10)
    concentration_threshold: float = Field(default=0.2, gt=0, le=1)
    concentration_penalty: float = Field(default=2.0, ge=0, le=10)
    budget_h100e_h: Decimal | None = Field(
        default=None, gt=0, le=10**12, description="Total h100e-hours the call may award")


class CallOut(Model):
    id: str
    name: str
    status: str
    eligible_classes: list[str]
    max_chips_per_project: dict[str, int]
    max_months: int
    market_price_per_h100e_h: str
    currency: str
    payable_fraction: dict[str, str]
    chase_team_priority: bool
    regional_bonus: float
    concentration_threshold: float
    concentration_penalty: float
    opened_at: datetime
    budget_h100e_h: str | None = None


class ApplicationIn(Strict):
    org_id: Text | None = Field(default=None, description="Defaults to the caller's org")
    title: Text = Field(min_length=1, max_length=300)
    chips: dict[Text, ChipCount] = Field(min_length=1)
    months: int = Field(ge=1, le=60)
    requested_h100e_h: Decimal = Field(gt=0, le=10**12)
    plan: JsonObject = Field(default_factory=dict,
                                 description="The planner's estimate, attached as is")


class ApplicationOut(Model):
    id: str
    call_id: str
    org_id: str
    title: str
    chips: dict[str, int]
    months: int
    requested_h100e_h: str
    plan: dict[str, Any]
    status: str
    created_at: datetime | None
    decision_reason: str | None = None


class RejectIn(Strict):
    reason: Text = Field(min_length=1, max_length=2000,
                        description="Why, as the organisation will read it")


class ReviewIn(Strict):
    impact: float = Field(ge=0, le=10)
    readiness: float = Field(ge=0, le=10)
    ecosystem: float = Field(ge=0, le=10)


class ReviewOut(Model):
    application_id: str
    reviewer_id: str
    impact: float
    readiness: float
    ecosystem: float


class RankedOut(Model):
    """An application's place in its call: ``score = mean_review + regional_bonus -
    concentration_penalty`` (all 0 while nobody has reviewed it)."""

    application: ApplicationOut
    score: float
    reviews: int
    org_share_of_call: float
    mean_review: float = 0.0
    regional_bonus: float = 0.0
    concentration_penalty: float = 0.0


# -- grants --------------------------------------------------------------------------------
class GrantIn(Strict):
    application_id: Text
    budget_h100e_h: Decimal = Field(gt=0, le=10**12)
    months: int | None = Field(default=None, ge=1, le=60)
    chip_ids: list[Text] | None = None
    without_review: Text | None = Field(
        default=None, min_length=1, max_length=2000,
        description="Award an application nobody reviewed; the reason is kept on the grant")


class GrantOut(Model):
    id: str
    call_id: str
    application_id: str | None
    org_id: str
    status: str
    budget_h100e_h: str
    available_h100e_h: str
    held_h100e_h: str
    used_h100e_h: str
    chip_ids: list[str]
    chip_counts: dict[str, int] = Field(
        default_factory=dict, description="Chips of each type its jobs may hold at once")
    review_waiver: str | None = None
    starts_at: datetime
    ends_at: datetime
    last_used_at: datetime
    reclaim_notice_at: datetime | None


class ReclaimOut(Model):
    noticed: list[str]
    reclaimed: list[str]
    expired: list[str]


# -- jobs ----------------------------------------------------------------------------------
class JobIn(Strict):
    spec: dict[str, Any] = Field(description="The job spec (the YAML file's fields); NUL "
                                 "and the rest are refused by its own checks, naming the field")
    grant_id: Text | None = None
    org_id: Text | None = None


class JobOut(Model):
    id: str
    name: str
    org_id: str
    person_id: str
    grant_id: str
    status: str
    priority: str
    chip: str | None
    chip_count: int
    attempts: int
    hold_h100e_h: str = Field(description="Held per attempt (chips × ratio × max_duration): "
                              "each retry, preemption or lost run tops the hold back up to "
                              "this from the grant, or the job fails 'budget exhausted'")
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    exit_code: int | None
    message: str
    spec: dict[str, Any]
    pool_id: str | None = Field(default=None, description="The pool it was placed on (the "
                                "last one, once it ended)")
    site: str | None = None
    country: str | None = Field(default=None, description="The pool's country when it ran")
    pending_reason: str | None = Field(
        default=None, description="Why a queued job waits, as of the last scheduling round: "
        "Resources, Priority, QuotaExhausted, ChipCapReached or Residency")
    containment_notes: list[str] = Field(
        default_factory=list, description="What the execution engine cannot guarantee for this "
        "job (no kernel box, network not cut, limits not enforced by the center, datasets read "
        "in-process); empty on the local backend in its box")


class JobCountOut(Model):
    count: int = Field(description="How many jobs the same filters list without a limit")


class CountOut(Model):
    """The total a list's pages add up to (``GET /orgs/count``, ``GET /grants/count``...)."""

    count: int = Field(description="How many rows the list has with the same filters, "
                                   "without a limit")


class LogOut(Model):
    text: str
    next_offset: int
    complete: bool


# -- usage and statements ------------------------------------------------------------------
class UsageOut(Model):
    id: str
    job_id: str
    org_id: str
    grant_id: str
    chip_id: str
    chip_count: int
    interval_start: datetime
    interval_end: datetime
    chip_seconds: str
    h100e_seconds: str
    h100e_h: str


class DailyUsageOut(Model):
    day: date = Field(description="UTC day; a record counts in the month it starts, the share "
                      "of one that runs past the month's last midnight on the day after")
    org_id: str
    h100e_h: str = Field(description="Charged H100-equivalent hours that day (exact decimal)")


class StatementLineOut(Model):
    chip_id: str
    chip_hours: str
    h100e_h: str
    market: str
    payable: str
    subsidy: str


class StatementOut(Model):
    org_id: str
    org_name: str
    org_class: str
    month: str
    currency: str
    lines: list[StatementLineOut]
    total_h100e_h: str
    total_payable: str
    total_subsidy: str


# ---------------------------------------------------------------- licensed-data exchange
class DatasetOut(Model):
    """A dataset's metadata (records never leave the center)."""

    id: str
    name: str
    provider_org_id: str
    version: str
    manifest_sha256: str
    domestic: bool
    licence: str
    description: str
    records: int
    bytes: int
    created_at: datetime


class UploadOut(Model):
    """An upload: queued, ingesting, succeeded (the dataset version it made) or failed (why)."""

    id: str
    dataset_id: str
    provider_org_id: str
    status: str
    message: str
    version: str | None
    created_at: datetime
    finished_at: datetime | None


class DatasetDetailOut(DatasetOut):
    stats: dict[str, Any]
    pii_report: dict[str, Any]
    croissant: dict[str, Any]


class PriceIn(Strict):
    """A licence's price: a finite amount per unit of the basis."""

    basis: Literal["per-gb", "per-million-tokens", "flat"]
    amount: Amount
    currency: Currency = Currency.KRW


class OfferIn(Strict):
    """Licence terms; the provider and the dataset come from the route."""

    purposes: list[Text] = Field(description="pre-training, fine-tuning, evaluation, retrieval")
    term_start: Day = Field(description="First day (ISO date)")
    term_end: Day = Field(description="Last day (ISO date, inclusive)")
    territory: list[Text] = Field(default=["KR"], description="Countries of allowed pools")
    model_release: Text = Field(default="internal-only",
                                description="internal-only, research-release, commercial-release")
    price: PriceIn
    attribution: Text = Field(default="", max_length=2000)
    exclusive: bool = False
    chase_waiver_days: int = Field(default=0, ge=0, le=3660)
    agreement_days: int | None = Field(default=None, ge=1, le=36600)
    offered_to: list[Text] | Text | None = Field(default=None, description=(
        "A private offer: the organisations (ids) it is made to; only they see and accept it"))
    output_policy: Text = Field(default="withhold", description=(
        "withhold or redact: what happens to a job's log or output that reproduces the "
        "dataset's records (the strictest of a job's agreements applies)"))


class OfferOut(Model):
    id: str
    provider_id: str
    dataset_id: str
    terms: dict[str, Any]


class PriceChangeIn(Strict):
    """A new price announced ahead: it applies to agreements accepted or renewed from
    ``effective_from`` (at least the center's notice period away)."""

    price: PriceIn
    effective_from: Day = Field(description="First day the new price applies (ISO date)")


class TerminateIn(Strict):
    """End an agreement early: ``cause`` (the provider, with the reason) or ``mutual`` (it
    ends when both parties have asked)."""

    kind: Literal["cause", "mutual"]
    reason: Text = Field(default="", max_length=2000)


class AcceptIn(Strict):
    purpose: Text = Field(description="What the data will be used for")
    org_id: Text | None = Field(default=None, description="Accepting organisation (default: "
                               "the caller's)")


class AgreementOut(Model):
    id: str
    offer_id: str
    dataset_id: str
    org_id: str
    provider_id: str
    purpose: str
    accepted_at: datetime
    valid_until: datetime
    waiver_until: datetime | None
    price_basis: str
    price_krw: str
    ends_at: datetime | None = Field(default=None, description="When reads under it stop: "
                                     "valid_until, or the termination if earlier")
    terminated_at: datetime | None = None
    termination: str | None = Field(default=None, description="cause or mutual")
    termination_reason: str = ""
    end_requested_by: list[str] = Field(default_factory=list, description=(
        "Parties that asked for a mutual end (it ends when both have)"))
    renewed_from: str | None = None
    renewed_by: str | None = None


class DatasetReadOut(Model):
    job_id: str
    dataset_id: str
    org_id: str
    agreement_id: str
    records: int
    bytes: int
    tokens: int
    updated_at: datetime


class WithheldOut(Model):
    """A job's output withheld because it reproduces licensed records; ``files`` (the log
    and failing declared outputs) only when one job is asked for."""

    job_id: str
    verdict: str
    policy: str
    reason: str
    datasets: list[str]
    findings: list[dict[str, Any]]
    checked_bytes: int
    decided_at: datetime
    files: dict[str, str] | None = None


class RoyaltyStatementOut(Model):
    """The statement from the ledger, the same rebuilt from the audit log, and whether they
    agree."""

    provider_id: str
    month: str
    ledger: dict[str, Any]
    audit_log: dict[str, Any]
    matches: bool


# -- guaranteed shares ---------------------------------------------------------------------
class ShareIn(Strict):
    guaranteed_h100e: Annotated[Decimal, Field(
        ge=0, le=10_000_000, allow_inf_nan=False,
        description="H100e (chips × H100e per chip) the holder's jobs may hold at once "
        "ahead of others")]


class ShareOut(Model):
    holder_kind: str
    holder_id: str
    guaranteed_h100e: Decimal
    set_at: str
    set_by: str


# -- the center's Cedar policies -------------------------------------------------------------
class PolicyIn(Strict):
    text: Annotated[str, Field(min_length=1, max_length=1_000_000,
                               description="The whole Cedar policy text to put in force")]


class PolicyOut(Model):
    """A version of the policies: 0 is the packaged text; set_at/set_by are empty for it."""

    version: int
    sha256: str
    set_at: str | None = None
    set_by: str | None = None
    text: str | None = Field(None, description="The text (left out of the version list)")


# -- the audit log ---------------------------------------------------------------------------
class AuditEntryOut(Model):
    """One entry of the tamper-evident log, decoded from its signed body."""

    seq: int
    time: str
    actor_kind: str = Field(description="person, org, token or system")
    actor_id: str
    action: str = Field(description="e.g. job.submitted, authz.denied")
    object_type: str
    object_id: str
    org_id: str | None
    payload: dict[str, Any]
    decision: str | None = Field(description="allow or deny, for authorisation decisions")
    policy_id: str | None = Field(description="The policy that decided, when one did")
    prev_hash: str = Field(description="Hex SHA-256 leaf hash of the previous entry")


class CheckpointOut(Model):
    """A signed tree head: Ed25519 over the checkpoint message (see ``message``)."""

    size: int
    root: str = Field(description="Hex Merkle root of entries 1..size (RFC 9162)")
    time: str
    key_id: str
    signature: str = Field(description="Hex Ed25519 signature of ``message``")
    message: str = Field(description="The exact text the signature covers")


class AuditFindingOut(Model):
    seq: int | None = Field(description="The entry it names (None: about a checkpoint)")
    problem: str = Field(description="edited, deleted, reordered, truncated, rewritten or "
                         "forged checkpoint")
    detail: str


class AuditVerifyOut(Model):
    ok: bool
    entries: int
    checkpoints: int
    root: str = Field(description="Hex Merkle root of every entry, recomputed")
    first: AuditFindingOut | None = Field(description="The finding about the earliest entry")
    findings: list[AuditFindingOut]


class InclusionProofOut(Model):
    seq: int
    size: int
    body: str = Field(description="The entry's canonical JSON as stored: hash it yourself, "
                      "SHA-256(0x00 || body), rather than trust leaf_hash")
    leaf_hash: str
    root: str
    path: list[str] = Field(description="Hex audit path, leaf to root (RFC 9162 §2.1.3)")
    checkpoint: CheckpointOut | None = Field(description="The signed checkpoint of ``size``")


class ConsistencyProofOut(Model):
    first: int
    second: int
    first_root: str
    second_root: str
    path: list[str] = Field(description="Hex consistency proof (RFC 9162 §2.1.4)")
    first_checkpoint: CheckpointOut | None
    second_checkpoint: CheckpointOut | None


class AuditKeyOut(Model):
    key_id: str
    public_key: str = Field(description="Hex raw 32-byte Ed25519 public key")
    current: bool


# -- models and their provenance cards --------------------------------------------------------
class ModelFileOut(Model):
    path: str = Field(description="Relative to the job's work dir, e.g. model/config.json")
    sha256: str
    size: int


class ModelVersionOut(Model):
    id: str
    org_id: str
    job_id: str
    name: str
    version: int
    registered_at: datetime
    size: int = Field(description="Bytes of all its files")
    files: list[ModelFileOut]
    lineage: JsonDict = Field(description="The signed card's predicate: datasets and "
                              "versions read, agreements, licences, PII status, compute, cost, "
                              "the programme's cost and what the card cannot prove")


class ModelCardOut(Model):
    model_id: str
    envelope: JsonDict = Field(description="The signed card: a DSSE envelope whose payload is "
                               "an in-toto Statement (subject: files with sha256)")
    markdown: str = Field(description="The Hugging Face model card (README.md) with YAML "
                          "front matter, rendered from the signed statement")


class ModelVerifyOut(Model):
    model_id: str
    ok: bool
    key_id: str | None = Field(description="The center's key whose signature holds")
    files_checked: int
    problems: list[str] = Field(description="Each names what failed: the card's signature "
                                "or a file by its path")


class SigningKeyOut(Model):
    key_id: str
    public_key: str = Field(description="Hex raw 32-byte Ed25519 public key")


# -- compliance reports (issue 15 item 3) ---------------------------------------------------
class ComplianceOut(Model):
    """What every compliance report carries: its scope and whether the report from the
    database's tables equals the same report rebuilt from the audit log alone."""

    report: str = Field(description="datasets, residency, pii or compute")
    org_id: str | None = Field(description="The organisation in scope (provider or, for "
                               "compute, user of the chips); null: every one")
    dataset_id: str | None = None
    month: str | None = None
    matches: bool = Field(description="The tables' report equals its rebuild from the log")
    difference: str | None = Field(description="The first row or field where they differ")
    log_entries: int = Field(description="Audit entries the rebuild read")
    log_head: int = Field(description="The log's last entry when the report was made")


class ComplianceReadOut(Model):
    dataset_id: str
    provider_org_id: str | None
    org_id: str = Field(description="The organisation whose job read the dataset")
    person_id: str | None = Field(description="Who submitted the job")
    job_id: str
    agreement_id: str
    purpose: str | None = Field(description="The agreement's purpose")
    pool_id: str | None
    site: str | None
    country: str | None
    domestic: bool | None = Field(description="The dataset is tagged domestic")
    records: int
    bytes: int
    tokens: int
    recorded_at: datetime = Field(description="When the meter last recorded the totals")


class ComplianceReadsOut(ComplianceOut):
    rows: list[ComplianceReadOut] = Field(description="One per (job, dataset), from the tables")


class ResidencyExceptionOut(Model):
    dataset_id: str
    job_id: str
    org_id: str
    agreement_id: str
    pool_id: str | None
    site: str | None
    country: str | None
    reason: str
    seq: int | None = Field(description="The log entry that shows it (null: the tables)")


class ComplianceResidencyOut(ComplianceOut):
    domestic_countries: list[str]
    reads_checked: int = Field(description="Reads (job, dataset) of domestic datasets checked")
    exceptions: list[ResidencyExceptionOut] = Field(
        description="From the log, each naming its entry; empty: none")
    table_exceptions: list[ResidencyExceptionOut] = Field(
        description="The same from the tables (equal when matches)")


class PiiVersionOut(Model):
    dataset_id: str
    provider_org_id: str | None
    version: str
    actions: dict[str, str] | None = Field(
        description="PII type -> action applied at ingest (drop, redact, pseudonymise, keep); "
                    "null for versions ingested before the actions were recorded")
    records: int | None
    records_with_pii: int | None
    counts: dict[str, int] = Field(description="PII type -> findings")
    dropped_for_pii: int | None


class CompliancePiiOut(ComplianceOut):
    rows: list[PiiVersionOut] = Field(description="Each dataset's current version")
    history: list[PiiVersionOut] = Field(description="Earlier versions (the log alone)")


class ComputeUsedOut(Model):
    org_id: str
    month: str
    chip: str
    country: str | None
    chip_hours: str = Field(description="Exact decimal")
    h100e_hours: str = Field(description="Exact decimal")
    records: int = Field(description="Usage records summed")


class ComplianceComputeOut(ComplianceOut):
    rows: list[ComputeUsedOut]
