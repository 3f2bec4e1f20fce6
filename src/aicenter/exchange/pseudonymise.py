"""What happens to a record's PII: drop the record, redact, or pseudonymise with a keyed HMAC.

Pseudonymisation follows PIPA's pseudonymised-information practice (art. 28-2; PIPC guideline
2024-02): a value is replaced by a token that cannot be reversed without additional information
held apart — here the center's secret key — and the same value maps to the same token within a
dataset, so records stay linkable for training and statistics.

    dataset_key = HMAC-SHA256(center_key, "aicenter-pseudonym-v1" ‖ 0x00 ‖ dataset_id)
    token       = HMAC-SHA256(dataset_key, type ‖ 0x00 ‖ normalise(value))[:10 hex]

``normalise`` is each type's own (its detector module's): digits only for numbers, so
``010-1234-5678`` and ``01012345678`` get the same token, lower case for e-mail addresses, names
as written. Different datasets get different tokens for the same value, so two datasets cannot
be joined on them.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from aicenter.domain.errors import InputError
from aicenter.exchange.pii.base import Action, Finding, PiiType
from aicenter.exchange.pii.registry import HANDLING

MIN_KEY_BYTES = 32
TOKEN_HEX_CHARS = 10

__all__ = ["DEFAULT_ACTIONS", "Action", "Pseudonymiser", "apply_actions", "normalise"]

DEFAULT_ACTIONS: Mapping[PiiType, Action] = {t: h.default_action for t, h in HANDLING.items()}
"""Each type's default action, declared by its detector: resident and foreigner numbers may only
be processed with a legal basis (PIPA art. 24-2), so records holding them are dropped; business
and corporate numbers identify firms, not people, and are kept."""


def normalise(value: str, pii_type: PiiType) -> str:
    """The canonical form of ``value`` that its pseudonym is computed from: NFKC first, so
    full-width digits count as digits, then the type's own normalisation."""
    return HANDLING[pii_type].normalise(unicodedata.normalize("NFKC", value))


@dataclass(frozen=True)
class Pseudonymiser:
    """Keyed, dataset-scoped pseudonyms. The key is the center's and never leaves it."""

    center_key: bytes = field(repr=False)
    dataset_id: str

    def __post_init__(self) -> None:
        if len(self.center_key) < MIN_KEY_BYTES:
            raise InputError(
                f"the pseudonymisation key must be at least {MIN_KEY_BYTES} bytes, "
                f"got {len(self.center_key)}",
                field="center_key",
            )

    @property
    def _dataset_key(self) -> bytes:
        label = b"aicenter-pseudonym-v1\x00" + self.dataset_id.encode("utf-8")
        return hmac.new(self.center_key, label, hashlib.sha256).digest()

    def token(self, value: str, pii_type: PiiType) -> str:
        """The pseudonym of ``value``: ``[type:10 hex]``."""
        message = pii_type.value.encode() + b"\x00" + normalise(value, pii_type).encode("utf-8")
        digest = hmac.new(self._dataset_key, message, hashlib.sha256).hexdigest()
        return f"[{pii_type.value}:{digest[:TOKEN_HEX_CHARS]}]"


def apply_actions(
    text: str,
    findings: list[Finding],
    pseudonymiser: Pseudonymiser,
    actions: Mapping[PiiType, Action] = DEFAULT_ACTIONS,
) -> str | None:
    """The record with each finding handled by its type's action; None when it is dropped.

    Types missing from ``actions`` are redacted (the safe default). ``findings`` must not
    overlap (the scanner guarantees it).
    """
    if any(actions.get(f.pii_type, Action.REDACT) is Action.DROP_RECORD for f in findings):
        return None
    out: list[str] = []
    pos = 0
    for f in sorted(findings):
        action = actions.get(f.pii_type, Action.REDACT)
        if action is Action.KEEP:
            continue
        out.append(text[pos : f.start])
        value = text[f.start : f.end]
        if action is Action.PSEUDONYMISE:
            out.append(pseudonymiser.token(value, f.pii_type))
        else:
            out.append(f"[{f.pii_type.value}]")
        pos = f.end
    out.append(text[pos:])
    return "".join(out)
