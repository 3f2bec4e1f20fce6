"""Settings of the running center: one pydantic-settings class, read from ``AICENTER_*``.

Every field is described; ``aicenter serve --help`` and the tests read these descriptions.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".aicenter"


def _id_range(text: str, name: str) -> tuple[int, int]:
    """``FIRST-LAST`` → (first, last); ids below 1000 belong to the system and are refused."""
    first, last = (int(part) for part in text.split("-"))
    if not 1000 <= first <= last < 2**32 - 1:
        raise ValueError(f"{name} {text!r} must be FIRST-LAST with 1000 <= FIRST <= LAST")
    return first, last


class Settings(BaseSettings):
    """Where the center keeps its state, how it is reached and how its loops run."""

    model_config = SettingsConfigDict(env_prefix="AICENTER_", extra="ignore")

    home: Path = Field(
        default_factory=_default_home,
        description="Directory of the center's state: SQLite database, job logs, tokens "
        "(AICENTER_HOME, default ~/.aicenter).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database (AICENTER_DATABASE_URL), for example "
        "postgresql+psycopg://user@host/db; empty means SQLite in WAL mode at HOME/aicenter.db.",
    )
    database_max_connections: int = Field(
        default=60, ge=1,
        description="Most PostgreSQL connections the server holds, all API workers together "
        "(AICENTER_DATABASE_MAX_CONNECTIONS): each of `serve --workers N` gets a pool of this "
        "divided by N. The server refuses to start if a worker would get fewer than 4 or if "
        "this exceeds what the database server accepts. Not used with SQLite.",
    )
    workers: int = Field(
        default=1, ge=1,
        description="API worker processes (`aicenter serve --workers`, AICENTER_WORKERS); "
        "they share database_max_connections.",
    )
    url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where the CLI and the Python client find the server (AICENTER_URL).",
    )
    token: str | None = Field(
        default=None,
        description="API token the CLI and the client send as a Bearer token (AICENTER_TOKEN).",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="Issuer URL of the institution's OpenID Connect provider "
        "(AICENTER_OIDC_ISSUER); its /.well-known/openid-configuration is read at the first "
        "sign-in. Empty: the pages offer token sign-in only.",
    )
    oidc_client_id: str = Field(
        default="aicenter",
        description="The center's client id at the provider (AICENTER_OIDC_CLIENT_ID); ID "
        "tokens must name it as their audience.",
    )
    oidc_client_secret: str | None = Field(
        default=None,
        description="The center's client secret at the provider (AICENTER_OIDC_CLIENT_SECRET); "
        "empty for a public client (PKCE alone).",
    )
    oidc_name: str = Field(
        default="institution sign-in",
        description="What the sign-in button calls the provider (AICENTER_OIDC_NAME), for "
        "example the university's name.",
    )
    host: str = Field(default="127.0.0.1", description="Address `aicenter serve` listens on.")
    port: int = Field(default=8000, description="Port `aicenter serve` listens on.")
    backend: str = Field(
        default="local",
        description="Execution backend for jobs: 'local' (processes on this machine) or 'ray'.",
    )
    ray_address: str | None = Field(
        default=None,
        description="Address of the Ray cluster for the 'ray' backend (None starts a local one).",
    )
    scheduler_interval_s: float = Field(
        default=1.0, description="Seconds between scheduling rounds (place, poll, meter)."
    )
    scheduler_policy: str = Field(
        default="finish_time_fair",
        description="Scheduler policy run each round (AICENTER_SCHEDULER_POLICY): "
        "finish_time_fair (the default: the best the simulator measures, 14 % below Gavel's "
        "max-min fairness on traces it never saw), fifo, fair_share, max_min_agnostic, "
        "max_min_hetero, min_cost. Every policy honours guaranteed shares, the chase team's "
        "share, the grants' chip caps, draining pools and residency.",
    )
    scheduler_restart_cost_s: float = Field(
        default=600.0, ge=0, le=86400,
        description="What stopping a running job costs it, as the policy weighs it "
        "(AICENTER_SCHEDULER_RESTART_COST_S): its progress since the last checkpoint (half of "
        "a 10-minute interval on average) and the restart (reloading the checkpoint, about 5 "
        "minutes). The scheduler keeps a running job in place until it is ten times this "
        "ahead of its share instead of rotating jobs every round (0: Gavel's free "
        "preemption, right only for an engine that resumes runs exactly).",
    )
    fair_share_half_life_days: float = Field(
        default=7.0, gt=0, le=3650,
        description="Half-life of past usage in fair share, in days "
        "(AICENTER_FAIR_SHARE_HALF_LIFE_DAYS): an H100e-hour used this long ago weighs half "
        "as much as one used now (Slurm's PriorityDecayHalfLife).",
    )
    chase_share: float = Field(
        default=0.5, ge=0, le=1,
        description="Fraction of every pool guaranteed to chase-team jobs; within it they are "
        "placed first and displace lower-priority jobs (preempted: SIGTERM, grace, requeue).",
    )
    audit_checkpoint_interval_s: float = Field(
        default=60.0, gt=0, le=86400,
        description="Seconds between signed checkpoints of the audit log "
        "(AICENTER_AUDIT_CHECKPOINT_INTERVAL_S): the scheduling loop signs the entries "
        "appended since the last one this often, and once more on a clean shutdown. An edit "
        "made after a checkpoint is caught by its root even if the chain is rebuilt.",
    )
    metering_interval_s: float = Field(
        default=60.0,
        description="Longest interval one usage record covers; running jobs are metered at "
        "least this often.",
    )
    preemption_grace_s: float = Field(
        default=10.0,
        description="Seconds between SIGTERM and SIGKILL when a job is preempted or cancelled.",
    )
    max_lost_runs: int = Field(
        default=3, ge=0,
        description="Runs of one job that may be lost (runner or node died without an exit) "
        "and requeued; the next lost run fails the job.",
    )
    launch_retries: int = Field(
        default=3, ge=0,
        description="Times a job's launch is tried again, one scheduling round later each, "
        "after the backend failed it with an unforeseen error (AICENTER_LAUNCH_RETRIES); "
        "the next failure in a row fails the job with the reason and releases its hold. "
        "A backend that is unreachable or has no free slot does not count: the job waits.",
    )
    idle_reclaim_days: int = Field(
        default=30, description="Days without usage after which a grant gets a reclaim notice."
    )
    reclaim_notice_days: int = Field(
        default=14, description="Days after a reclaim notice before an idle grant is reclaimed."
    )
    market_price_krw_per_h100e_h: Decimal = Field(
        default=Decimal("3195"),
        description="Default market price of one H100-equivalent hour in KRW for new calls "
        "(2.25 USD at 1,420 KRW/USD).",
    )
    job_isolation: Literal["namespace", "none"] = Field(
        default="namespace",
        description="How jobs of the local backend are boxed (AICENTER_JOB_ISOLATION). "
        "'namespace': a server running as root contains every job: its own uid from "
        "job_uid_range (and its organisation's gid from org_gid_range), its own user, mount, "
        "PID, IPC, UTS and network namespaces, a root file system holding only the "
        "read-only system, the read-only center code and the job's own area, and cgroup "
        "limits. Checked when the server starts; where jobs cannot be contained the server "
        "refuses to start unless unsafe_allow_weak_isolation is set. 'none': plain processes "
        "(only with unsafe_allow_weak_isolation). The ray backend has no isolation.",
    )
    job_uid_range: str = Field(
        default="200000-265535",
        description="FIRST-LAST: the uids contained jobs run as, one per running job "
        "(AICENTER_JOB_UID_RANGE). Give jobs a block no user or service of the host has; a "
        "file a job writes is owned by its uid on the host.",
        pattern=r"^\d+-\d+$",
    )
    org_gid_range: str = Field(
        default="300000-309999",
        description="FIRST-LAST: the gids of organisations (AICENTER_ORG_GID_RANGE), one per "
        "organisation, assigned on its first job and kept: the group of its project space.",
        pattern=r"^\d+-\d+$",
    )
    unsafe_allow_weak_isolation: bool = Field(
        default=False,
        description="UNSAFE (AICENTER_UNSAFE_ALLOW_WEAK_ISOLATION): run jobs even where they "
        "cannot be contained (an unprivileged server, no user namespaces, job_isolation = "
        "none). Such jobs run as the server's own uid, covered by user namespaces at best; "
        "every job's log says so. Never for a center with tenants.",
    )
    unsafe_allow_unlimited_jobs: bool = Field(
        default=False,
        description="UNSAFE (AICENTER_UNSAFE_ALLOW_UNLIMITED_JOBS): run jobs of the local "
        "backend even where cgroups are unusable, so that no memory, CPU or process limit "
        "holds them: one fork bomb or memory hog can take the host, the server and every "
        "other job down. Without it such a server refuses to start. The server warns at "
        "start and every job's log says its limits were not enforced. Never for a center "
        "with tenants.",
    )
    unsafe_allow_trust_database: bool = Field(
        default=False,
        description="UNSAFE (AICENTER_UNSAFE_ALLOW_TRUST_DATABASE): let `aicenter serve` start "
        "on a PostgreSQL server that admits the center's database user without checking its "
        "password (pg_hba.conf method trust), which it otherwise refuses: anyone who can reach "
        "the database as that user can then read and change every grant, token and ledger "
        "entry. The server prints a loud warning at every start. Never for a center with "
        "tenants; `aicenter doctor` shows what the database does.",
    )
    job_network: Literal["isolated-for-data", "isolated", "host"] = Field(
        default="isolated-for-data",
        description="Network of jobs in the weak box only (AICENTER_JOB_NETWORK; a contained "
        "job always has a network namespace of its own: loopback only, or egress where the "
        "operator allows it). 'isolated-for-data': jobs that name datasets get only a "
        "loopback; 'isolated': every job; 'host': none.",
    )
    project_root: Path | None = Field(
        default=None,
        description="Root of the organisations' project spaces (AICENTER_PROJECT_ROOT), an "
        "absolute path: organisation ORG may run jobs whose spec names a workdir inside "
        "PROJECT_ROOT/ORG (shared code and checkpoints that outlive a run). None (the "
        "default) turns project spaces off: a spec's workdir must then be a relative path, a "
        "directory inside the job's own work dir. Any other absolute workdir is refused at "
        "submission (HTTP 422).",
    )
    job_memory_per_chip_gib: float = Field(
        default=32, gt=0,
        description="Memory limit of a job whose spec sets no limits.memory, per chip of the "
        "alternative it was placed on, in GiB (AICENTER_JOB_MEMORY_PER_CHIP_GIB); never more "
        "than job_max_memory_gib.",
    )
    job_cpus_per_chip: float = Field(
        default=8, gt=0,
        description="CPUs (may be fractional) a job whose spec sets no limits.cpus may use, "
        "per chip of the alternative it was placed on (AICENTER_JOB_CPUS_PER_CHIP); never "
        "more than job_max_cpus.",
    )
    job_max_pids: int = Field(
        default=4096, ge=8,
        description="Most processes and threads one job may have (AICENTER_JOB_MAX_PIDS): the "
        "limit of a job whose spec sets no limits.pids, and the most a spec may ask for.",
    )
    job_max_memory_gib: float = Field(
        default=2048, gt=0,
        description="Most memory one job may ask for in limits.memory, in GiB "
        "(AICENTER_JOB_MAX_MEMORY_GIB); a spec above it is refused at submission (HTTP 422).",
    )
    job_max_cpus: float = Field(
        default=256, gt=0,
        description="Most CPUs one job may ask for in limits.cpus (AICENTER_JOB_MAX_CPUS); a "
        "spec above it is refused at submission (HTTP 422).",
    )
    job_max_duration_days: float = Field(
        default=30, gt=0, le=3660,
        description="Longest max_duration a job spec may ask for, in days "
        "(AICENTER_JOB_MAX_DURATION_DAYS); a spec above it is refused at submission (HTTP "
        "422). It also bounds the budget one job can hold (chips × ratio × max_duration).",
    )
    job_egress: Literal["none", "listed", "all"] = Field(
        default="none",
        description="Which jobs of the local backend may reach the outside network "
        "(AICENTER_JOB_EGRESS); the others have only their own loopback. 'none': no job. "
        "'listed': jobs of the organisations in job_egress_orgs and of the priority classes "
        "in job_egress_priority_classes. 'all': every job. A job that reads datasets never "
        "gets egress, whatever this says. Egress goes through a veth pair and host nftables "
        "rules (table inet aicenter) under which the host itself (API, database, any local "
        "service), other jobs and job_egress_deny stay unreachable; it needs a root server, "
        "nftables and sets net.ipv4.ip_forward=1 on the host. Checked when the server "
        "starts; where it cannot be given safely, no job gets it.",
    )
    job_egress_orgs: list[str] = Field(
        default_factory=list,
        description="Organisation ids whose jobs get egress when job_egress = 'listed' "
        "(AICENTER_JOB_EGRESS_ORGS, a JSON list).",
    )
    job_egress_priority_classes: list[Literal["chase-team", "normal", "best-effort"]] = Field(
        default_factory=list,
        description="Priority classes whose jobs get egress when job_egress = 'listed' "
        "(AICENTER_JOB_EGRESS_PRIORITY_CLASSES, a JSON list).",
    )
    job_egress_subnet: str = Field(
        default="100.64.0.0/14",
        description="IPv4 network from which each job with egress gets a /30 "
        "(AICENTER_JOB_EGRESS_SUBNET); a /14 holds one for each of the 65,536 job slots. "
        "Change it where the site already uses this shared address space (RFC 6598).",
    )
    job_egress_deny: list[str] = Field(
        default_factory=list,
        description="Networks (CIDR) no job may reach even with egress "
        "(AICENTER_JOB_EGRESS_DENY, a JSON list): the center's control-plane networks, other "
        "nodes. The database host of database_url and 169.254.0.0/16 (cloud metadata) are "
        "always denied, and so is every address of the host itself.",
    )
    pools_file: Path | None = Field(
        default=None,
        description="YAML file of the center's pools (`aicenter serve --pools FILE`): "
        "`pools: [{chip, count, site, country, id}]` (aicenter.fleet.pool_file). At start, "
        "pools not yet present are added and the others (same id, else same chip and site) "
        "updated, all or none; pools it does not name are left as they are. None: pools are "
        "added with `aicenter pool add`.",
    )
    exchange_price_notice_days: int = Field(
        default=30, ge=0,
        description="Whole days of notice a provider gives before an announced price change "
        "applies (AICENTER_EXCHANGE_PRICE_NOTICE_DAYS): the change's effective date is at "
        "least this many days after the day it is announced; agreements accepted or renewed "
        "from then on pay the new price, existing ones keep theirs until renewal.",
    )

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to SQLite under HOME."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'aicenter.db'}"

    @property
    def job_uids(self) -> tuple[int, int]:
        return _id_range(self.job_uid_range, "job_uid_range")

    @property
    def org_gids(self) -> tuple[int, int]:
        return _id_range(self.org_gid_range, "org_gid_range")

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"
