"""The built-in detectors: every PII type aicenter knows, one detector a type, one line each.

A new type is a module with a :class:`~aicenter.exchange.pii.base.CompleteDetector` and a line
in :data:`STRUCTURED` (or a name-like detector, as :data:`NAMES`); the default actions,
pseudonym normalisation, masking and the labelled corpus all read it from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from aicenter.exchange.pii.bank_account import BankAccountDetector
from aicenter.exchange.pii.base import CompleteDetector, DetectorRegistry, Handling, PiiType
from aicenter.exchange.pii.business_number import BusinessNumberDetector
from aicenter.exchange.pii.card import CardDetector
from aicenter.exchange.pii.corporate_number import CorporateNumberDetector
from aicenter.exchange.pii.driver_licence import DriverLicenceDetector
from aicenter.exchange.pii.email import EmailDetector
from aicenter.exchange.pii.foreigner_number import ForeignerNumberDetector
from aicenter.exchange.pii.ipv4 import Ipv4Detector
from aicenter.exchange.pii.ipv6 import Ipv6Detector
from aicenter.exchange.pii.passport import PassportDetector
from aicenter.exchange.pii.person_name import PersonNameDetector
from aicenter.exchange.pii.phone import PhoneDetector
from aicenter.exchange.pii.rrn import ResidentNumberDetector

# Detectors of types with a fixed written form, in the order the scanner runs them.
STRUCTURED: tuple[type[CompleteDetector], ...] = (
    ResidentNumberDetector,
    ForeignerNumberDetector,
    CorporateNumberDetector,
    BusinessNumberDetector,
    DriverLicenceDetector,
    PassportDetector,
    PhoneDetector,
    BankAccountDetector,
    CardDetector,
    EmailDetector,
    Ipv4Detector,
    Ipv6Detector,
)
NAMES = PersonNameDetector  # left out by ``default_registry(names=False)``

_ORDER = list(PiiType)
STRUCTURED_TYPES: tuple[PiiType, ...] = tuple(
    sorted((d.pii_type for d in STRUCTURED), key=_ORDER.index)
)
"""The structured types in the order of :class:`PiiType` (the labelled corpus draws from it)."""

_ALL: tuple[type[CompleteDetector], ...] = (*STRUCTURED, NAMES)
HANDLING: Mapping[PiiType, Handling] = MappingProxyType(
    {d.pii_type: d() for d in sorted(_ALL, key=lambda d: _ORDER.index(d.pii_type))}
)
"""Each built-in type's handling (default action, normalisation, masking, samples)."""


def handling(pii_type: PiiType) -> Handling:
    """What the exchange does with ``pii_type`` (its detector's :class:`Handling`)."""
    return HANDLING[pii_type]


def default_registry(*, names: bool = True, thorough_names: bool = False) -> DetectorRegistry:
    """Every built-in detector; ``names=False`` leaves out the person-name detector,
    ``thorough_names=True`` makes it use kiwipiepy (finds names without context, ~1000× slower).
    """
    registry = DetectorRegistry(detector() for detector in STRUCTURED)
    if names:
        registry.register(NAMES(thorough=thorough_names))
    return registry
