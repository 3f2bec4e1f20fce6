"""The default detector set: every PII type aicenter knows, one detector a type."""

from __future__ import annotations

from aicenter.exchange.pii.bank_account import BankAccountDetector
from aicenter.exchange.pii.base import DetectorRegistry, PiiType
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

STRUCTURED_TYPES = (
    PiiType.RRN,
    PiiType.FOREIGNER_NUMBER,
    PiiType.PASSPORT,
    PiiType.DRIVER_LICENCE,
    PiiType.BUSINESS_NUMBER,
    PiiType.CORPORATE_NUMBER,
    PiiType.PHONE,
    PiiType.BANK_ACCOUNT,
    PiiType.CARD,
    PiiType.EMAIL,
    PiiType.IPV4,
    PiiType.IPV6,
)


def default_registry(*, names: bool = True, thorough_names: bool = False) -> DetectorRegistry:
    """Every built-in detector; ``names=False`` leaves out the person-name detector,
    ``thorough_names=True`` makes it use kiwipiepy (finds names without context, ~1000× slower).
    """
    registry = DetectorRegistry(
        [
            ResidentNumberDetector(),
            ForeignerNumberDetector(),
            CorporateNumberDetector(),
            BusinessNumberDetector(),
            DriverLicenceDetector(),
            PassportDetector(),
            PhoneDetector(),
            BankAccountDetector(),
            CardDetector(),
            EmailDetector(),
            Ipv4Detector(),
            Ipv6Detector(),
        ]
    )
    if names:
        registry.register(PersonNameDetector(thorough=thorough_names))
    return registry
