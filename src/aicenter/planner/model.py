"""Model descriptions the planner reasons about: dense and mixture-of-experts transformers.

A :class:`ModelSpec` holds what the FLOPs, memory and throughput estimates need (parameter
counts, shape, sequence length, vocabulary, optionally a published FLOPs-per-token figure) and
the published extra stages of a programme (context extension, post-training, RL) as
:class:`StageSpec` line items. Presets ship in ``data/models.yaml``; users describe their own
model in a YAML file with the same keys (see ``examples/models/``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from aicenter.domain.errors import InputError, NotFoundError

BILLION = 1e9

_E = TypeVar("_E", bound=StrEnum)


class ModelKind(StrEnum):
    DENSE = "dense"
    MOE = "moe"


class Recompute(StrEnum):
    """Activation recomputation. ``full`` replays each layer's forward in the backward pass
    (hardware FLOPs ×4/3); ``selective`` recomputes only attention internals (negligible
    extra FLOPs, Korthikanti et al. 2022); ``none`` stores everything."""

    NONE = "none"
    SELECTIVE = "selective"
    FULL = "full"


class StageKind(StrEnum):
    """Line items of a training programme; each is planned and priced separately."""

    PRETRAIN = "pretrain"
    CONTEXT_EXTENSION = "context-extension"
    POST_TRAINING = "post-training"
    RL = "rl"


@dataclass(frozen=True, slots=True)
class StageSpec:
    """One stage: its kind, trained tokens (None when unpublished) and sequence length."""

    name: str
    kind: StageKind
    tokens: float | None
    seq_len: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A transformer to train. Parameter counts are in parameters (not billions)."""

    name: str
    kind: ModelKind
    total_params: float
    active_params: float
    layers: int
    hidden_size: int
    heads: int
    kv_heads: int
    head_dim: int
    v_head_dim: int
    seq_len: int
    vocab: int
    flops_per_token: float | None = None
    recompute: Recompute = Recompute.SELECTIVE
    default_stage: StageKind = StageKind.PRETRAIN
    stages: tuple[StageSpec, ...] = ()
    aliases: tuple[str, ...] = ()
    source: str = ""
    derived: bool = False  # True when the shape was derived from the parameter count alone
    notes: tuple[str, ...] = field(default=())

    @property
    def is_moe(self) -> bool:
        return self.kind is ModelKind.MOE


# ---------------------------------------------------------------------------------------------
# Parsing

_REQUIRED = ("name", "total_params_b", "layers", "hidden_size", "heads", "seq_len")
_KNOWN = {
    *_REQUIRED,
    "kind",
    "active_params_b",
    "kv_heads",
    "head_dim",
    "v_head_dim",
    "vocab",
    "flops_per_token",
    "recompute",
    "default_stage",
    "stages",
    "aliases",
    "source",
    "experts",
    "experts_per_token",
    "ffn_hidden_size",
    "notes",
}


def _number(data: dict[str, Any], key: str, *, integer: bool = False) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError(f"must be a number, got {value!r}", field=key)
    try:
        number = float(value)
    except ValueError:
        raise InputError(f"must be a number, got {value!r}", field=key) from None
    if not math.isfinite(number) or number <= 0:
        raise InputError(f"must be a positive number, got {value!r}", field=key)
    if integer and number != int(number):
        raise InputError(f"must be a whole number, got {value!r}", field=key)
    return number


def _enum(data: dict[str, Any], key: str, enum: type[_E], default: _E) -> _E:
    if key not in data:
        return default
    try:
        return enum(str(data[key]))
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise InputError(f"'{data[key]}' is not one of {allowed}", field=key) from None


def _stage(raw: Any, index: int, seq_len: int) -> StageSpec:
    prefix = f"stages[{index}]"
    if not isinstance(raw, dict):
        raise InputError("must be a mapping with name, kind, tokens, seq_len", field=prefix)
    try:
        kind = _enum(raw, "kind", StageKind, StageKind.POST_TRAINING)
        tokens = None if raw.get("tokens") is None else _number(raw, "tokens")
        stage_seq = int(_number(raw, "seq_len", integer=True)) if "seq_len" in raw else seq_len
    except InputError as exc:
        raise exc.located(field_prefix=prefix) from None
    return StageSpec(
        name=str(raw.get("name", kind.value)),
        kind=kind,
        tokens=tokens,
        seq_len=stage_seq,
        note=str(raw.get("note", "")),
    )


def model_from_dict(data: Any) -> ModelSpec:
    """Build and check a model from parsed YAML; errors name the offending field."""
    if not isinstance(data, dict):
        raise InputError("a model file must be a mapping of keys to values")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise InputError(f"missing required key(s): {', '.join(missing)}", field=missing[0])
    unknown = sorted(k for k in data if k not in _KNOWN)
    if unknown:
        raise InputError(f"unknown key(s): {', '.join(unknown)}", field=unknown[0])
    kind = _enum(data, "kind", ModelKind, ModelKind.DENSE)
    total = _number(data, "total_params_b") * BILLION
    active = _number(data, "active_params_b") * BILLION if "active_params_b" in data else total
    if active > total:
        raise InputError("active_params_b cannot exceed total_params_b", field="active_params_b")
    if kind is ModelKind.DENSE and active != total:
        raise InputError(
            "a dense model activates all its parameters; use kind: moe", field="active_params_b"
        )
    layers = int(_number(data, "layers", integer=True))
    hidden = int(_number(data, "hidden_size", integer=True))
    heads = int(_number(data, "heads", integer=True))
    kv_heads = int(_number(data, "kv_heads", integer=True)) if "kv_heads" in data else heads
    if kv_heads > heads or heads % kv_heads:
        raise InputError(f"kv_heads {kv_heads} must divide heads {heads}", field="kv_heads")
    head_dim = int(_number(data, "head_dim", integer=True)) if "head_dim" in data else 0
    head_dim = head_dim or hidden // heads
    v_head_dim = int(_number(data, "v_head_dim", integer=True)) if "v_head_dim" in data else 0
    seq_len = int(_number(data, "seq_len", integer=True))
    vocab = int(_number(data, "vocab", integer=True)) if "vocab" in data else 32000
    flops = _number(data, "flops_per_token") if data.get("flops_per_token") is not None else None
    if flops is not None and flops < 2 * active:
        raise InputError(
            f"{flops:.3g} is below 2 × active parameters; give training FLOPs per token",
            field="flops_per_token",
        )
    raw_stages = data.get("stages") or []
    if not isinstance(raw_stages, list):
        raise InputError("must be a list of stages", field="stages")
    stages = tuple(_stage(s, i, seq_len) for i, s in enumerate(raw_stages))
    aliases = data.get("aliases") or []
    if not isinstance(aliases, list):
        raise InputError("must be a list of names", field="aliases")
    notes = data.get("notes") or []
    return ModelSpec(
        name=str(data["name"]),
        kind=kind,
        total_params=total,
        active_params=active,
        layers=layers,
        hidden_size=hidden,
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        v_head_dim=v_head_dim or head_dim,
        seq_len=seq_len,
        vocab=vocab,
        flops_per_token=flops,
        recompute=_enum(data, "recompute", Recompute, Recompute.SELECTIVE),
        default_stage=_enum(data, "default_stage", StageKind, StageKind.PRETRAIN),
        stages=stages,
        aliases=tuple(str(a) for a in aliases),
        source=str(data.get("source", "")),
        notes=tuple(str(n) for n in notes) if isinstance(notes, list) else (str(notes),),
    )


def load_model_file(path: Path | str) -> ModelSpec:
    """Read a model YAML file; every problem is an :class:`InputError` naming the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read model file: {exc.strerror}", file=str(p)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"not valid YAML: {problem}", file=str(p), line=line) from None
    try:
        return model_from_dict(data)
    except InputError as exc:
        raise exc.located(file=str(p), line=_line_of(text, exc.field)) from None


def _line_of(text: str, field_path: str | None) -> int | None:
    """The line of the first occurrence of the field's last key, for error messages."""
    if not field_path:
        return None
    key = field_path.split(".")[-1].split("[")[0]
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith(f"{key}:") or line.strip().startswith(f"- {key}:"):
            return number
    return None


# ---------------------------------------------------------------------------------------------
# Presets


@lru_cache(maxsize=1)
def presets() -> dict[str, ModelSpec]:
    """The packaged presets by name (``data/models.yaml``)."""
    resource = resources.files("aicenter.planner").joinpath("data/models.yaml")
    where = "aicenter/planner/data/models.yaml"
    data = yaml.safe_load(resource.read_text("utf-8"))
    result: dict[str, ModelSpec] = {}
    for index, raw in enumerate(data["models"]):
        try:
            spec = model_from_dict(raw)
        except InputError as exc:
            raise exc.located(file=where, field_prefix=f"models[{index}]") from None
        result[spec.name] = spec
    return result


def _normalise(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def find_preset(text: str) -> ModelSpec | None:
    """The preset whose name or alias is the longest one contained in ``text`` (free text such
    as "Llama 3.1 405B" or "DeepSeek-V3 (pre-training only)"), or None."""
    wanted = _normalise(text)
    best: tuple[int, ModelSpec] | None = None
    for spec in presets().values():
        for alias in (spec.name, *spec.aliases):
            key = _normalise(alias)
            if key and key in wanted and (best is None or len(key) > best[0]):
                best = (len(key), spec)
    return best[1] if best else None


def resolve_model(name_or_file: str) -> ModelSpec:
    """A preset by name, or a YAML file when the argument names one."""
    table = presets()
    if name_or_file in table:
        return table[name_or_file]
    if name_or_file.endswith((".yaml", ".yml")) or Path(name_or_file).is_file():
        return load_model_file(name_or_file)
    from aicenter.catalog.loader import nearest

    hints = nearest(name_or_file, list(table))
    hint = f"; did you mean {', '.join(hints)}?" if hints else ""
    raise NotFoundError(
        f"unknown model '{name_or_file}'{hint} (presets: {', '.join(table)}; or a YAML file)"
    )


def derived_dense_model(name: str, total_params: float, active_params: float) -> ModelSpec:
    """A model shaped from its parameter count alone, for runs without a preset.

    Uses the common aspect ratio ``hidden = 128 · layers`` and ``N ≈ 12 · layers · hidden²``, so
    ``hidden = (128·N/12)^(1/3)`` rounded to 128; sequence length 4,096, 128-wide heads. The
    attention term is then approximate; it is small next to 6·N for large models.
    """
    hidden = max(128, round((128 * total_params / 12) ** (1 / 3) / 128) * 128)
    layers = max(1, round(total_params / (12 * hidden * hidden)))
    heads = max(1, hidden // 128)
    moe = active_params < total_params
    return ModelSpec(
        name=name,
        kind=ModelKind.MOE if moe else ModelKind.DENSE,
        total_params=total_params,
        active_params=active_params,
        layers=layers,
        hidden_size=hidden,
        heads=heads,
        kv_heads=heads,
        head_dim=128,
        v_head_dim=128,
        seq_len=4096,
        vocab=32000,
        derived=True,
        notes=("shape derived from the parameter count (no preset)",),
    )
