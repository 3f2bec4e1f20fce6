"""The environment a job sees for its accelerators.

Every job gets ``AICENTER_CHIP_TYPE`` (catalog id), ``AICENTER_CHIP_COUNT`` and, when the backend
assigned device indices, ``AICENTER_DEVICE_IDS`` (comma-separated). Where the vendor's runtime
reads a visible-devices variable, that is set too, so a framework inside the job sees only its
slots. The variable names are the ones the vendors' runtimes read, as also used by Ray's
accelerator managers (``ray/_private/accelerators/*.py``, Ray 2.60); the names are listed in
:mod:`aicenter.domain.visible_devices`, where admission also reads them (a spec may not set
them):

=============  ==========================================  =====================================
family         variable(s)                                 value
=============  ==========================================  =====================================
nvidia         CUDA_VISIBLE_DEVICES                        device indices
amd            HIP_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES   device indices
intel (Gaudi)  HABANA_VISIBLE_MODULES                      module indices
google (TPU)   TPU_VISIBLE_CHIPS                           chip indices
aws (Neuron)   NEURON_RT_VISIBLE_CORES                     NeuronCore indices: chip i owns cores
                                                           [i*k, (i+1)*k), k = cores per chip
huawei         ASCEND_RT_VISIBLE_DEVICES                   device indices
rebellions     RBLN_DEVICES                                device indices (ray rbln.py)
furiosa        FURIOSA_DEVICES                             ``npu:<i>`` list (ray furiosa.py)
tenstorrent    TT_VISIBLE_DEVICES                          device indices (ray ttnpu.py)
=============  ==========================================  =====================================

Korean NPUs: Rebellions' runtime documents ``RBLN_VISIBLE_DEVICES`` and ``RBLN_DEVICES`` among
its device-mapping variables (docs.rbln.ai, RBLN PyTorch "Environment Variables"); Ray's RBLN
manager sets ``RBLN_DEVICES``, and so do we. FuriosaAI: ``FURIOSA_DEVICES`` with ``npu:<i>``
items, the form Ray's Furiosa manager writes and the furiosa-llm CLI reads (its Python API
needs the value passed explicitly, per Ray's notes).

NeuronCores per chip (``k``): Trainium1 and Inferentia2 have 2 (trn1.32xlarge: 16 chips, 32
cores; inf2.48xlarge: 12 chips, 24 cores — Ray's ``AWS_NEURON_INSTANCE_MAP``); Trainium2 has 8
physical cores grouped by default as 4 logical cores (logical NeuronCore size 2), and the
runtime's variable counts logical cores, so ``k = 4`` there (medium confidence).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from aicenter.catalog import load_catalog
from aicenter.domain.visible_devices import VISIBLE_DEVICES_VARIABLES


def _plain(ids: Sequence[int]) -> str:
    return ",".join(str(i) for i in ids)


def _furiosa(ids: Sequence[int]) -> str:
    return ",".join(f"npu:{i}" for i in ids)


@dataclass(frozen=True, slots=True)
class VisibleDevicesRule:
    """How one vendor family's runtime is told which devices it may use."""

    variables: tuple[str, ...]
    format_ids: Callable[[Sequence[int]], str] = _plain


_FORMATS: dict[str, Callable[[Sequence[int]], str]] = {"furiosa": _furiosa}

VISIBLE_DEVICES_RULES: dict[str, VisibleDevicesRule] = {
    family: VisibleDevicesRule(variables, _FORMATS.get(family, _plain))
    for family, variables in VISIBLE_DEVICES_VARIABLES.items()
}
"""Vendor family (the catalog's ``vendor_family``) -> visible-devices rule."""

NEURON_CORES_PER_CHIP: dict[str, int] = {
    "aws-trainium1": 2,
    "aws-inferentia2": 2,
    "aws-trainium2": 4,
}
"""NeuronCores (as NEURON_RT_VISIBLE_CORES counts them) per chip; see the module docstring."""


@cache
def vendor_family_of(chip_type: str) -> str | None:
    """The catalog's vendor family of ``chip_type``; ``None`` if the catalog does not know it."""
    catalog = load_catalog()
    return catalog.get(chip_type).vendor_family if chip_type in catalog else None


def accelerator_env(
    run_id: str, chip_type: str, chip_count: int, device_ids: Sequence[int]
) -> dict[str, str]:
    """The variables that name a job's accelerators (see the module docstring)."""
    env = {
        "AICENTER_RUN_ID": run_id,
        "AICENTER_CHIP_TYPE": chip_type,
        "AICENTER_CHIP_COUNT": str(chip_count),
    }
    if not device_ids:
        return env
    env["AICENTER_DEVICE_IDS"] = _plain(device_ids)
    family = vendor_family_of(chip_type)
    rule = VISIBLE_DEVICES_RULES.get(family) if family else None
    if rule is None:
        return env
    ids: Sequence[int] = device_ids
    if family == "aws":
        per_chip = NEURON_CORES_PER_CHIP.get(chip_type, 2)
        ids = [chip * per_chip + core for chip in device_ids for core in range(per_chip)]
    value = rule.format_ids(ids)
    for variable in rule.variables:
        env[variable] = value
    return env
