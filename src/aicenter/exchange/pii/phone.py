"""Korean telephone numbers in every written form.

Prefixes: mobile 010 (and legacy 011, 016–019); Seoul 02; regions 0[3-6][1-5]; internet 070;
personal 050X; free 080; nationwide representative numbers 15XX/16XX/18XX-XXXX. Groups are
separated by '-', '.', ' ' (or ' - ') or a closing parenthesis — ``(02) 123-4567`` — or not at all.
International: ``+82`` then the number without its leading 0 (``+82 10-1234-5678``,
``+82-2-123-4567``, also ``+82 (0)10 ...``).

Scores: +82 and separated forms 0.90; 010 + 8 digits unseparated 0.85. Unseparated landline or
legacy numbers and representative numbers (``1588-1234`` also reads as a year range) need a
context word (전화, 연락처, 문의 ...), then 0.80.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from aicenter.exchange.pii import compiled, samples
from aicenter.exchange.pii.base import (
    Action,
    Finding,
    PiiType,
    Sample,
    Trigger,
    digits_only,
    mask_inner,
)
from aicenter.exchange.pii.context import context_pattern, near

_SEP = r"(?: ?[-.] ?| )"  # "-", ".", " ", also " - " as people type it
_AREA = r"(?:1[016789]|2|[3-6][1-5]|70|80|50\d)"
_INTERNATIONAL = (
    rf"\+82{_SEP}?(?:\(0\){_SEP}?|0)?{_AREA}(?:{_SEP}|\){_SEP}?)?\d{{3,4}}{_SEP}?\d{{4}}"
)
_SEPARATED = rf"(?:\(0{_AREA}\) ?|0{_AREA}{_SEP})\d{{3,4}}{_SEP}\d{{4}}"
_MOBILE_PLAIN = r"010\d{8}"
_OTHER_PLAIN = rf"0{_AREA}\d{{7,8}}"
_REPRESENTATIVE = rf"1[568]\d\d{_SEP}?\d{{4}}"

SHAPE = re.compile(
    rf"(?<![0-9A-Za-z\-.+])(?:(?P<intl>{_INTERNATIONAL})|(?P<sep>{_SEPARATED})"
    rf"|(?P<mobile>{_MOBILE_PLAIN})|(?P<plain>{_OTHER_PLAIN})|(?P<rep>{_REPRESENTATIVE}))"
    r"(?![0-9A-Za-z]|[-.]\d)",
    re.ASCII,
)
# Where a phone number can start: every form begins with +, (, 0 or a representative 1[568].
_START = re.compile(r"(?<![0-9A-Za-z\-.+])(?:[+(0]|1[568])")
CONTEXT = context_pattern(
    [
        "전화번호", "전화", "연락처", "연락", "휴대폰", "핸드폰", "휴대전화", "문의", "상담",
        "고객센터", "콜센터", "대표번호", "팩스", "tel", "phone", "fax", "mobile", "call",
        "cell", "contact", "mob", "H.P", "HP", "hotline",
    ]
)  # fmt: skip


class PhoneDetector:
    pii_type = PiiType.PHONE
    default_action = Action.PSEUDONYMISE
    label = "phone numbers"
    trigger = Trigger.DIGITS
    # searched in token shapes (digits as 9): area code or representative block, 3–4, 4 digits
    prefilter = (
        r"(?<!\d)\d{2,4}[-. )]*\d{3,4}[-. ]{0,3}\d{4}(?!\d)|\+\d\d"
        r"|(?<!\d)\d{4}[-. ]{0,3}\d{4}(?!\d)"
    )
    record_context: re.Pattern[str] | None = None
    native = compiled.phone(CONTEXT)  # a compiled find (phone.c)

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        if _START.search(text, start, end) is None:  # ids and counts that start with 2–9
            return
        for m in SHAPE.finditer(text, start, end):
            kind = m.lastgroup
            if kind in ("intl", "sep"):
                yield Finding(m.start(), m.end(), self.pii_type, 0.9)
            elif kind == "mobile":
                yield Finding(m.start(), m.end(), self.pii_type, 0.85)
            elif near(CONTEXT, text, m.start(), m.end()):
                yield Finding(m.start(), m.end(), self.pii_type, 0.8)

    def normalise(self, value: str) -> str:
        """Digits in the domestic form: ``+82 10-1234-5678`` and ``010-1234-5678`` are one
        number."""
        digits = digits_only(value)
        if digits.startswith("82") and value.lstrip().startswith("+"):
            rest = digits[2:]
            digits = rest if rest.startswith("0") else "0" + rest
        return digits

    def mask(self, value: str) -> str:
        return mask_inner(value)

    def sample(self, rng: random.Random) -> Sample:
        value, context = _written_form(rng)
        prefix = (
            context + " "
            if context
            else rng.choice(["연락처 ", "휴대폰 ", "", "Tel. ", "Phone: ", "Mobile ", "H.P. "])
        )
        return Sample(prefix, value, rng.choice(["로 연락 바랍니다", "", " (평일 9시~18시)"]))


def _written_form(rng: random.Random) -> tuple[str, str]:
    """(a phone number as people write it, a context word or '' when the form needs none)."""
    m4, l4 = samples.digits(rng, 4), samples.digits(rng, 4)
    m3 = samples.digits(rng, 3)
    area = rng.choice(["031", "032", "033", "041", "042", "043", "051", "052", "053", "055", "064"])
    forms = [
        (f"010-{m4}-{l4}", ""),
        (f"010.{m4}.{l4}", ""),
        (f"010 {m4} {l4}", ""),
        (f"010{m4}{l4}", ""),
        (f"011-{m3}-{l4}", ""),
        (f"017-{m4}-{l4}", ""),
        (f"02-{m3}-{l4}", ""),
        (f"02-{m4}-{l4}", ""),
        (f"(02) {m3}-{l4}", ""),
        (f"(02){m4}-{l4}", ""),
        (f"{area}-{m3}-{l4}", ""),
        (f"{area}-{m4}-{l4}", ""),
        (f"({area}) {m4}-{l4}", ""),
        (f"070-{m4}-{l4}", ""),
        (f"0505-{m3}-{l4}", ""),
        (f"080-{m3}-{l4}", ""),
        (f"+82 10-{m4}-{l4}", ""),
        (f"+82-10-{m4}-{l4}", ""),
        (f"+8210{m4}{l4}", ""),
        (f"+82 (0)10 {m4} {l4}", ""),
        (f"+82-2-{m3}-{l4}", ""),
        (f"+82 {area[1:]} {m4} {l4}", ""),
        (f"02{m4}{l4}", rng.choice(["전화", "Tel."])),
        (f"{area}{m3}{l4}", rng.choice(["연락처", "Phone:"])),
        (f"1588-{l4}", rng.choice(["고객센터", "Call"])),
        (f"1644-{l4}", "대표번호"),
        (f"1577{l4}", "문의"),
    ]
    return rng.choice(forms)
