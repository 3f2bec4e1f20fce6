"""FLOPs per token: 6·N plus PaLM's attention term, or the published figure."""

from __future__ import annotations

import pytest

from aicenter.planner.flops import attention_flops_per_token, flops_per_token
from aicenter.planner.model import presets


def test_palm_form_for_llama_405b() -> None:
    spec = presets()["llama-3.1-405b"]
    # 6N + 12·L·H·Q·T with H·Q = 128 × 128 = 16384, T = 8192
    expected = 6 * 405e9 + 12 * 126 * 128 * 128 * 8192
    assert flops_per_token(spec) == pytest.approx(expected)


def test_published_figure_wins_and_longer_context_adds_attention() -> None:
    v3 = presets()["deepseek-v3"]
    assert flops_per_token(v3) == 2.5e11
    extra = attention_flops_per_token(v3, 32768) - attention_flops_per_token(v3, 4096)
    assert flops_per_token(v3, 32768) == pytest.approx(2.5e11 + extra)
    # MLA: q/k heads 192 wide, v heads 128 wide
    assert attention_flops_per_token(v3, 4096) == pytest.approx(6 * 61 * 4096 * 128 * 320)


def test_attention_grows_linearly_with_context() -> None:
    spec = presets()["generic-7b"]
    short, long = flops_per_token(spec, 2048), flops_per_token(spec, 4096)
    assert long - short == pytest.approx(attention_flops_per_token(spec, 2048))
