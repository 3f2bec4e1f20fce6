"""YAML reading that keeps line numbers, and pydantic errors turned into located messages.

``yaml.compose`` gives a node tree with marks; we walk it once to map every field path (a tuple
of keys and list indices) to its 1-based line, so a validation error on ``pools[2].count`` can
say ``file.yaml:14``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from aicenter.domain.errors import InputError

PathKey = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


def _line_map(node: yaml.Node, path: PathKey, lines: dict[PathKey, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*path, key)] = key_node.start_mark.line + 1
            _line_map(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*path, index), lines)


def read_yaml(path: Path | str) -> tuple[Any, dict[PathKey, int]]:
    """Parse a YAML file; return the data and a map from field path to line number."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", file=str(p)) from None
    return parse_yaml(text, str(p))


def parse_yaml(text: str, filename: str) -> tuple[Any, dict[PathKey, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        raise InputError(
            f"malformed YAML: {exc.problem}", file=filename, line=line, column=column
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"malformed YAML: {exc}", file=filename) from None
    lines: dict[PathKey, int] = {}
    if node is not None:
        _line_map(node, (), lines)
    return data, lines


def format_path(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_for(path: PathKey, lines: dict[PathKey, int]) -> int | None:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def validate(
    model: type[M], data: Any, filename: str, lines: dict[PathKey, int], prefix: PathKey = ()
) -> M:
    """Validate ``data`` with a pydantic model; the first error becomes a located InputError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc: PathKey = (*prefix, *(p for p in error["loc"] if isinstance(p, str | int)))
        kind = error["type"]
        if kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "missing":
            message = "required field is missing"
        else:
            message = error["msg"]
            if "input" in error and kind not in {"model_type", "dict_type"}:
                message += f" (got {error['input']!r})"
        raise InputError(
            message, file=filename, line=_line_for(loc, lines), field=format_path(loc) or None
        ) from None


def locate(message: str, filename: str, lines: dict[PathKey, int], path: PathKey) -> InputError:
    """An InputError for a semantic problem found after validation (an unknown chip id...)."""
    return InputError(
        message, file=filename, line=_line_for(path, lines), field=format_path(path) or None
    )
