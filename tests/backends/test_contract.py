"""The backend contract's value types, the visible-devices table and the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicenter.backends import (
    Backend,
    BackendConfig,
    BackendRegistry,
    LaunchRequest,
    RunHandle,
    RunState,
    StopReason,
    accelerator_env,
    default_registry,
)
from aicenter.backends.devices import VISIBLE_DEVICES_RULES
from aicenter.backends.local import LocalBackend
from aicenter.catalog import Catalog
from aicenter.domain.errors import InputError


def test_handle_round_trips_through_its_text_form() -> None:
    for handle in (
        RunHandle("local", "job-1.try-2", "/var/lib/aicenter/runs/job-1.try-2"),
        RunHandle("ray", "job_7", "http://10.0.0.5:8265"),
    ):
        assert RunHandle.parse(str(handle)) == handle


@pytest.mark.parametrize("text", ["", "local", "local:run", "local:@/x", "local:a b@/x", ":r@x"])
def test_malformed_handles_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        RunHandle.parse(text)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"run_id": "../etc"}, "run_id"),
        ({"command": ()}, "command"),
        ({"chip_count": -1}, "chip_count"),
        ({"device_ids": (0,)}, "device_ids"),
        ({"device_ids": (1, 1)}, "device_ids"),
        ({"max_duration_s": 0.0}, "max_duration_s"),
        ({"grace_period_s": -1.0}, "grace_period_s"),
        ({"env": {"A=B": "x"}}, "env"),
    ],
)
def test_bad_launch_requests_name_the_field(kwargs: dict[str, object], field: str) -> None:
    base: dict[str, object] = {
        "run_id": "r1", "command": ("true",), "chip_type": "nvidia-h100-sxm", "chip_count": 2
    }
    base.update(kwargs)
    with pytest.raises(InputError) as caught:
        LaunchRequest(**base)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_final_states_and_stop_reasons() -> None:
    assert {s for s in RunState if not s.is_final} == {RunState.PENDING, RunState.RUNNING}
    assert StopReason.CANCEL.final_state is RunState.CANCELLED
    assert StopReason.PREEMPT.final_state is RunState.PREEMPTED


@pytest.mark.parametrize(
    ("chip", "ids", "expected"),
    [
        ("nvidia-h200", (2, 5), {"CUDA_VISIBLE_DEVICES": "2,5"}),
        ("amd-mi355x", (0,), {"HIP_VISIBLE_DEVICES": "0", "ROCR_VISIBLE_DEVICES": "0"}),
        ("intel-gaudi3", (1, 2), {"HABANA_VISIBLE_MODULES": "1,2"}),
        ("google-tpu-v5p", (0, 1, 2, 3), {"TPU_VISIBLE_CHIPS": "0,1,2,3"}),
        ("aws-trainium1", (1,), {"NEURON_RT_VISIBLE_CORES": "2,3"}),
        ("aws-trainium2", (0, 2), {"NEURON_RT_VISIBLE_CORES": "0,1,2,3,8,9,10,11"}),
        ("huawei-ascend-910b", (7,), {"ASCEND_RT_VISIBLE_DEVICES": "7"}),
        ("rebellions-rebel-quad", (0, 1), {"RBLN_DEVICES": "0,1"}),
        ("furiosa-rngd", (3,), {"FURIOSA_DEVICES": "npu:3"}),
        ("tenstorrent-blackhole-p150", (0,), {"TT_VISIBLE_DEVICES": "0"}),
    ],
)
def test_vendor_visible_devices_variables(
    chip: str, ids: tuple[int, ...], expected: dict[str, str]
) -> None:
    env = accelerator_env("r", chip, len(ids), ids)
    vendor_vars = {k: v for k, v in env.items() if not k.startswith("AICENTER_")}
    assert vendor_vars == expected
    assert env["AICENTER_DEVICE_IDS"] == ",".join(map(str, ids))
    assert env["AICENTER_CHIP_TYPE"] == chip and env["AICENTER_CHIP_COUNT"] == str(len(ids))


def test_every_catalog_vendor_family_has_a_rule(catalog: Catalog) -> None:
    assert {chip.vendor_family for chip in catalog} <= set(VISIBLE_DEVICES_RULES)


def test_without_device_ids_only_chip_type_and_count_are_named() -> None:
    assert accelerator_env("r", "nvidia-h100-sxm", 4, ()) == {
        "AICENTER_RUN_ID": "r",
        "AICENTER_CHIP_TYPE": "nvidia-h100-sxm",
        "AICENTER_CHIP_COUNT": "4",
    }


def test_registry_creates_backends_by_name_and_explains_unknown_names(tmp_path: Path) -> None:
    registry = default_registry()
    assert registry.names() == ["local", "ray", "virtual"]
    backend = registry.create("local", BackendConfig(tmp_path, {"nvidia-h100-sxm": 8}))
    assert isinstance(backend, LocalBackend) and isinstance(backend, Backend)
    assert backend.name == "local" and backend.root == (tmp_path / "local").resolve()
    with pytest.raises(InputError, match=r"unknown backend 'loacl'.*did you mean 'local'"):
        registry.create("loacl", BackendConfig(tmp_path))
    with pytest.raises(InputError, match="needs a Ray address"):
        registry.create("ray", BackendConfig(tmp_path))
    with pytest.raises(ValueError, match="already registered"):
        registry.register("local", lambda config: backend)


def test_a_registry_accepts_a_new_backend(tmp_path: Path) -> None:
    registry = BackendRegistry()
    registry.register("mine", lambda config: LocalBackend(config.state_dir / "mine"))
    assert registry.create("mine", BackendConfig(tmp_path)).name == "local"


def test_every_protocol_member_is_documented_and_implemented_by_both_backends() -> None:
    from aicenter.backends.ray_jobs import RayBackend

    members = [name for name in vars(Backend) if not name.startswith("_")]
    assert set(members) >= {"name", "launch", "status", "read_log", "terminate", "list_runs",
                            "forget"}
    for name in members:
        member = vars(Backend)[name]
        doc = (member.fget if isinstance(member, property) else member).__doc__
        assert doc and doc.strip(), f"Backend.{name} has no docstring"
        for implementation in (LocalBackend, RayBackend):
            assert hasattr(implementation, name), f"{implementation.__name__} lacks {name}"
