"""Memory fit, minimum chips and refusals."""

from __future__ import annotations

import pytest

from aicenter.catalog import Catalog
from aicenter.planner.memory import (
    BYTES_PER_PARAM_STATES,
    activation_bytes,
    check_memory,
    minimum_chips,
    training_refusal,
)
from aicenter.planner.model import Recompute, presets


def test_states_are_sixteen_bytes_per_parameter_sharded(catalog: Catalog) -> None:
    spec = presets()["llama-3.1-70b"]
    fit = check_memory(spec, catalog.get("nvidia-h100-sxm"), 64)
    assert fit.states_gb == pytest.approx(BYTES_PER_PARAM_STATES * 70.6e9 / 64 / 1e9)
    assert fit.tensor_parallel == 8


def test_minimum_chips_is_the_boundary(catalog: Catalog) -> None:
    spec = presets()["llama-3.1-405b"]
    h100 = catalog.get("nvidia-h100-sxm")
    n = minimum_chips(spec, h100)
    assert n is not None and n % 8 == 0
    full = spec.__class__(**{**{f: getattr(spec, f) for f in spec.__slots__},
                              "recompute": Recompute.FULL})
    assert check_memory(full, h100, n).fits
    assert not check_memory(full, h100, n - 8).fits
    assert "needs at least" in check_memory(full, h100, n - 8).reason


def test_recompute_trades_memory(catalog: Catalog) -> None:
    spec = presets()["llama-3.1-8b"]
    sel = activation_bytes(spec, Recompute.SELECTIVE, 8)
    full = activation_bytes(spec, Recompute.FULL, 8)
    none = activation_bytes(spec, Recompute.NONE, 8)
    assert full < sel < none


def test_switches_to_full_recompute_when_selective_does_not_fit(catalog: Catalog) -> None:
    spec = presets()["llama-3.1-405b"]
    h100 = catalog.get("nvidia-h100-sxm")
    fit = check_memory(spec, h100, 128)
    assert fit.fits and fit.recompute is Recompute.FULL and "switched to full" in fit.reason
    assert check_memory(spec, h100, 16384).recompute is Recompute.SELECTIVE


def test_inference_npus_and_too_small_chips_are_refused(catalog: Catalog) -> None:
    for chip_id in ("rebellions-atom", "furiosa-rngd", "aws-inferentia2",
                    "tenstorrent-blackhole-p150"):
        reason = training_refusal(catalog.get(chip_id))
        assert reason is not None and "cannot train" in reason
    assert training_refusal(catalog.get("nvidia-h100-sxm")) is None
    l40s = catalog.get("nvidia-l40s")
    spec = presets()["llama-3.1-405b"]
    assert minimum_chips(spec, l40s) is None
    fit = check_memory(spec, l40s, 4096)
    assert not fit.fits and "any number" in fit.reason
