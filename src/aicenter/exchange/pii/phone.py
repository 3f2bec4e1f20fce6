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

import re
from collections.abc import Iterator

from aicenter.exchange.pii import compiled
from aicenter.exchange.pii.base import Finding, PiiType, Trigger
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
    ]
)  # fmt: skip


class PhoneDetector:
    pii_type = PiiType.PHONE
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
