"""The compiled scanner core, when it was built (``setup.py``; module ``_native``).

Each shape detector may carry a ``native`` check: its ``check`` compiled (C, in
``pii/native/<detector>.c``), made here with the detector's own parameters. The scanner runs
its token pass in C when every DIGITS detector of its registry can be run there; otherwise,
and where the extension could not be built, it runs the pure-Python pass, which finds the same
(tests/exchange/test_native.py compares the two). The factories return None without the
extension, so detectors never depend on it.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import Any

from aicenter.exchange.pii.context import context_words

_native: ModuleType | None
try:
    _native = importlib.import_module("aicenter.exchange.pii._native")
except ImportError:  # no C compiler where the package was installed
    _native = None

AVAILABLE = _native is not None
NativeCheck = Any  # _native.Check: check(text, start, end) -> score


def words(context: re.Pattern[str], before: int = 24, after: int = 12) -> Any:
    """The compiled form of ``near(context, ..., before, after)``'s word test, or None."""
    if _native is None:
        return None
    return _native.Words(context_words(context), before, after)


def registration(gender_digits: str, check_offset: int, context: re.Pattern[str]) -> NativeCheck:
    """Resident or foreigner numbers: gender digits G and C = (offset − Σ mod 11) mod 10."""
    if _native is None:
        return None
    return _native.registration(gender_digits, check_offset, words(context))


def corporate_number(context: re.Pattern[str]) -> NativeCheck:
    return None if _native is None else _native.corporate_number(words(context))


def business_number(context: re.Pattern[str]) -> NativeCheck:
    return None if _native is None else _native.business_number(words(context))


def driver_licence(regions: tuple[int, ...], context: re.Pattern[str]) -> NativeCheck:
    return None if _native is None else _native.driver_licence(regions, words(context))


def passport(context: re.Pattern[str]) -> NativeCheck:
    return None if _native is None else _native.passport(words(context))


def card(context: re.Pattern[str]) -> NativeCheck:
    return None if _native is None else _native.card(words(context))


def bank_account(
    context: re.Pattern[str], before: int, after: int, min_digits: int, max_digits: int
) -> NativeCheck:
    if _native is None:
        return None
    return _native.bank_account(words(context, before, after), min_digits, max_digits)


def phone(context: re.Pattern[str]) -> NativeCheck:
    """A compiled search (``find``) rather than a check: ``check(text, s, e)`` returns
    [(start, end, score)] for the window."""
    return None if _native is None else _native.phone(words(context))


def ipv6() -> NativeCheck:
    """A compiled search of a colon run (``check(text, s, e)`` returns [(start, end, score)])."""
    return None if _native is None else _native.ipv6()


def email() -> NativeCheck:
    """A compiled search around '@' (``check(text, s, e)`` returns [(start, end, score)])."""
    return None if _native is None else _native.email()


def ipv4() -> NativeCheck:
    return None if _native is None else _native.ipv4()


def name_anchors(titles: tuple[str, ...], labels: tuple[str, ...], initials: str) -> Any:
    """Where person names' context scan may match (native/person_name.c), or None."""
    if _native is None:
        return None
    return _native.NameAnchors(_native.Words(titles), _native.Words(labels), initials)


def scan_tokens(*args: Any) -> None:
    """The token pass (native/tokens.c); only called when :data:`AVAILABLE`."""
    assert _native is not None
    _native.scan_tokens(*args)


def scan_colons(*args: Any) -> None:
    """The colon pass (native/triggers.c); only called when :data:`AVAILABLE`."""
    assert _native is not None
    _native.scan_colons(*args)


def scan_ats(*args: Any) -> None:
    """The '@' pass (native/triggers.c); only called when :data:`AVAILABLE`."""
    assert _native is not None
    _native.scan_ats(*args)


def fold(text: str) -> str:
    """scanner._FOLD applied (native/fold.c): the text itself when nothing folds."""
    assert _native is not None
    result: str = _native.fold(text)
    return result


def finish(*args: Any) -> Any:
    """Overlaps resolved and findings split by record (native/records.c)."""
    assert _native is not None
    return _native.finish(*args)
