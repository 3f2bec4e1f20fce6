"""Korean PII detection: one detector a file, registered through a typed registry.

``default_registry()`` holds every built-in detector; ``Scanner(registry).scan(text)`` returns
the non-overlapping findings of one record.
"""

from aicenter.exchange.pii.base import Detector, DetectorRegistry, Finding, PiiType, Trigger
from aicenter.exchange.pii.registry import STRUCTURED_TYPES, default_registry
from aicenter.exchange.pii.scanner import Scanner, resolve_overlaps

__all__ = [
    "STRUCTURED_TYPES",
    "Detector",
    "DetectorRegistry",
    "Finding",
    "PiiType",
    "Scanner",
    "Trigger",
    "default_registry",
    "resolve_overlaps",
]
