"""Training FLOPs per token and per stage.

Per trained token, at sequence length ``T`` (PaLM, arXiv 2204.02311 App. B):

    F(T) = 6 · N_active + 6 · L · T · (H · d_qk + H · d_v)

which for ``d_qk = d_v = Q`` is PaLM's ``6N + 12·L·H·Q·T``: the 6·N term counts the weight
matmuls (forward 2, backward 4) and the second the attention score and value matmuls, which
grow with the context. When a model publishes its own figure ``F_pub`` at its pre-training
length ``T0`` it is used instead, and another length adds the attention difference:
``F(T) = F_pub + 6·L·H·(d_qk + d_v)·(T − T0)``.

Reinforcement learning (GRPO-style) trains on sampled rollouts: per trained token the policy
update costs ``F(T)``, the rollout itself one forward pass ``F(T)/3`` and a reference-model
forward another ``F(T)/3``. The rollout runs at decode efficiency, which the throughput module
accounts for separately (see :mod:`aicenter.planner.throughput`).
"""

from __future__ import annotations

from aicenter.planner.model import ModelSpec


def attention_flops_per_token(model: ModelSpec, seq_len: int) -> float:
    """``6 · L · T · H · (d_qk + d_v)``: training FLOPs of the attention matmuls per token."""
    return 6.0 * model.layers * seq_len * model.heads * (model.head_dim + model.v_head_dim)


def flops_per_token(model: ModelSpec, seq_len: int | None = None) -> float:
    """Training FLOPs per token (forward + backward) at ``seq_len`` (default: the model's)."""
    length = seq_len or model.seq_len
    if model.flops_per_token is not None:
        delta = attention_flops_per_token(model, length) - attention_flops_per_token(
            model, model.seq_len
        )
        return model.flops_per_token + delta
    return 6.0 * model.active_params + attention_flops_per_token(model, length)


def flops_basis(model: ModelSpec) -> str:
    """How the per-token figure was obtained, for the printed assumptions."""
    if model.flops_per_token is not None:
        return f"published {model.flops_per_token:.3g} FLOPs/token at {model.seq_len} tokens"
    return "6·N_active + 6·L·T·H·(d_qk + d_v) (PaLM form, non-causal)"


def rl_rollout_flops_per_token(model: ModelSpec, seq_len: int | None = None) -> float:
    """Forward-only FLOPs per rollout token (sampling plus reference model: 2 × F/3)."""
    return 2.0 * flops_per_token(model, seq_len) / 3.0
