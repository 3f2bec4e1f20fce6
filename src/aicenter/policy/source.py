"""The text of a policy set: its fingerprint, where each policy starts, and validation against
the schema (``schema.cedarschema``) with problems that name the policy and the line.

Cedar's validator names a policy by its position (``policy3``) and its parser names no line;
an operator editing a file needs both, so each policy's first line is found here (outside
comments and strings) and a problem is placed on the line within the policy that mentions the
name the error quotes (an unknown attribute or action), else on the policy's first line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cedarpy

from aicenter.domain.errors import InputError

POLICY_FILE = Path(__file__).parent / "policies.cedar"
SCHEMA_FILE = Path(__file__).parent / "schema.cedarschema"


class PolicyInvalidError(InputError):
    """A policy text that does not parse or does not conform to the schema."""


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One problem of a policy text: the policy (its ``@id``, or its position) and the line."""

    line: int
    policy: str | None
    message: str

    def __str__(self) -> str:
        where = f"policy {self.policy}" if self.policy else "policy text"
        return f"line {self.line}: {where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Statement:
    """One policy of a text: its position (``policy<n>``), first line, last line and text."""

    position: str
    first_line: int
    last_line: int
    text: str


def sha256_of(text: str) -> str:
    """The fingerprint of a policy text (UTF-8 bytes, exactly as stored)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def packaged_schema() -> str:
    """The schema shipped with aicenter."""
    return SCHEMA_FILE.read_text("utf-8")


def packaged_policies() -> str:
    """The policies shipped with aicenter (the center's policy until an operator sets one)."""
    return POLICY_FILE.read_text("utf-8")


def statements(text: str) -> list[Statement]:
    """The policies of ``text`` in order, each from its first annotation or effect keyword to
    its ``;``. Comments and string contents are skipped, so a ``;`` in either ends nothing."""
    found: list[Statement] = []
    start: int | None = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        if start is None and not ch.isspace():
            start = i
        if ch == ";" and start is not None:
            first = text.count("\n", 0, start) + 1
            found.append(Statement(f"policy{len(found)}", first,
                                   text.count("\n", 0, i) + 1, text[start:i + 1]))
            start = None
        i += 1
    return found


def _line_of(statement: Statement, message: str) -> int:
    """The line of ``statement`` that mentions the first name quoted in ``message``."""
    for quoted in re.findall(r"`([^`]+)`", message):
        name = quoted.split("::")[-1].strip('"')
        if not name or name.startswith("policy"):
            continue
        for offset, line in enumerate(statement.text.splitlines()):
            code = line.split("//", 1)[0]
            if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", code):
                return statement.first_line + offset
    return statement.first_line


def _annotated_id(statement: Statement) -> str | None:
    match = re.match(r'\s*@id\(\s*"([^"]*)"\s*\)', statement.text)
    return match.group(1) if match else None


def validate(text: str, schema: str | None = None) -> list[PolicyProblem]:
    """Every problem of ``text`` against ``schema`` (the packaged one by default): syntax
    errors first (each statement parsed alone to find the one at fault), then the
    validator's type errors; an empty list for a valid text."""
    parts = statements(text)
    problems: list[PolicyProblem] = []
    try:
        cedarpy.PolicySet.from_str(text)
    except ValueError as whole:
        for part in parts:
            try:
                cedarpy.PolicySet.from_str(part.text)
            except ValueError as exc:
                problems.append(PolicyProblem(part.first_line, _annotated_id(part),
                                              f"does not parse: {exc}"))
        if not problems:  # e.g. text after the last ';'
            last = parts[-1].last_line if parts else 1
            problems.append(PolicyProblem(last, None, f"does not parse: {whole}"))
        return problems
    if not parts:
        return [PolicyProblem(1, None, "holds no policy")]
    ids = [_annotated_id(p) for p in parts]
    repeated = {i for i in ids if i is not None and ids.count(i) > 1}
    for part, pid in zip(parts, ids, strict=True):
        if pid in repeated:
            problems.append(PolicyProblem(part.first_line, pid, "its @id is used twice"))
    result = cedarpy.validate_policies(text, schema if schema is not None else packaged_schema())
    by_position = {p.position: p for p in parts}
    for error in result.errors:
        found = by_position.get(error.policy_id)
        if found is None:
            problems.append(PolicyProblem(1, None, error.error))
            continue
        problems.append(PolicyProblem(_line_of(found, error.error),
                                      _annotated_id(found) or error.policy_id, error.error))
    return sorted(problems, key=lambda p: p.line)


def require_valid(text: str, origin: str, schema: str | None = None) -> None:
    """Raise :class:`PolicyInvalidError` naming ``origin`` (a file, or "the database's
    version 3") and each problem's policy and line, unless ``text`` is valid."""
    problems = validate(text, schema)
    if problems:
        lines = "\n".join(f"  {origin}:{p}" for p in problems)
        raise PolicyInvalidError(f"the policies in {origin} are not valid against the "
                                 f"schema:\n{lines}", field="policy")
