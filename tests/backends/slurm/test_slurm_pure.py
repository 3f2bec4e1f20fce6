"""The slurm backend's pure parts, without Slurm: state map, records, GRES, gang shapes, the
sbatch options and batch script, node capacity."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aicenter.backends.base import JobLimits, LaunchRequest, RunState, utc_from_epoch
from aicenter.backends.slurm.capacity import (
    free_by_gres,
    max_per_node,
    nodes_from_scontrol,
    parse_alloc_tres,
    parse_gres,
    total_by_gres,
)
from aicenter.backends.slurm.config import CAPABILITIES, ENTRY, SlurmConfig, SlurmSettings
from aicenter.backends.slurm.script import (
    GangShape,
    SubmitPlan,
    batch_script,
    default_gres_name,
    gang_shape,
    gres_for,
    sbatch_args,
    task_command,
    time_limit_minutes,
)
from aicenter.backends.slurm.states import (
    STATE_MAP,
    attempt_intervals,
    job_from_scontrol,
    jobs_from_sacct,
    map_state,
    parse_exit_code,
    parse_job_record,
    parse_scontrol_line,
)
from aicenter.catalog import Catalog
from aicenter.domain.errors import InputError

EVERY_SLURM_STATE = (
    "PENDING", "RUNNING", "COMPLETING", "COMPLETED", "FAILED", "PREEMPTED", "REQUEUED",
    "REQUEUE_HOLD", "REQUEUE_FED", "NODE_FAIL", "TIMEOUT", "OUT_OF_MEMORY", "CANCELLED",
    "BOOT_FAIL", "DEADLINE", "SUSPENDED", "STOPPED", "CONFIGURING", "RESIZING", "REVOKED",
    "SIGNALING", "SPECIAL_EXIT", "STAGE_OUT", "RESV_DEL_HOLD",
)
"""Slurm's job states (squeue(1), sacct(1) of 22.05-24.x)."""


def test_every_slurm_state_is_mapped() -> None:
    assert set(EVERY_SLURM_STATE) <= set(STATE_MAP)


@pytest.mark.parametrize(("slurm", "ours"), [
    ("PENDING", RunState.PENDING), ("REQUEUED", RunState.PENDING),
    ("REQUEUE_HOLD", RunState.PENDING), ("CONFIGURING", RunState.PENDING),
    ("RUNNING", RunState.RUNNING), ("COMPLETING", RunState.RUNNING),
    ("SUSPENDED", RunState.RUNNING), ("COMPLETED", RunState.SUCCEEDED),
    ("FAILED", RunState.FAILED), ("TIMEOUT", RunState.FAILED),
    ("OUT_OF_MEMORY", RunState.FAILED), ("NODE_FAIL", RunState.FAILED),
    ("BOOT_FAIL", RunState.FAILED), ("DEADLINE", RunState.FAILED),
    ("CANCELLED by 0", RunState.CANCELLED), ("PREEMPTED", RunState.PREEMPTED),
    ("COMPLETED+", RunState.SUCCEEDED),
])
def test_state_map(slurm: str, ours: RunState) -> None:
    assert map_state(slurm)[0] is ours


def test_an_unknown_state_is_never_final() -> None:
    state, message = map_state("SOMETHING_NEW")
    assert state is RunState.RUNNING and "SOMETHING_NEW" in message


@pytest.mark.parametrize(("text", "code"), [("0:0", 0), ("7:0", 7), ("0:9", -9), ("0:15", -15),
                                            ("", None), ("x:y", None)])
def test_exit_codes(text: str, code: int | None) -> None:
    assert parse_exit_code(text) == code


def test_scontrol_lines_keep_values_with_spaces() -> None:
    fields = parse_scontrol_line("NodeName=n1 OS=Linux 6.1 #1 SMP State=IDLE+DRAIN "
                                 "Reason=disk gone [root@2026] AllocTRES=cpu=2,gres/gpu=1")
    assert fields["OS"] == "Linux 6.1 #1 SMP" and fields["Reason"] == "disk gone [root@2026]"
    assert fields["AllocTRES"] == "cpu=2,gres/gpu=1" and fields["State"] == "IDLE+DRAIN"


def test_a_running_job_from_scontrol_and_a_pending_ones_estimated_start_is_dropped() -> None:
    running = job_from_scontrol("JobId=12 JobName=r1 JobState=RUNNING Reason=None "
                                "ExitCode=0:0 StartTime=1800000000 EndTime=1800003600")
    assert running.state is RunState.RUNNING and running.exit_code is None
    assert running.started_at == datetime.fromtimestamp(1800000000, UTC)
    assert running.ended_at is None  # a running job's EndTime is its time limit
    pending = job_from_scontrol("JobId=13 JobState=PENDING Reason=Resources ExitCode=0:0 "
                                "StartTime=1800000100 EndTime=Unknown")
    assert pending.started_at is None and pending.reason == "Resources"


def test_sacct_records_and_a_job_cancelled_while_pending_costs_nothing() -> None:
    text = ("41|COMPLETED|0:0|1800000000|1800000060\n"
            "42|CANCELLED by 0|0:0|None|1800000100\n"
            "43|TIMEOUT|0:15|1800000000|1800000600\n")
    done, cancelled, timed_out = jobs_from_sacct(text)
    assert done.state is RunState.SUCCEEDED and done.exit_code == 0
    assert cancelled.state is RunState.CANCELLED
    assert cancelled.started_at == cancelled.ended_at
    assert timed_out.state is RunState.FAILED and timed_out.exit_code == -15
    assert "time limit" in timed_out.message


def test_gres_names(catalog: Catalog) -> None:
    assert default_gres_name("amd-mi300x", "amd") == "gpu:mi300x"
    assert default_gres_name("rebellions-atom", "rebellions") == "npu:atom"
    assert default_gres_name("google-tpu-v5p", "google") == "npu:tpu-v5p"
    assert gres_for("nvidia-h100-sxm", "nvidia", {"nvidia-h100-sxm": "gpu:h100"}) == "gpu:h100"
    with pytest.raises(InputError, match="unknown chip type"):
        gres_for("acme-x1", None, {})
    with pytest.raises(InputError, match="name:type"):
        gres_for("nvidia-h100-sxm", "nvidia", {"nvidia-h100-sxm": "gpu:h 100"})
    for chip in catalog:  # every catalog chip has a GRES name Slurm accepts
        gres_for(chip.id, chip.vendor_family, {})


@pytest.mark.parametrize(("count", "per_node", "shape"), [
    (0, 4, GangShape(1, 0, 1)), (1, 4, GangShape(1, 1, 1)), (4, 4, GangShape(1, 4, 1)),
    (8, 4, GangShape(2, 4, 1)), (6, 4, GangShape(2, 3, 1)), (16, 8, GangShape(2, 8, 1)),
])
def test_gang_shapes(count: int, per_node: int, shape: GangShape) -> None:
    assert gang_shape(count, per_node) == shape


def test_gang_shapes_refuse_uneven_splits_and_count_tasks_per_chip() -> None:
    with pytest.raises(InputError, match="split evenly"):
        gang_shape(7, 4)
    assert gang_shape(8, 4, task_per_chip=True) == GangShape(2, 4, 4)
    assert gang_shape(8, 4, task_per_chip=True).tasks == 8


def _plan(tmp_path: Path, **kwargs: object) -> SubmitPlan:
    base: dict[str, object] = {
        "gres": "gpu:h100", "shape": GangShape(2, 4, 1), "out_dir": tmp_path / "out",
        "grace_file": tmp_path / "grace", "user": "alice", "group": "1001",
        "home": "/home/alice", "vendor_family": "nvidia", "partition": "p1", "qos": "normal",
        "account": "org-a"}
    base.update(kwargs)
    return SubmitPlan(**base)  # type: ignore[arg-type]


def test_sbatch_options(tmp_path: Path) -> None:
    request = LaunchRequest("run-1", ("python", "train.py"), "nvidia-h100-sxm", 8,
                            max_duration_s=3600, grace_period_s=90.5, account="org-a")
    args = sbatch_args(request, _plan(tmp_path))
    for expected in ("--parsable", "--job-name=run-1", "--export=NONE", "--uid=alice",
                     "--gid=1001", "--nodes=2", "--ntasks-per-node=1", "--gres=gpu:h100:4",
                     "--requeue", "--signal=B:TERM@91", "--partition=p1", "--account=org-a",
                     "--qos=normal", f"--time={time_limit_minutes(3600, 91)}",
                     f"--output={tmp_path / 'out' / 'slurm.out'}", "--open-mode=append"):
        assert expected in args, expected
    assert time_limit_minutes(3600, 91) == 63
    assert not any(a.startswith("--exclude") for a in args)
    pooled = sbatch_args(request, _plan(tmp_path, exclude=("node3", "node4")))
    assert "--exclude=node3,node4" in pooled  # the run's pool is node1-2 of p1


def test_limits_are_the_whole_runs_split_per_node_and_per_task(tmp_path: Path) -> None:
    """aicenter's limits are for the run; Slurm's --mem is per node, CPUs per task."""
    limits = JobLimits(memory_bytes=64 << 30, cpu_millis=64000)
    request = LaunchRequest("run-1", ("true",), "nvidia-h100-sxm", 8, limits=limits)
    gang = sbatch_args(request, _plan(tmp_path))  # 2 nodes, one task each
    assert "--mem=32768M" in gang and "--cpus-per-task=32" in gang
    per_chip = sbatch_args(request, _plan(tmp_path, shape=GangShape(2, 4, 4)))
    assert "--mem=32768M" in per_chip and "--cpus-per-task=8" in per_chip


def test_the_task_command_sets_rendezvous_env_and_the_timeout(tmp_path: Path) -> None:
    request = LaunchRequest("run-1", ("python", "-c", "x = 'a b'"), "nvidia-h100-sxm", 8,
                            env={"MY": "v 1"}, max_duration_s=5, grace_period_s=3)
    argv = task_command(request, _plan(tmp_path))
    wrapper = argv[2]
    for name in ("RANK=$SLURM_PROCID", "WORLD_SIZE=$SLURM_NTASKS", "LOCAL_RANK=$SLURM_LOCALID",
                 "NODE_RANK=$SLURM_NODEID", "NNODES=$SLURM_JOB_NUM_NODES",
                 'CUDA_VISIBLE_DEVICES="$GPU_DEVICE_ORDINAL"'):
        assert name in wrapper
    assert "MY=v 1" in argv and "AICENTER_CHIP_COUNT=8" in argv and "HOME=/home/alice" in argv
    assert argv[-6:] == ["timeout", "--kill-after=3s", "5.000s", "python", "-c", "x = 'a b'"]


def test_the_batch_script_is_valid_shell_and_runs_srun_in_the_background(tmp_path: Path) -> None:
    request = LaunchRequest("run-1", ("echo", "it's"), "rebellions-atom", 2, no_network=True)
    script = batch_script(request, _plan(tmp_path, gres="npu:atom", vendor_family="rebellions",
                                         shape=GangShape(1, 2, 1)))
    assert script.startswith("#!/bin/sh\n") and "trap on_term TERM" in script
    assert "srun --export=ALL" in script and "--kill-on-bad-exit=1" in script
    assert "GPU_DEVICE_ORDINAL" not in script  # no gpu plugin for NPUs
    assert "cannot cut a job" in script
    done = subprocess.run(["sh", "-n"], input=script, text=True, capture_output=True,
                          check=False)
    assert done.returncode == 0, done.stderr


NODES = (
    "NodeName=node1 Arch=x86_64 Gres=gpu:h100:4(S:0-1),npu:atom:4 State=MIXED "
    "Partitions=aicenter AllocTRES=cpu=2,gres/gpu=3,gres/gpu:h100=3\n"
    "NodeName=node2 Gres=gpu:h100:4,npu:atom:4 State=IDLE+DRAIN Partitions=aicenter "
    "Reason=fan broken [root@2026-12-07T10:00:00] AllocTRES=\n"
    "NodeName=node3 Gres=gpu:h100:8 State=IDLE* Partitions=other AllocTRES=\n"
    "NodeName=node4 Gres=gpu:h100:8 State=ALLOCATED Partitions=aicenter "
    "GresUsed=gpu:h100:8(IDX:0-7)\n"
)


def test_capacity_from_scontrol_nodes() -> None:
    nodes = nodes_from_scontrol(NODES)
    by_name = {n.name: n for n in nodes}
    assert by_name["node1"].available and by_name["node1"].free("gpu:h100") == 1
    assert not by_name["node2"].available and by_name["node2"].reason.startswith("fan broken")
    assert not by_name["node3"].available  # not responding
    assert by_name["node4"].free("gpu:h100") == 0
    assert total_by_gres(nodes) == {"gpu:h100": 24, "npu:atom": 8}
    assert free_by_gres(nodes) == {"gpu:h100": 1, "npu:atom": 4}
    assert max_per_node(nodes, "gpu:h100") == 8 and max_per_node(nodes, "tpu:v5") == 0


def test_gres_strings() -> None:
    assert parse_gres("gpu:h100:4(S:0-1),npu:atom:4") == {"gpu:h100": 4, "npu:atom": 4}
    assert parse_gres("gpu:h100:2(IDX:0,2),gpu:a100:1(IDX:3)") == {"gpu:h100": 2, "gpu:a100": 1}
    assert parse_gres("gpu:2") == {"gpu": 2} and parse_gres("(null)") == {}
    assert parse_alloc_tres("cpu=2,gres/gpu=3,gres/gpu:h100=3,gres/npu=1") == {
        "gpu:h100": 3, "npu": 1}


def test_config_settings_and_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AICENTER_SLURM_GRES", '{"nvidia-h100-sxm": "gpu:h100"}')
    monkeypatch.setenv("AICENTER_SLURM_USERS", '{"org-a": "alice"}')
    monkeypatch.setenv("AICENTER_SLURM_PARTITION", "aicenter")
    config = SlurmSettings().config(tmp_path)
    assert config.gres == {"nvidia-h100-sxm": "gpu:h100"} and config.users == {"org-a": "alice"}
    assert config.partition == "aicenter"
    monkeypatch.setenv("AICENTER_SLURM_USERS", "[1]")
    with pytest.raises(InputError, match="JSON object"):
        SlurmSettings().config(tmp_path)
    with pytest.raises(InputError, match="chips per node"):
        SlurmConfig(tmp_path, chips_per_node={"gpu:h100": 0})
    assert ENTRY.name == "slurm" and ENTRY.capabilities is CAPABILITIES
    assert ENTRY.config_type is SlurmConfig
    assert set(CAPABILITIES.claimed()) == {"runs_code", "graceful_stop", "multi_node",
                                           "reports_capacity", "places_pools"}
    monkeypatch.setenv("AICENTER_SLURM_USERS", "{}")
    monkeypatch.setenv("AICENTER_SLURM_POOL_NODES", '{"h100-haenam": "node[1-2]"}')
    monkeypatch.setenv("AICENTER_SLURM_POOL_PARTITIONS", '{"h100-gwangju": "gwangju"}')
    pooled = SlurmSettings().config(tmp_path)
    assert pooled.pool_nodes == {"h100-haenam": "node[1-2]"}
    assert pooled.pool_partitions == {"h100-gwangju": "gwangju"}
    with pytest.raises(InputError, match="not a Slurm partition or host list"):
        SlurmConfig(tmp_path, pool_nodes={"p": "node1 --uid=0"})


def test_priority_classes_map_to_qos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AICENTER_SLURM_QOS_BY_PRIORITY",
                       '{"chase-team": "chase", "best-effort": "scavenger"}')
    monkeypatch.setenv("AICENTER_SLURM_QOS", "normal")
    monkeypatch.setenv("AICENTER_SLURM_MANAGE_ACCOUNTS", "true")
    config = SlurmSettings().config(tmp_path)
    assert config.manage_accounts
    assert config.qos_for("chase-team") == "chase"
    assert config.qos_for("best-effort") == "scavenger"
    assert config.qos_for("normal") == "normal" and config.qos_for(None) == "normal"
    assert config.all_qos() == ["chase", "normal", "scavenger"]
    assert SlurmConfig(tmp_path).qos_for("chase-team") is None  # the account's default
    with pytest.raises(InputError, match="not a Slurm name"):
        SlurmConfig(tmp_path, qos_by_priority={"normal": "bad qos"})


def test_run_directories_the_jobs_users_cannot_reach_are_refused_at_start(
        tmp_path: Path) -> None:
    from aicenter.backends.slurm.backend import SlurmBackend

    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    with pytest.raises(InputError, match=r"reachable by the jobs' users.*mode 700"):
        SlurmBackend(SlurmConfig(private / "runs"))


def test_an_attempt_slurm_requeued_is_billed_from_its_own_start_and_end() -> None:
    """``sacct -D`` keeps a requeued attempt with state REQUEUED (read as waiting again), yet
    its Start and End are when it held the chips: those are the attempt's interval."""
    requeued = parse_job_record("7", "REQUEUED", "0:0", "1765000000", "1765000002")
    never_ran = parse_job_record("7", "REQUEUED", "0:0", "Unknown", "1765000003")
    assert requeued.state is RunState.PENDING
    assert attempt_intervals([never_ran, requeued]) == (
        (utc_from_epoch(1765000000), utc_from_epoch(1765000002)),)
    unfinished = parse_job_record("7", "REQUEUED", "0:0", "1765000000", "Unknown")
    assert attempt_intervals([requeued, unfinished]) is None  # wait for its end
