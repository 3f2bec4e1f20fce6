"""Every registered PII detector is complete: it finds its type and carries its default action,
normalisation, masking and a sample generator, and its samples are found and handled as it
declares. A new type that forgets one of them fails here."""

from __future__ import annotations

import random
import sys

import pytest

from aicenter.exchange.pii import Scanner, default_registry
from aicenter.exchange.pii.base import Action, CompleteDetector, Handling, PiiType, Sample
from aicenter.exchange.pii.registry import HANDLING, STRUCTURED, STRUCTURED_TYPES
from aicenter.exchange.pseudonymise import DEFAULT_ACTIONS, Pseudonymiser, apply_actions
from aicenter.exchange.report import mask

REGISTRY = default_registry()
SCANNER = Scanner(REGISTRY)
KEY = bytes(range(32))
DETECTORS = list(REGISTRY)


def test_every_type_has_exactly_one_registered_detector() -> None:
    assert sorted(REGISTRY.types) == sorted(PiiType) == sorted(HANDLING)
    assert set(STRUCTURED_TYPES) == {d.pii_type for d in STRUCTURED}
    assert PiiType.PERSON_NAME not in STRUCTURED_TYPES


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: d.pii_type.value)
def test_detector_is_complete(detector: CompleteDetector) -> None:
    assert isinstance(detector, CompleteDetector) and isinstance(detector, Handling)
    assert isinstance(detector.default_action, Action)
    assert DEFAULT_ACTIONS[detector.pii_type] is detector.default_action
    assert detector.label
    assert sys.modules[type(detector).__module__].__doc__, "the detector module says what it finds"
    for name in ("normalise", "mask", "sample", "find"):
        assert callable(getattr(detector, name)), name


@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: d.pii_type.value)
def test_samples_are_found_masked_and_handled_as_declared(detector: CompleteDetector) -> None:
    rng = random.Random(7)
    pseudonymiser = Pseudonymiser(KEY, "contract")
    for _ in range(60):
        sample = detector.sample(rng)
        assert isinstance(sample, Sample)
        text = sample.prefix + sample.value + sample.suffix
        start = len(sample.prefix)
        found = SCANNER.scan(text)
        mine = [f for f in found if (f.start, f.end) == (start, start + len(sample.value))]
        assert [f.pii_type for f in mine] == [detector.pii_type], (text, found)

        masked = mask(sample.value, detector.pii_type)
        assert masked == detector.mask(sample.value)
        assert len(masked) == len(sample.value) and "*" in masked and masked != sample.value

        canonical = detector.normalise(sample.value)
        assert detector.normalise(canonical) == canonical, sample.value  # a fixed point

        handled = apply_actions(text, mine, pseudonymiser)
        action = detector.default_action
        if action is Action.DROP_RECORD:
            assert handled is None
        elif action is Action.KEEP:
            assert handled == text
        elif action is Action.REDACT:
            assert handled == sample.prefix + f"[{detector.pii_type.value}]" + sample.suffix
        else:
            token = pseudonymiser.token(sample.value, detector.pii_type)
            assert handled == sample.prefix + token + sample.suffix
