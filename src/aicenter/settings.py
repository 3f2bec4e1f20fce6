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
        default="fifo",
        description="Scheduler policy run each round (fifo, max_min_agnostic, max_min_hetero, "
        "finish_time_fair).",
    )
    chase_share: float = Field(
        default=0.5, ge=0, le=1,
        description="Fraction of every pool guaranteed to chase-team jobs; within it they are "
        "placed first and displace lower-priority jobs (preempted: SIGTERM, grace, requeue).",
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
        description="How jobs of the local backend are kept from the center's files "
        "(AICENTER_JOB_ISOLATION). 'namespace': each job runs in its own user, mount and PID "
        "namespaces in which HOME (dataset store, meter logs, keys, SQLite database, other "
        "runs) is covered by an empty tmpfs; datasets are read only through the center's data "
        "gateway, which meters every batch. Checked when the server starts; where namespaces "
        "are unavailable jobs run without isolation and their logs and messages say so. "
        "'none': plain processes that could read the center's files (their logs say so). The "
        "ray backend has no isolation: jobs there read datasets in-process.",
    )
    job_network: Literal["isolated-for-data", "isolated", "host"] = Field(
        default="isolated-for-data",
        description="Which jobs of the local backend get no network (AICENTER_JOB_NETWORK), so "
        "that licensed records cannot leave the center. 'isolated-for-data': jobs that name "
        "datasets run in a network namespace of their own with only a loopback (no route "
        "out, not even to the host's 127.0.0.1 or the Unix sockets under /run; private /tmp); "
        "they read records through the data gateway's Unix socket; other jobs keep the host "
        "network. 'isolated': every job. 'host': none. Needs job_isolation = 'namespace'; "
        "where it is off or unavailable such a job runs with the host network and its log "
        "and message say so. The ray backend cannot cut the network and says so likewise.",
    )
    pools_file: Path | None = Field(
        default=None,
        description="YAML file of accelerator pools ({chip_id: count}); None uses the demo "
        "center's pools.",
    )

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to SQLite under HOME."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'aicenter.db'}"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"
