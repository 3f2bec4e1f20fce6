"""English and mixed labels in Korean documents announce every structured type (issue 17 item 4).

Each value below is valid for its type (check digits computed by the detectors' own helpers);
the cases with a context-dependent form (no check digit, or a checksum that passes by chance)
are the ones that failed before the English words were context words and before a period after
an abbreviation ("Tel. ", "No. ") stopped ending the clause.
"""

from __future__ import annotations

import random

import pytest

from aicenter.exchange.pii import PiiType, Scanner, default_registry
from aicenter.exchange.pii import samples as pii_samples
from aicenter.exchange.pii.business_number import business_number
from aicenter.exchange.pii.card import card_number
from aicenter.exchange.pii.corporate_number import corporate_check_digit_ok
from aicenter.exchange.pii.foreigner_number import foreigner_check_digit_ok
from aicenter.exchange.pii.rrn import post2020_rrn

_RNG = random.Random(17)
BIZ = business_number(_RNG)
RRN_NEW = post2020_rrn(_RNG)  # random digits after G: found only with a context word
ARC = pii_samples.registration_number(_RNG, "5678", foreigner_check_digit_ok)
_BODY = "110111234567"
CORP = _BODY + str(next(c for c in range(10) if corporate_check_digit_ok([*map(int, _BODY), c])))
CARD = card_number(_RNG, "9", 16)  # a domestic card without a brand prefix: needs context

CASES: list[tuple[PiiType, str, str]] = [
    (PiiType.PASSPORT, "passport no. ", "M12345678"),
    (PiiType.PASSPORT, "Passport No.: ", "S87654321"),
    (PiiType.PASSPORT, "PP No. ", "R11223344"),
    (PiiType.PHONE, "Tel. ", "0312345678"),
    (PiiType.PHONE, "Phone: ", "0212345678"),
    (PiiType.PHONE, "Fax. ", "1588-1234"),
    (PiiType.PHONE, "H.P. ", "0171234567"),
    (PiiType.BANK_ACCOUNT, "Account No. ", "123-456-789012"),
    (PiiType.BANK_ACCOUNT, "A/C ", "110-123-456789"),
    (PiiType.BANK_ACCOUNT, "Acct. ", "1101234567"),
    (PiiType.DRIVER_LICENCE, "driver's license no. ", "111212345612"),
    (PiiType.DRIVER_LICENCE, "DL No. ", "261212345612"),
    (PiiType.RRN, "RRN ", RRN_NEW),
    (PiiType.RRN, "Resident Reg. No. ", RRN_NEW[:6] + "-" + RRN_NEW[6:]),
    (PiiType.FOREIGNER_NUMBER, "ARC No. ", ARC),
    (PiiType.FOREIGNER_NUMBER, "Foreigner Reg. No. ", ARC[:6] + "-" + ARC[6:]),
    (PiiType.BUSINESS_NUMBER, "Business Reg. No. ", f"{BIZ[:3]}-{BIZ[3:5]}-{BIZ[5:]}"),
    (PiiType.BUSINESS_NUMBER, "BRN ", BIZ),
    (PiiType.BUSINESS_NUMBER, "Business Registration Number: ", BIZ),
    (PiiType.CORPORATE_NUMBER, "Corporate Reg. No. ", CORP[:6] + "-" + CORP[6:]),
    (PiiType.CORPORATE_NUMBER, "CRN ", CORP),
    (PiiType.CARD, "Card No. ", CARD),
    (PiiType.EMAIL, "E-mail: ", "hong.gd@example.co.kr"),
    (PiiType.IPV4, "IP address: ", "203.0.113.7"),
    (PiiType.IPV6, "IPv6 addr. ", "2001:db8::17"),
]

STRUCTURED = Scanner(default_registry(names=False))
PURE_PYTHON = Scanner(default_registry(names=False), compiled_core=False)


def _found(scanner: Scanner, text: str) -> list[tuple[str, PiiType]]:
    return [(text[f.start : f.end], f.pii_type) for f in scanner.scan(text)]


@pytest.mark.parametrize("scanner", [STRUCTURED, PURE_PYTHON], ids=["compiled", "python"])
@pytest.mark.parametrize(("pii_type", "label", "value"), CASES)
def test_english_label_announces_the_value(
    pii_type: PiiType, label: str, value: str, scanner: Scanner
) -> None:
    alone = label + value
    mixed = f"신청서 접수 완료. {label}{value} (확인 바랍니다)"
    assert _found(scanner, alone) == [(value, pii_type)]
    assert _found(scanner, mixed) == [(value, pii_type)]


@pytest.mark.parametrize("scanner", [STRUCTURED, PURE_PYTHON], ids=["compiled", "python"])
@pytest.mark.parametrize(
    "text",
    [
        "Order No. 1101234567",  # an order number, not an account
        "주문번호 1101234567 (order no. 1101234567)",
        f"The office is in Seoul. {BIZ}",  # a period after a 5-letter word ends the clause
        "Ref. 261212345612. Licence office",  # 12 digits, the licence word after a clause end
    ],
)
def test_english_text_that_announces_nothing(text: str, scanner: Scanner) -> None:
    found = _found(scanner, text)
    assert not [t for t in found if t[1] is not PiiType.PHONE], found


def test_abbreviation_period_is_not_a_clause_end_in_both_cores() -> None:
    """context.py and native/words.c agree on which periods end a clause."""
    text = (
        " | ".join(label + value for _, label, value in CASES)
        + f". Seoul. {BIZ}. Acct. 1101234567. Bank. 1101234567"
    )
    assert STRUCTURED.scan(text) == PURE_PYTHON.scan(text)
