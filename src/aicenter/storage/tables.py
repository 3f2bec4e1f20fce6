"""The database schema (SQLAlchemy Core). Migrations in ``migrations/versions`` follow it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from aicenter.storage.types import Micros, UtcDateTime

metadata = MetaData()

organisations = Table(
    "organisations", metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("org_class", String(40), nullable=False),
    Column("chase_team", Boolean, nullable=False, default=False),
    Column("region", String(80), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

org_priorities = Table(
    "org_priorities", metadata,
    Column("org_id", String(40), ForeignKey("organisations.id"), primary_key=True),
    Column("priority_class", String(20), primary_key=True),
    Column("granted_at", UtcDateTime, nullable=False),
)
"""The job priority classes each organisation is entitled to (granted by the operator)."""

people = Table(
    "people", metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("organisations.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False, unique=True),
    Column("role", String(40), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", String(40), primary_key=True),
    Column("person_id", String(40), ForeignKey("people.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scopes", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)

pools = Table(
    "pools", metadata,
    Column("id", String(40), primary_key=True),
    Column("chip_id", String(80), nullable=False),
    Column("chip_count", Integer, nullable=False),
    Column("site", String(80), nullable=False),
    Column("country", String(2), nullable=False, default="KR", server_default="KR"),
    Column("state", String(16), nullable=False, default="active", server_default="active"),
    Column("created_at", UtcDateTime, nullable=True),
)

calls = Table(
    "calls", metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("eligible_classes", JSON, nullable=False),
    Column("max_chips_per_project", JSON, nullable=False),
    Column("max_months", Integer, nullable=False),
    Column("market_price_per_h100e_h", Micros, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("payable_fraction", JSON, nullable=False),
    Column("chase_team_priority", Boolean, nullable=False),
    Column("regional_bonus", Float, nullable=False),
    Column("concentration_threshold", Float, nullable=False),
    Column("concentration_penalty", Float, nullable=False),
    Column("status", String(20), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("closes_at", UtcDateTime, nullable=True),
    Column("budget_h100e_h", Micros, nullable=True),
)

applications = Table(
    "applications", metadata,
    Column("id", String(40), primary_key=True),
    Column("call_id", String(40), ForeignKey("calls.id"), nullable=False, index=True),
    Column("org_id", String(40), ForeignKey("organisations.id"), nullable=False, index=True),
    Column("title", String(300), nullable=False),
    Column("chips", JSON, nullable=False),
    Column("months", Integer, nullable=False),
    Column("requested_h100e_h", Micros, nullable=False),
    Column("plan", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("decision_reason", Text, nullable=True),
)

reviews = Table(
    "reviews", metadata,
    Column("application_id", String(40), ForeignKey("applications.id"), primary_key=True),
    Column("reviewer_id", String(40), ForeignKey("people.id"), primary_key=True),
    Column("impact", Float, nullable=False),
    Column("readiness", Float, nullable=False),
    Column("ecosystem", Float, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

grants = Table(
    "grants", metadata,
    Column("id", String(40), primary_key=True),
    Column("call_id", String(40), ForeignKey("calls.id"), nullable=False, index=True),
    Column("application_id", String(40), ForeignKey("applications.id"), nullable=True),
    Column("org_id", String(40), ForeignKey("organisations.id"), nullable=False, index=True),
    Column("budget_h100e_h", Micros, nullable=False),
    Column("chip_ids", JSON, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("last_used_at", UtcDateTime, nullable=False),
    Column("reclaim_notice_at", UtcDateTime, nullable=True),
    Column("chip_counts", JSON, nullable=True),
    Column("review_waiver", Text, nullable=True),
)

jobs = Table(
    "jobs", metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("organisations.id"), nullable=False),
    Column("person_id", String(40), ForeignKey("people.id"), nullable=False),
    Column("grant_id", String(40), ForeignKey("grants.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("spec", JSON, nullable=False),
    Column("priority", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("idempotency_key", String(200), nullable=True),
    Column("hold_h100e_h", Micros, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("chip", String(80), nullable=True),
    Column("chip_count", Integer, nullable=False, default=0),
    Column("backend", String(40), nullable=True),
    Column("handle", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("metered_until", UtcDateTime, nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("message", Text, nullable=False, default=""),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("lost_runs", Integer, nullable=False, default=0),
    Column("launch_failures", Integer, nullable=False, default=0),
    Column("pending_reason", String(32), nullable=True),  # why it waits (scheduler/pending)
    Column("pool_id", String(40), nullable=True),  # where it last ran: pool, site, country
    Column("site", String(80), nullable=True),
    Column("country", String(2), nullable=True),
    UniqueConstraint("person_id", "idempotency_key", name="uq_jobs_person_idempotency"),
    Index("ix_jobs_status", "status"),
    Index("ix_jobs_org_submitted", "org_id", "submitted_at"),
    Index("ix_jobs_submitted", "submitted_at", "id"),  # the jobs list, a page at a time
    Index("ix_jobs_status_submitted", "status", "submitted_at", "id"),
)

usage_records = Table(
    "usage_records", metadata,
    Column("id", String(40), primary_key=True),
    Column("job_id", String(40), ForeignKey("jobs.id"), nullable=False),
    Column("org_id", String(40), ForeignKey("organisations.id"), nullable=False),
    Column("grant_id", String(40), ForeignKey("grants.id"), nullable=False),
    Column("chip_id", String(80), nullable=False),
    Column("chip_count", Integer, nullable=False),
    Column("interval_start", UtcDateTime, nullable=False),
    Column("interval_end", UtcDateTime, nullable=False),
    Column("chip_seconds", Micros, nullable=False),
    Column("h100e_seconds", Micros, nullable=False),
    UniqueConstraint("job_id", "interval_start", name="uq_usage_job_interval"),
    Index("ix_usage_org_start", "org_id", "interval_start"),
)

ledger_transactions = Table(
    "ledger_transactions", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("reference", String(200), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("memo", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

ledger_postings = Table(
    "ledger_postings", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("transaction_id", BigInteger().with_variant(Integer, "sqlite"),
           ForeignKey("ledger_transactions.id"), nullable=False, index=True),
    Column("account", String(200), nullable=False),
    Column("commodity", String(10), nullable=False),
    Column("amount", Micros, nullable=False),
    Index("ix_postings_account", "account", "commodity"),
)


# ---------------------------------------------------------------- licensed-data exchange
datasets = Table(
    "datasets", metadata,
    Column("id", String(64), primary_key=True),  # the store's dataset name
    Column("name", String(200), nullable=False),
    Column("provider_org_id", String(40), ForeignKey("organisations.id"), nullable=False,
           index=True),
    Column("version", String(40), nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("manifest_path", Text, nullable=False),
    Column("domestic", Boolean, nullable=False),
    Column("licence_text", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("croissant", JSON, nullable=False),
    Column("stats", JSON, nullable=False),
    Column("pii_report", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

licence_offers = Table(
    "licence_offers", metadata,
    Column("id", String(40), primary_key=True),
    Column("provider_org_id", String(40), ForeignKey("organisations.id"), nullable=False,
           index=True),
    Column("dataset_id", String(64), ForeignKey("datasets.id"), nullable=False, index=True),
    Column("body", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

agreements = Table(
    "agreements", metadata,
    Column("id", String(40), primary_key=True),
    Column("offer_id", String(40), ForeignKey("licence_offers.id"), nullable=False, index=True),
    Column("org_id", String(40), ForeignKey("organisations.id"), nullable=False, index=True),
    Column("dataset_id", String(64), ForeignKey("datasets.id"), nullable=False, index=True),
    Column("body", JSON, nullable=False),
    Column("accepted_at", UtcDateTime, nullable=False),
)

dataset_reads = Table(
    "dataset_reads", metadata,
    Column("job_id", String(40), ForeignKey("jobs.id"), primary_key=True),
    Column("dataset_id", String(64), ForeignKey("datasets.id"), primary_key=True),
    Column("org_id", String(40), ForeignKey("organisations.id"), nullable=False, index=True),
    Column("agreement_id", String(40), ForeignKey("agreements.id"), nullable=False),
    Column("records", BigInteger, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("tokens", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

uploads = Table(
    "uploads", metadata,
    Column("id", String(40), primary_key=True),
    Column("dataset_id", String(64), nullable=False),
    Column("provider_org_id", String(40), ForeignKey("organisations.id"), nullable=False,
           index=True),
    Column("person_id", String(40), ForeignKey("people.id"), nullable=False),
    Column("request", JSON, nullable=False),
    Column("source_path", Text, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("message", Text, nullable=False, default=""),
    Column("version", String(40), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
)

account_balances = Table(
    "account_balances", metadata,
    # The running sum of each account's postings, kept in the transaction that books them
    # (LedgerRepository), so a balance is one row, not a sum over the account's history.
    Column("account", String(200), primary_key=True),
    Column("commodity", String(10), primary_key=True),
    Column("amount", Micros, nullable=False),
)

output_releases = Table(
    "output_releases", metadata,
    # The release decision on the log and declared outputs of a job that read licensed
    # datasets, made once when it ends (aicenter.exchange.output_check, services/job.py).
    Column("job_id", String(40), ForeignKey("jobs.id"), primary_key=True),
    Column("verdict", String(16), nullable=False, index=True),
    Column("policy", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("datasets", JSON, nullable=False),
    Column("provider_org_ids", JSON, nullable=False),
    Column("findings", JSON, nullable=False),
    Column("checked_bytes", BigInteger, nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
)

shares = Table(
    "shares", metadata,
    # Guaranteed shares (aicenter.domain.share): what an organisation's or a call's jobs may
    # hold at once, in H100e, ahead of everyone else's (the scheduler's guaranteed_h100e).
    Column("holder_kind", String(12), primary_key=True),
    Column("holder_id", String(40), primary_key=True),
    Column("guaranteed_h100e", Micros, nullable=False),
    Column("set_at", UtcDateTime, nullable=False),
    Column("set_by", String(40), nullable=False),
)

policy_versions = Table(
    "policy_versions", metadata,
    # The Cedar policy texts operators set (aicenter.domain.policy), whole; the newest is in
    # force (none: the packaged policies.cedar). Append-only: a change is a new version.
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("text", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("set_at", UtcDateTime, nullable=False),
    Column("set_by", String(40), nullable=False),
)

web_sessions = Table(
    "web_sessions", metadata,
    # Signed-in browsers (aicenter.domain.web_session): the cookie's secret is never stored,
    # only its SHA-256 (id). token_id: the API token signed in with (None through OIDC).
    Column("id", String(64), primary_key=True),
    Column("person_id", String(40), ForeignKey("people.id"), nullable=False, index=True),
    Column("token_id", String(40), nullable=True),
    Column("can_write", Boolean, nullable=False),
    Column("csrf_secret", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)

identity_requests = Table(
    "identity_requests", metadata,
    # OpenID Connect identities and the operator's decision (aicenter.domain.identity):
    # one row per (issuer, subject); person_id once approved.
    Column("id", String(40), primary_key=True),
    Column("issuer", String(400), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("email", String(320), nullable=False),
    Column("name", String(200), nullable=False),
    Column("claims", JSON, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("suggested_org_id", String(40), nullable=True),
    Column("person_id", String(40), ForeignKey("people.id"), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decided_by", String(40), nullable=True),
    Column("reason", Text, nullable=False),
    UniqueConstraint("issuer", "subject", name="uq_identity_requests_issuer_subject"),
)

audit_entries = Table(
    "audit_entries", metadata,
    # The tamper-evident log (aicenter.ledger.audit): append-only. ``body`` is the canonical
    # entry (the only hashed part); ``hash`` its leaf hash, ``prev_hash`` the previous entry's.
    # The columns after them are searchable copies of the body, checked by verification.
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
    Column("prev_hash", LargeBinary(32), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("time", UtcDateTime, nullable=False, index=True),
    Column("action", String(64), nullable=False, index=True),
    Column("actor_id", String(64), nullable=False),
    Column("object_type", String(40), nullable=False),
    Column("object_id", String(80), nullable=False),
    Column("org_id", String(40), nullable=True, index=True),
    Index("ix_audit_entries_object", "object_type", "object_id"),
)

audit_head = Table(
    "audit_head", metadata,
    # One row (id 1): the last sequence number and hash. Appenders lock it (FOR UPDATE), so
    # sequence numbers and chain links are assigned one transaction at a time.
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", LargeBinary(32), nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints", metadata,
    # Signed tree heads; ``frontier`` holds the perfect-subtree roots at ``size`` so the next
    # checkpoint hashes only the entries appended since.
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("time", UtcDateTime, nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
    Column("frontier", LargeBinary, nullable=False),
)

model_versions = Table(
    "model_versions", metadata,
    # Model versions registered from a succeeded job's declared outputs (aicenter.domain.model):
    # the files with their sha256 and the signed provenance card (a DSSE envelope).
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("organisations.id"), nullable=False, index=True),
    Column("job_id", String(40), ForeignKey("jobs.id"), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("files", JSON, nullable=False),
    Column("envelope", JSON, nullable=False),
    Column("registered_at", UtcDateTime, nullable=False),
    UniqueConstraint("org_id", "name", "version", name="uq_model_versions_name_version"),
)
