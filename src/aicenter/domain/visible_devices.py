"""Names of the environment variables through which vendors' runtimes choose accelerators.

The center sets these to the devices a job was given (:mod:`aicenter.backends.devices` says
how and where the names come from); a spec may not set them, or a job could pick devices it
was not given. Kept here, free of backends and the catalog, so that admission (domain) and
the backends read one list.
"""

from __future__ import annotations

VISIBLE_DEVICES_VARIABLES: dict[str, tuple[str, ...]] = {
    "nvidia": ("CUDA_VISIBLE_DEVICES",),
    "amd": ("HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"),
    "intel": ("HABANA_VISIBLE_MODULES",),
    "google": ("TPU_VISIBLE_CHIPS",),
    "aws": ("NEURON_RT_VISIBLE_CORES",),
    "huawei": ("ASCEND_RT_VISIBLE_DEVICES",),
    "rebellions": ("RBLN_DEVICES",),
    "furiosa": ("FURIOSA_DEVICES",),
    "tenstorrent": ("TT_VISIBLE_DEVICES",),
}
"""Vendor family (the catalog's ``vendor_family``) -> the variables the center sets."""

OTHER_DEVICE_SELECTORS: tuple[str, ...] = (
    "NVIDIA_VISIBLE_DEVICES",  # NVIDIA container toolkit
    "GPU_DEVICE_ORDINAL",  # ROCm (HIP) device selection
    "HABANA_VISIBLE_DEVICES",  # Habana container runtime
    "RBLN_VISIBLE_DEVICES",  # Rebellions runtime (see aicenter.backends.devices)
)
"""Variables the center does not set but that also select devices in a vendor's stack."""

RESERVED_DEVICE_VARIABLES: frozenset[str] = frozenset(
    {name for names in VISIBLE_DEVICES_VARIABLES.values() for name in names}
    | set(OTHER_DEVICE_SELECTORS))
"""Every device-selecting variable: none may be set by a job spec."""
