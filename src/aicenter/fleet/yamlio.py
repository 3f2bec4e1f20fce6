"""YAML reading that keeps line numbers, and pydantic errors turned into located messages.

``yaml.compose`` gives a node tree with marks; we walk it once to map every field path (a tuple
of keys and list indices) to its 1-based line, so a validation error on ``pools[2].count`` can
say ``file.yaml:14``.

A text that arrives over the network (the API's and the pages' scoring and procurement) goes
through :func:`parse_text` first: its size, nesting and aliases are bounded before anything is
built from it (see that function for why each bound exists).
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


MAX_TEXT_CHARS = 65_536
"""Largest YAML text :func:`parse_text` reads: a fleet, proposal, offers or rubric file is a
few kilobytes; the pure-Python parser takes about a second for this much."""
MAX_DEPTH = 32
"""Deepest nesting of mappings and sequences :func:`parse_text` accepts (these files nest
four levels at most)."""


def parse_text(text: str, filename: str) -> tuple[Any, dict[PathKey, int]]:
    """:func:`parse_yaml` for a text someone sent (not a file of the caller's own machine),
    refusing before any object is built:

    * more than :data:`MAX_TEXT_CHARS` characters;
    * an alias (``*name``): one alias stands for a whole subtree, so a few nested ones stand
      for billions of nodes (the "billion laughs") that validation and the line map would
      walk one by one;
    * nesting deeper than :data:`MAX_DEPTH`: the composer recurses once per level, and the
      scanner slows quadratically with open flow collections.

    The events are read one at a time and the scan stops at the first refusal, so a refused
    text costs only the part of it before the problem."""
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"{len(text):,} characters is more than the {MAX_TEXT_CHARS:,} "
                         "accepted", file=filename)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, yaml.AliasEvent):
                raise InputError(f"aliases (*{event.anchor}) are not accepted here: write the "
                                 "value out", file=filename, line=line)
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InputError(f"nested more than {MAX_DEPTH} levels deep",
                                     file=filename, line=line)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise InputError(f"malformed YAML: {exc.problem}", file=filename,
                         line=mark.line + 1 if mark else None,
                         column=mark.column + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise InputError(f"malformed YAML: {exc}", file=filename) from None
    return parse_yaml(text, filename)


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
