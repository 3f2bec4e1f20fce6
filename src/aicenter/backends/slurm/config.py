"""The slurm backend's configuration and registry entry.

:class:`SlurmConfig` holds what only this backend needs; :class:`SlurmSettings` reads it from
``AICENTER_SLURM_*`` variables (its own pydantic-settings class, so the center's settings carry
no Slurm fields); :data:`ENTRY` registers the backend. Light on purpose: the registry imports
this module, and the backend's code is imported only when a backend is built.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from aicenter.backends.base import Backend, BackendEntry, Capabilities, CenterSite
from aicenter.domain.errors import InputError

if TYPE_CHECKING:
    from aicenter.settings import Settings

NAME = "slurm"

_SLURM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""What a QOS or account name may be (what ``sacctmgr`` accepts, without quoting)."""
_SLURM_HOSTS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-\[\],]{0,255}")
"""A partition name or a host list (``node[1-4,7],gpu01``): no spaces, nothing a shell or
``sbatch`` option would read otherwise."""

CAPABILITIES = Capabilities(runs_code=True, graceful_stop=True, multi_node=True,
                            reports_capacity=True, places_pools=True)
"""Capacity is Slurm's (``scontrol show node``: typed GRES of the nodes it starts jobs on, less
what jobs hold). What Slurm's containment is, claim by claim. A job runs as its organisation's
mapped Unix user, never root or the server's (checked at launch), so file permissions keep it
from the server's files and other tenants' runs (0711 run dirs, 0600 scripts). With
``task/cgroup`` (the CI cluster has it: ``.ci/slurm/cgroup.conf``) its processes and memory are
confined by Slurm, but that is the site's configuration, not aicenter's, so ``enforces_limits``
is not claimed. There are no namespaces of its own (it sees the node's files, processes and
/tmp) and no network cut: it reaches the control plane's ports like any user of the node. Hence
``contains_jobs`` is false, and ``aicenter serve --backend slurm`` needs
``AICENTER_UNSAFE_ALLOW_WEAK_ISOLATION=true`` (README, threat model). Pools: a run placed on
one of the center's pools goes to the partition (``pool_partitions``) or the nodes
(``pool_nodes``: the partition's other nodes are excluded) its configuration maps the pool to;
with no pool mapped at all, Slurm chooses among the partition's nodes and the run names no
pool."""


@dataclass(frozen=True, slots=True)
class SlurmConfig:
    """``root``: run directories (on a file system the compute nodes share). ``partition``:
    where runs go (``None``: the cluster's default); a partition reserved for aicenter is the
    "aicenter places, Slurm executes" mode. ``gres``: chip type -> the cluster's GRES name
    (``{"nvidia-h100-sxm": "gpu:h100"}``; others by the default rule of
    :mod:`aicenter.backends.slurm.script`). ``chips_per_node``: GRES -> chips per node for
    gangs (default: read from the nodes). ``users``: organisation (Slurm account) -> Unix
    user; ``default_user`` for organisations not listed (``None``: refuse them).
    ``use_accounts``: pass the organisation as ``--account`` (needs slurmdbd with the
    accounts created). ``manage_accounts``: before an organisation's first run the backend
    creates its account and its user's association with ``sacctmgr`` (needs Slurm
    administrator rights), so operators need not mirror every organisation by hand.
    ``qos_by_priority``: aicenter priority class -> the cluster's QOS
    (``{"chase-team": "chase"}``); ``qos``: the QOS of classes not in it (``None``: the
    account's default QOS).
    ``pool_partitions``: the center's pool id -> the partition its chips are (a run placed
    on the pool is submitted there); ``pool_nodes``: pool id -> its nodes (a Slurm host list,
    ``node[1-2]`` or ``node1,node2``; the run may use those and no other node of its
    partition). A pool in neither map is refused once either map names any pool; with both
    empty, Slurm places every run in ``partition`` by chip type alone.
    ``task_per_chip``: one task per chip instead of one per node. ``slurm_conf``: a
    ``slurm.conf`` other than the tools' default. ``command_timeout_s``: how long a Slurm
    command may take before the cluster counts as unreachable."""

    root: Path
    partition: str | None = None
    gres: Mapping[str, str] = field(default_factory=dict)
    chips_per_node: Mapping[str, int] = field(default_factory=dict)
    users: Mapping[str, str] = field(default_factory=dict)
    default_user: str | None = None
    use_accounts: bool = True
    manage_accounts: bool = False
    qos: str | None = None
    qos_by_priority: Mapping[str, str] = field(default_factory=dict)
    task_per_chip: bool = False
    slurm_conf: Path | None = None
    command_timeout_s: float = 30.0
    pool_partitions: Mapping[str, str] = field(default_factory=dict)
    pool_nodes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for where in (*self.pool_partitions.values(), *self.pool_nodes.values()):
            if not _SLURM_HOSTS.fullmatch(where):
                raise InputError(f"{where!r} is not a Slurm partition or host list",
                                 field="pool_nodes")
        for gres, count in self.chips_per_node.items():
            if count <= 0:
                raise InputError(f"{gres} has {count} chips per node; must be > 0",
                                 field="chips_per_node")
        if self.command_timeout_s <= 0:
            raise InputError("command timeout must be > 0 s", field="command_timeout_s")
        for name in (self.qos, *self.qos_by_priority.values()):
            if name is not None and not _SLURM_NAME.fullmatch(name):
                raise InputError(f"QOS {name!r} is not a Slurm name (letters, digits, '-', "
                                 "'_', '.')", field="qos")

    def qos_for(self, priority_class: str | None) -> str | None:
        """The QOS a run of ``priority_class`` is submitted with (``None``: no ``--qos``,
        the account's default)."""
        if priority_class is not None and priority_class in self.qos_by_priority:
            return self.qos_by_priority[priority_class]
        return self.qos

    def all_qos(self) -> list[str]:
        """Every QOS this config submits with: what a managed association must allow."""
        names = {*self.qos_by_priority.values(), *([self.qos] if self.qos else [])}
        return sorted(names)


class SlurmSettings(BaseSettings):
    """The slurm backend's settings, from ``AICENTER_SLURM_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="AICENTER_SLURM_", extra="ignore")

    root: Path | None = Field(
        default=None, description="Run directories (AICENTER_SLURM_ROOT): on a file system "
        "the compute nodes share, every directory down to it searchable by the jobs' users; "
        "empty: HOME/runs/slurm, which serves only where HOME is (it is private by default).")
    partition: str | None = Field(
        default=None, description="Partition runs are submitted to (AICENTER_SLURM_PARTITION); "
        "empty: the cluster's default.")
    gres: str = Field(
        default="{}", description="JSON object chip type -> GRES name:type "
        "(AICENTER_SLURM_GRES), e.g. {\"nvidia-h100-sxm\": \"gpu:h100\"}.")
    users: str = Field(
        default="{}", description="JSON object organisation (Slurm account) -> Unix user "
        "(AICENTER_SLURM_USERS).")
    default_user: str | None = Field(
        default=None, description="Unix user for organisations not in users "
        "(AICENTER_SLURM_DEFAULT_USER); empty: such jobs are refused.")
    use_accounts: bool = Field(
        default=True, description="Submit with --account=<organisation> "
        "(AICENTER_SLURM_USE_ACCOUNTS); needs slurmdbd with the accounts created.")
    manage_accounts: bool = Field(
        default=False, description="Create each organisation's Slurm account and its user's "
        "association with sacctmgr before its first run (AICENTER_SLURM_MANAGE_ACCOUNTS); "
        "needs Slurm administrator rights.")
    qos: str | None = Field(default=None, description="QOS of runs whose priority class is "
                            "not in qos_by_priority (AICENTER_SLURM_QOS); empty: the "
                            "account's default QOS.")
    qos_by_priority: str = Field(
        default="{}", description="JSON object priority class -> QOS "
        "(AICENTER_SLURM_QOS_BY_PRIORITY), e.g. {\"chase-team\": \"chase\", "
        "\"normal\": \"normal\", \"best-effort\": \"scavenger\"}.")
    task_per_chip: bool = Field(
        default=False, description="One task per chip instead of one per node "
        "(AICENTER_SLURM_TASK_PER_CHIP).")
    slurm_conf: Path | None = Field(
        default=None, description="slurm.conf for the tools (AICENTER_SLURM_SLURM_CONF).")
    pool_partitions: str = Field(
        default="{}", description="JSON object pool id -> partition "
        "(AICENTER_SLURM_POOL_PARTITIONS): runs placed on the pool are submitted there.")
    pool_nodes: str = Field(
        default="{}", description="JSON object pool id -> Slurm host list "
        "(AICENTER_SLURM_POOL_NODES), e.g. {\"h100-haenam\": \"node[1-4]\"}: runs placed "
        "on the pool use those nodes only.")

    def config(self, root: Path) -> SlurmConfig:
        """The backend's config with run directories under ``root``."""
        return SlurmConfig(root, self.partition, _json_map(self.gres, "gres"),
                           users=_json_map(self.users, "users"),
                           default_user=self.default_user, use_accounts=self.use_accounts,
                           manage_accounts=self.manage_accounts, qos=self.qos,
                           qos_by_priority=_json_map(self.qos_by_priority, "qos_by_priority"),
                           task_per_chip=self.task_per_chip,
                           slurm_conf=self.slurm_conf,
                           pool_partitions=_json_map(self.pool_partitions, "pool_partitions"),
                           pool_nodes=_json_map(self.pool_nodes, "pool_nodes"))


def _json_map(text: str, name: str) -> dict[str, str]:
    try:
        value = json.loads(text or "{}")
    except ValueError as error:
        raise InputError(f"AICENTER_SLURM_{name.upper()} is not JSON: {error}",
                         field=name) from error
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InputError(f"AICENTER_SLURM_{name.upper()} must be a JSON object of strings",
                         field=name)
    return value


def from_settings(settings: Settings, site: CenterSite) -> SlurmConfig:
    """The server's slurm backend: runs under ``AICENTER_SLURM_ROOT`` (default
    ``<state dir>/slurm``), the rest from ``AICENTER_SLURM_*``."""
    slurm = SlurmSettings()
    return slurm.config(slurm.root or site.state_dir / NAME)


def build(config: SlurmConfig) -> Backend:
    """A :class:`~aicenter.backends.slurm.backend.SlurmBackend` (imported here, when built)."""
    from aicenter.backends.slurm.backend import SlurmBackend

    backend: Backend = SlurmBackend(config)
    return backend


ENTRY: BackendEntry[SlurmConfig] = BackendEntry(
    name=NAME, capabilities=CAPABILITIES, config_type=SlurmConfig, build=build,
    from_settings=from_settings)
"""The slurm backend's registration (``default_registry`` adds it)."""
