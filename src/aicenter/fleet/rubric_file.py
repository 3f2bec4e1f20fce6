"""Rubric files (YAML) and the presets shipped in the package.

```yaml
id: korea-nacc-2025
name: Korea National AI Computing Center (2025 call), assumed weights
description: ...
criteria:
  - id: capacity
    type: capacity            # a registered criterion type
    max: 30
    label: Capacity against 10,000 H100s
    params: {target_h100e: 10000}
```
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

import aicenter.fleet.criteria  # noqa: F401  (registers the built-in criterion types)
from aicenter.catalog.loader import nearest
from aicenter.domain.errors import NotFoundError
from aicenter.fleet.rubric import CRITERION_TYPES, Rubric
from aicenter.fleet.yamlio import PathKey, locate, parse_yaml, read_yaml, validate

_STRICT = ConfigDict(extra="forbid", frozen=True)


class CriterionSpec(BaseModel):
    model_config = _STRICT
    id: str = Field(min_length=1)
    type: str
    max: float = Field(gt=0)
    label: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class RubricModel(BaseModel):
    model_config = _STRICT
    id: str = Field(min_length=1)
    name: str
    description: str = ""
    criteria: list[CriterionSpec] = Field(min_length=1)


def rubric_from_data(data: object, filename: str, lines: dict[PathKey, int]) -> Rubric:
    model = validate(RubricModel, data, filename, lines)
    criteria = []
    seen: set[str] = set()
    for index, spec in enumerate(model.criteria):
        where: PathKey = ("criteria", index)
        if spec.id in seen:
            raise locate(f"duplicate criterion id '{spec.id}'", filename, lines, (*where, "id"))
        seen.add(spec.id)
        kind = CRITERION_TYPES.get(spec.type)
        if kind is None:
            known = ", ".join(sorted(CRITERION_TYPES))
            raise locate(
                f"unknown criterion type '{spec.type}' (known: {known})",
                filename,
                lines,
                (*where, "type"),
            )
        raw = data["criteria"][index].get("params", {}) if isinstance(data, dict) else {}
        params = validate(kind.Params, raw, filename, lines, (*where, "params"))
        floor = getattr(params, "floor_points", 0.0)
        if floor > spec.max:
            raise locate(
                f"floor_points {floor:g} exceeds max {spec.max:g}",
                filename,
                lines,
                (*where, "params", "floor_points"),
            )
        criteria.append(kind(spec.id, spec.max, params))
    return Rubric(model.id, model.name, model.description, tuple(criteria))


def preset_names() -> list[str]:
    folder = resources.files("aicenter.fleet").joinpath("presets")
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_rubric(name_or_path: str | Path) -> Rubric:
    """A preset by name (``india-diversity``) or a rubric YAML file by path."""
    text = str(name_or_path)
    if text in preset_names():
        resource = resources.files("aicenter.fleet").joinpath(f"presets/{text}.yaml")
        data, lines = parse_yaml(resource.read_text("utf-8"), f"preset {text}")
        return rubric_from_data(data, f"preset {text}", lines)
    path = Path(text)
    if not path.exists():
        hints = nearest(text, preset_names())
        hint = f"did you mean {', '.join(hints)}? " if hints else ""
        raise NotFoundError(
            f"no rubric preset or file '{text}'; {hint}presets: {', '.join(preset_names())}"
        )
    data, lines = read_yaml(path)
    return rubric_from_data(data, str(path), lines)
