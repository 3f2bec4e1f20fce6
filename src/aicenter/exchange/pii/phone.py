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

from aicenter.exchange.pii.base import Finding, PiiType, Trigger, find_by_shape
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
    r"(?![0-9A-Za-z]|[-.]\d)"
)
# The same forms with every digit value left free (area 1–3 digits, any +NN, plain 9–12
# digits): the candidates, found in token shapes; check() then matches SHAPE on the span.
_CANDIDATES = re.compile(
    rf"(?<![0-9A-Za-z\-.+])(?:\+\d\d{_SEP}?(?:\(\d\){_SEP}?|\d)?\d{{1,3}}(?:{_SEP}|\){_SEP}?)?"
    rf"\d{{3,4}}{_SEP}?\d{{4}}|(?:\(\d{{2,4}}\) ?|\d{{2,4}}{_SEP})\d{{3,4}}{_SEP}\d{{4}}"
    rf"|\d{{9,12}}|\d{{4}}{_SEP}?\d{{4}})(?![0-9A-Za-z]|[-.]\d)"
)
CONTEXT = context_pattern(
    [
        "전화번호", "전화", "연락처", "연락", "휴대폰", "핸드폰", "휴대전화", "문의", "상담",
        "고객센터", "콜센터", "대표번호", "팩스", "tel", "phone", "fax", "mobile", "call",
    ]
)  # fmt: skip


class PhoneDetector:
    pii_type = PiiType.PHONE
    trigger = Trigger.DIGITS
    prefilter = ""  # the shape is the prefilter
    shape = _CANDIDATES
    record_context: re.Pattern[str] | None = None

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        return find_by_shape(self, text, start, end)

    def check(self, text: str, start: int, end: int) -> float:
        first = text[start]
        if first not in "0+(" and (first != "1" or text[start + 1] not in "568"):
            return 0.0  # every form starts with +, (, 0 or a representative 15/16/18
        m = SHAPE.fullmatch(text, start, end)
        if m is None:
            return 0.0
        kind = m.lastgroup
        if kind == "intl" or kind == "sep":
            return 0.9
        if kind == "mobile":
            return 0.85
        return 0.8 if near(CONTEXT, text, start, end) else 0.0
