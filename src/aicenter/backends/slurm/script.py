"""What aicenter hands ``sbatch``: the GRES a chip type is, the shape of a gang, the command
line and the batch script (pure: no I/O, no Slurm needed to test).

GRES: a chip type is a typed GRES, ``<name>:<type>``. GPUs (NVIDIA, AMD) are ``gpu`` — Slurm's
gpu plugin sets ``CUDA_VISIBLE_DEVICES``/``GPU_DEVICE_ORDINAL`` for them; every other
accelerator (TPU, Trainium, Gaudi, Ascend, Rebellions, Furiosa, Tenstorrent) is the
vendor-neutral ``npu``. The type defaults to the catalog id without its vendor prefix
(``amd-mi300x`` -> ``gpu:mi300x``, ``rebellions-atom`` -> ``npu:atom``); the operator's
``gres`` map says what the cluster really calls it (``nvidia-h100-sxm: gpu:h100``).

Gangs: a run of ``chip_count`` chips uses as few nodes as hold them, ``chips_per_node`` of its
type on each (``gpu:h100:4`` on two nodes for 8 H100s on 4-GPU nodes); the count must split
evenly. Each node runs one task (a launcher such as ``torchrun``), or one task per chip with
``task_per_chip``. Every task gets the rendezvous variables PyTorch and JAX read:
``MASTER_ADDR`` (the first node: where the batch shell runs), ``MASTER_PORT`` (from the job
id), ``WORLD_SIZE``/``RANK``/``LOCAL_RANK`` (tasks), ``NNODES``/``NODE_RANK`` (nodes); JAX's
``jax.distributed.initialize()`` also finds Slurm's own ``SLURM_*`` variables, kept intact.

The batch script (see :func:`batch_script`) runs the command with ``srun`` as one job step and
owns the grace period, so a stop started by the server completes even if the server dies:

* SIGTERM to the batch shell (sent by the backend's ``terminate`` with ``scancel --batch``,
  or by Slurm itself ``grace`` seconds before the time limit: ``--signal=B:TERM@grace``) is
  passed to the step's tasks (``scancel --signal=TERM``), and ``grace`` seconds later the
  step is killed (``scancel --signal=KILL <job>.0``: the step only, so ``srun`` sees its tasks
  end and the job completes at once; killing the whole job leaves it COMPLETING for
  seconds); the batch shell then ends by SIGKILL too, so the job's exit code says "killed"
  (``0:9``). The grace period is the request's, or the one ``terminate`` wrote into the
  run's ``grace`` file.
* The max duration is enforced to the second by ``timeout`` around each task (exit 124/137);
  Slurm's ``--time`` (whole minutes, checked about every 30 s) is the backstop, set to the max
  duration plus the grace period plus a minute.
* The job's log is the tasks' output, written by Slurm straight into ``log`` (``srun
  --output``, appended, so a requeued job keeps its first attempt's lines); Slurm's and
  srun's own messages go to ``slurm.out`` beside it, never into the job's log.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aicenter.backends.base import LaunchRequest
from aicenter.domain.errors import InputError
from aicenter.domain.visible_devices import VISIBLE_DEVICES_VARIABLES

GPU_FAMILIES = frozenset({"nvidia", "amd"})
"""Vendor families Slurm's ``gpu`` GRES plugin serves; all others are ``npu``."""

NETWORK_NOTE = ("the slurm backend cannot cut a job's network: this job reads licensed data "
                "and should have had no network, but it ran WITH the network of its nodes")
"""Said in the log and the exit message of a ``no_network`` run (never silently)."""

LIMITS_NOTE = ("memory and CPU limits are passed to Slurm (--mem, --cpus-per-task); Slurm "
               "enforces them only where the cluster confines jobs with cgroups")

MASTER_PORT_BASE = 20000
"""``MASTER_PORT`` = this + job id mod 20000: distinct for jobs that share a first node."""


def default_gres_name(chip_type: str, vendor_family: str) -> str:
    """``gpu:<model>`` or ``npu:<model>``: the catalog id without its vendor prefix."""
    model = chip_type.removeprefix(f"{vendor_family}-") or chip_type
    return f"{'gpu' if vendor_family in GPU_FAMILIES else 'npu'}:{model}"


def check_gres_name(text: str) -> str:
    """A ``name:type`` GRES (or a bare ``name``) Slurm accepts; ``InputError`` otherwise."""
    parts = text.split(":")
    if not 1 <= len(parts) <= 2 or not all(p and p.replace("-", "").replace("_", "")
                                             .replace(".", "").isalnum() for p in parts):
        raise InputError(f"GRES {text!r} must be name:type (letters, digits, '-', '_', '.')",
                         field="gres")
    return text


@dataclass(frozen=True, slots=True)
class GangShape:
    """How a run spreads over nodes: ``nodes`` nodes with ``chips_per_node`` chips and
    ``tasks_per_node`` tasks each."""

    nodes: int
    chips_per_node: int
    tasks_per_node: int

    @property
    def tasks(self) -> int:
        return self.nodes * self.tasks_per_node


def gang_shape(chip_count: int, chips_per_node: int, task_per_chip: bool = False) -> GangShape:
    """The fewest nodes that hold ``chip_count`` chips, ``chips_per_node`` at most on each.

    Constraint: ``nodes * per_node == chip_count`` with ``per_node <= chips_per_node``
    (a gang uses the same number of chips on every node, as collective libraries expect)."""
    if chip_count == 0:
        return GangShape(1, 0, 1)
    if chips_per_node <= 0:
        raise InputError("no node of the Slurm cluster has this chip type", field="chip_type")
    nodes = math.ceil(chip_count / chips_per_node)
    if chip_count % nodes:
        raise InputError(
            f"{chip_count} chips do not split evenly over {nodes} nodes of "
            f"{chips_per_node}; ask for a multiple of {nodes}", field="chip_count")
    per_node = chip_count // nodes
    return GangShape(nodes, per_node, per_node if task_per_chip else 1)


@dataclass(frozen=True, slots=True)
class SubmitPlan:
    """Everything about one submission that is not in the :class:`LaunchRequest`."""

    gres: str
    """The chip type's GRES, ``gpu:h100``; empty for a run without chips."""
    shape: GangShape
    out_dir: Path
    """Where Slurm writes ``log`` and ``slurm.out``: owned by the job's user."""
    grace_file: Path
    """Where ``terminate`` writes a grace period that overrides the request's."""
    user: str
    group: str
    home: str
    vendor_family: str | None
    partition: str | None = None
    qos: str | None = None
    account: str | None = None
    exclude: tuple[str, ...] = ()
    """Nodes of the partition outside the run's pool (``--exclude``): the run goes only to
    its pool's nodes."""


def time_limit_minutes(max_duration_s: float, grace_period_s: float) -> int:
    """Slurm's ``--time`` for a max duration: a backstop a minute past the run's own limit
    and grace (the batch script enforces the limit to the second)."""
    return math.ceil((max_duration_s + grace_period_s) / 60) + 1


def sbatch_args(request: LaunchRequest, plan: SubmitPlan) -> list[str]:
    """The ``sbatch`` options for ``request`` (the script path follows them)."""
    grace = max(1, math.ceil(request.grace_period_s))
    args = [
        "--parsable",
        f"--job-name={request.run_id}",
        "--export=NONE",
        f"--uid={plan.user}",
        f"--gid={plan.group}",
        f"--nodes={plan.shape.nodes}",
        f"--ntasks-per-node={plan.shape.tasks_per_node}",
        f"--output={plan.out_dir / 'slurm.out'}",
        "--open-mode=append",
        f"--chdir={request.working_dir or plan.out_dir}",
        "--requeue",
        f"--signal=B:TERM@{min(grace, 65535)}",
        f"--comment=aicenter run {request.run_id}",
    ]
    if plan.gres and plan.shape.chips_per_node:
        args.append(f"--gres={plan.gres}:{plan.shape.chips_per_node}")
    if request.max_duration_s is not None:
        args.append(f"--time={time_limit_minutes(request.max_duration_s, grace)}")
    if plan.partition:
        args.append(f"--partition={plan.partition}")
    if plan.exclude:
        args.append(f"--exclude={','.join(plan.exclude)}")
    if plan.account:
        args.append(f"--account={plan.account}")
    if plan.qos:
        args.append(f"--qos={plan.qos}")
    limits = request.limits  # the whole run's: Slurm's --mem is per node, CPUs per task
    if limits is not None and limits.memory_bytes is not None:
        per_node = math.ceil(limits.memory_bytes / (1 << 20) / plan.shape.nodes)
        args.append(f"--mem={per_node}M")
    if limits is not None and limits.cpu_millis is not None:
        per_task = math.ceil(limits.cpu_millis / 1000 / plan.shape.tasks)
        args.append(f"--cpus-per-task={max(1, per_task)}")
    return args


def _device_lines(vendor_family: str | None) -> list[str]:
    """Shell lines that name the task's GPUs as Slurm's gpu plugin gave them."""
    if vendor_family not in GPU_FAMILIES:
        return []
    lines = ['if [ -n "${GPU_DEVICE_ORDINAL:-}" ]; then',
             '  export AICENTER_DEVICE_IDS="$GPU_DEVICE_ORDINAL"']
    for variable in VISIBLE_DEVICES_VARIABLES.get(vendor_family or "", ()):
        lines.append(f'  export {variable}="$GPU_DEVICE_ORDINAL"')
    lines.append("fi")
    return lines


def job_env(request: LaunchRequest, plan: SubmitPlan) -> dict[str, str]:
    """The variables every task gets besides Slurm's: a small base for the job's user, the
    request's, then the chips' (which no request may override)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": plan.home,
        "USER": plan.user,
        "LOGNAME": plan.user,
        "LANG": "C.UTF-8",
        "SHELL": "/bin/sh",
    }
    env.update(request.env)
    env.update({
        "AICENTER_RUN_ID": request.run_id,
        "AICENTER_CHIP_TYPE": request.chip_type,
        "AICENTER_CHIP_COUNT": str(request.chip_count),
        "AICENTER_CHIPS_PER_NODE": str(plan.shape.chips_per_node),
    })
    return env


def task_command(request: LaunchRequest, plan: SubmitPlan) -> list[str]:
    """The argv ``srun`` starts on every task: a wrapper that sets the rendezvous and device
    variables, then ``env`` with the job's variables, ``timeout`` for the max duration, and
    the command."""
    wrapper = [
        "export RANK=$SLURM_PROCID LOCAL_RANK=$SLURM_LOCALID WORLD_SIZE=$SLURM_NTASKS",
        "export NODE_RANK=$SLURM_NODEID NNODES=$SLURM_JOB_NUM_NODES",
        *_device_lines(plan.vendor_family),
    ]
    if request.no_network:
        wrapper.append(f'[ "$RANK" = 0 ] && echo {shlex.quote("aicenter: " + NETWORK_NOTE)}')
    wrapper.append('exec "$@"')
    argv = ["/bin/sh", "-c", "\n".join(wrapper), "aicenter-task", "/usr/bin/env", "--"]
    argv += [f"{key}={value}" for key, value in job_env(request, plan).items()]
    command = list(request.command)
    if request.max_duration_s is not None:
        grace = max(1, math.ceil(request.grace_period_s))  # timeout reads 0 as "never kill"
        command = ["timeout", f"--kill-after={grace}s", f"{request.max_duration_s:.3f}s",
                   *command]
    elif "=" in command[0]:  # env would read it as a variable: start it through a shell
        command = ["/bin/sh", "-c", 'exec "$@"', "aicenter-task", *command]
    return argv + command


def batch_script(request: LaunchRequest, plan: SubmitPlan) -> str:
    """The batch script (see the module docstring for what it does and why)."""
    grace = max(1, math.ceil(request.grace_period_s))
    log = shlex.quote(str(plan.out_dir / "log"))
    killed = shlex.quote(str(plan.out_dir / "killed"))
    srun = [
        "srun", "--export=ALL", "--quiet", "--kill-on-bad-exit=1",
        f"--nodes={plan.shape.nodes}", f"--ntasks={plan.shape.tasks}",
        f"--ntasks-per-node={plan.shape.tasks_per_node}",
        f"--output={plan.out_dir / 'log'}", f"--error={plan.out_dir / 'log'}",
        "--open-mode=append",
    ]
    task = shlex.join(srun + task_command(request, plan))
    return f"""#!/bin/sh
# aicenter run {request.run_id}: generated by aicenter.backends.slurm.script (do not edit).
stopping=0
on_term() {{
  [ "$stopping" = 1 ] && return
  stopping=1
  grace=$(cat {shlex.quote(str(plan.grace_file))} 2>/dev/null || echo {grace})
  scancel --quiet --signal=TERM "$SLURM_JOB_ID"
  ( sleep "$grace"; : > {killed}; scancel --quiet --signal=KILL "$SLURM_JOB_ID.0" ) &
}}
trap on_term TERM
: >> {log}
MASTER_ADDR=$(hostname)
MASTER_PORT=$(( {MASTER_PORT_BASE} + SLURM_JOB_ID % 20000 ))
export MASTER_ADDR MASTER_PORT
[ "$stopping" = 1 ] && exit 143
{task} &
step=$!
while :; do
  wait "$step"; rc=$?
  if [ "$rc" -gt 128 ] && kill -0 "$step" 2>/dev/null; then continue; fi
  break
done
[ -e {killed} ] && kill -KILL $$
exit "$rc"
"""


def gres_for(chip_type: str, vendor_family: str | None, overrides: Mapping[str, str]) -> str:
    """The GRES a chip type is on this cluster: the operator's name, else the default rule;
    ``InputError`` for a chip type the catalog does not know and nobody named."""
    if chip_type in overrides:
        return check_gres_name(overrides[chip_type])
    if vendor_family is None:
        raise InputError(f"unknown chip type {chip_type!r}: not in the catalog and not in the "
                         "slurm backend's gres map", field="chip_type")
    return default_gres_name(chip_type, vendor_family)
