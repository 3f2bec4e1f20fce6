"""Text-and-data-mining reservations (W3C TDMRep) and the licences that cover them.

Korea has no text-and-data-mining exception in its copyright act, so a record whose rights
holder reserved TDM may only be ingested when a licence covers it. TDMRep expresses the
reservation as ``tdm-reservation: 1`` (optionally with ``tdm-policy: <URL>`` pointing to the
terms under which mining is licensed). A record carries them as fields ``tdm_reservation`` or
``tdm-reservation`` and ``tdm_policy`` or ``tdm-policy``.

Rule: a reserved record is excluded unless its publisher or its policy URL is among those the
ingest was told a licence covers. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aicenter.domain.errors import InputError

RESERVATION_FIELDS = ("tdm_reservation", "tdm-reservation")
POLICY_FIELDS = ("tdm_policy", "tdm-policy")
_TRUE = frozenset({"1", "true", "yes"})
_FALSE = frozenset({"0", "false", "no", ""})


@dataclass(frozen=True, slots=True)
class TdmStatus:
    """What a record's TDMRep fields say."""

    reserved: bool
    policy: str | None = None


def _first(fields: Mapping[str, Any], names: Iterable[str]) -> tuple[str, Any] | None:
    for name in names:
        if name in fields and fields[name] is not None:
            return name, fields[name]
    return None


def tdm_status(
    fields: Mapping[str, Any], *, file: str | None = None, line: int | None = None
) -> TdmStatus:
    """Read the reservation (1/0, true/false) and policy of a record's fields."""
    found = _first(fields, RESERVATION_FIELDS)
    reserved = False
    if found is not None:
        name, value = found
        text = str(value).strip().lower()
        if isinstance(value, bool) or text in _TRUE or text in _FALSE:
            reserved = bool(value) if isinstance(value, bool) else text in _TRUE
        else:
            raise InputError(
                f"must be 1 or 0 (TDMRep), not {value!r}", file=file, line=line, field=name
            )
    policy = _first(fields, POLICY_FIELDS)
    return TdmStatus(reserved, None if policy is None else str(policy[1]))


@dataclass(frozen=True, slots=True)
class TdmCoverage:
    """Publishers and TDMRep policy URLs that a licence held by the center covers."""

    covered: frozenset[str] = frozenset()

    @staticmethod
    def of(names: Iterable[str]) -> TdmCoverage:
        return TdmCoverage(frozenset(n.strip() for n in names if n.strip()))

    def excludes(self, status: TdmStatus, publisher: str | None) -> bool:
        """True when the record is reserved and neither its publisher nor policy is covered."""
        if not status.reserved:
            return False
        if publisher is not None and publisher in self.covered:
            return False
        return not (status.policy is not None and status.policy in self.covered)
