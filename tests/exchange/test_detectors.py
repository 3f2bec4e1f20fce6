"""Each detector on the forms it must find and the look-alikes it must not."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from aicenter.exchange.pii import Finding, PiiType, Scanner, Trigger, default_registry
from aicenter.exchange.pii.business_number import business_check_digit_ok
from aicenter.exchange.pii.card import luhn_ok
from aicenter.exchange.pii.corporate_number import corporate_check_digit_ok
from aicenter.exchange.pii.foreigner_number import foreigner_check_digit_ok
from aicenter.exchange.pii.rrn import rrn_check_digit_ok

SCANNER = Scanner(default_registry(names=False))
PURE_PYTHON = Scanner(default_registry(names=False), compiled_core=False)
STRUCTURED = [t for t in PiiType if t is not PiiType.PERSON_NAME]


def found(text: str) -> list[tuple[str, str]]:
    """What the scanner finds, after checking that its pure-Python pass finds the same."""
    findings = SCANNER.scan(text)
    assert PURE_PYTHON.scan(text) == findings
    return [(f.pii_type.value, text[f.start : f.end]) for f in findings]


def digits(s: str) -> list[int]:
    return [int(c) for c in s if c.isdigit()]


def test_checksums_on_worked_examples() -> None:
    # 900101-123456C: Σ = 2·9+3·0+4·0+5·1+6·0+7·1+8·1+9·2+2·3+3·4+4·5+5·6 = 124; 124 mod 11 = 3;
    # C = (11 − 3) mod 10 = 8.
    assert rrn_check_digit_ok(digits("900101-1234568"))
    assert not rrn_check_digit_ok(digits("900101-1234567"))
    # foreigner 900101-523456C: G = 5 has weight 8, so Σ = 124 − 8·1 + 8·5 = 156;
    # 156 mod 11 = 2; C = (13 − 2) mod 10 = 1.
    assert foreigner_check_digit_ok(digits("900101-5234561"))
    assert not foreigner_check_digit_ok(digits("900101-5234562"))
    # business 220-81-6251C: Σ = 2+6+0+8+3+42+2+15+5 + ⌊5·1/10⌋ = 83; C = (10 − 3) mod 10 = 7.
    assert business_check_digit_ok("2208162517")
    assert not business_check_digit_ok("2208162518")
    # corporate: weights 1,2,1,2,… on the first 12 digits, C = (10 − Σ mod 10) mod 10.
    body = [1, 1, 0, 1, 1, 1, 0, 0, 1, 2, 3, 4]
    total = sum(d * (1 if i % 2 == 0 else 2) for i, d in enumerate(body))
    assert corporate_check_digit_ok([*body, (10 - total % 10) % 10])
    assert not corporate_check_digit_ok([*body, (11 - total % 10) % 10])
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("주민번호 900101-1234568", [("rrn", "900101-1234568")]),
        ("9001011234568", [("rrn", "9001011234568")]),  # undashed, valid check
        ("주민번호: 900101 - 1234568", [("rrn", "900101 - 1234568")]),
        ("주민등록번호는 011010-3918271 입니다", [("rrn", "011010-3918271")]),  # post-2020
        ("900101-1234567", []),  # check fails, no context: an order number as far as we know
        ("주민번호 901301-1234568", []),  # month 13
        ("번호 900101-5234561", [("foreigner_number", "900101-5234561")]),
        ("외국인등록번호 900101-5234560", [("foreigner_number", "900101-5234560")]),
        ("900101-5234560", []),
    ],
)
def test_registration_numbers(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_corporate_number_needs_context_and_wins_over_rrn_reading() -> None:
    body = "11011100123"
    # a corporate number whose digits also read as a valid-date resident number
    for last2 in range(100):
        number = body + f"{last2:02d}"
        d = [int(c) for c in number]
        if corporate_check_digit_ok(d) and rrn_check_digit_ok(d):
            break
    else:
        pytest.fail("no number passing both checks")
    dashed = number[:6] + "-" + number[6:]
    assert found(f"법인등록번호 {dashed}") == [("corporate_number", dashed)]
    assert found(f"번호 {dashed}") == [("rrn", dashed)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("사업자등록번호 220-81-62517", [("business_number", "220-81-62517")]),
        ("사업자번호 2208162517", [("business_number", "2208162517")]),
        ("2208162517", []),  # undashed without context
        ("220-81-62518", []),  # bad check digit
        ("220-81-62517", []),  # one random 3-2-5 code in ten passes: context is required
        ("면허번호 11-12-345678-90", [("driver_licence", "11-12-345678-90")]),
        ("27-12-345678-90", []),  # region 27 does not exist
        ("운전면허 111234567890", [("driver_licence", "111234567890")]),
        ("여권 M123A4567", [("passport", "M123A4567")]),
        ("여권번호 M12345678", [("passport", "M12345678")]),
        ("모델 M12345678", []),  # old form needs context
    ],
)
def test_business_licence_passport(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "phone",
    [
        "010-1234-5678",
        "010.1234.5678",
        "010 1234 5678",
        "01012345678",
        "011-123-4567",
        "02-123-4567",
        "02-1234-5678",
        "(02) 123-4567",
        "(031)1234-5678",
        "031-123-4567",
        "064-1234-5678",
        "070-1234-5678",
        "0505-123-4567",
        "080-123-4567",
        "+82 10-1234-5678",
        "+82-10-1234-5678",
        "+821012345678",
        "+82 (0)10 1234 5678",
        "+82-2-123-4567",
        "+82 31 1234 5678",
        "010 - 1234 - 5678",
    ],
)
def test_phone_forms(phone: str) -> None:
    assert found(f"연락은 {phone}로 주세요") == [("phone", phone)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("고객센터 1588-1234", [("phone", "1588-1234")]),
        ("1850-1910년 사이", []),  # a year range, not a representative number
        ("전화 0212345678", [("phone", "0212345678")]),
        ("0212345678", []),
        ("2024-03-15", []),
        ("010-1234-56789", []),  # too long
        ("16:22:50. 010 9089 3392.", [("phone", "010 9089 3392")]),  # in a token after a time
    ],
)
def test_phone_context_and_lookalikes(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("입금 계좌: 국민은행 123456-01-123456", [("bank_account", "123456-01-123456")]),
        ("신한 110-123-456789 로 이체", [("bank_account", "110-123-456789")]),
        ("계좌번호 12345678901234", [("bank_account", "12345678901234")]),
        ("번호 123456-01-123456", []),  # no context word
        ("계좌 확인했습니다. 송장 123456-01-123456", []),  # context in the previous sentence
        ("카드 4111-1111-1111-1111", [("card", "4111-1111-1111-1111")]),
        ("4111 1111 1111 1111", [("card", "4111 1111 1111 1111")]),
        ("Amex 3782-822463-10005", [("card", "3782-822463-10005")]),
        ("4111-1111-1111-1112", []),  # Luhn fails
        ("id 4111111111111111", []),  # bare 16 digits need context
        ("결제 카드 4111111111111111", [("card", "4111111111111111")]),
    ],
)
def test_accounts_and_cards(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("메일 hong.gildong+news@example.co.kr 로", [("email", "hong.gildong+news@example.co.kr")]),
        ("a@b", []),
        ("서버 192.168.0.1 접속", [("ipv4", "192.168.0.1")]),
        ("IP 10.0.0.255.", [("ipv4", "10.0.0.255")]),
        ("256.1.1.1", []),
        ("1.2.3.4.5항", []),
        ("010.1.2.3", []),  # leading zero
        ("주소 2001:db8::1 차단", [("ipv6", "2001:db8::1")]),
        ("fe80::1ff:fe23:4567:890a", [("ipv6", "fe80::1ff:fe23:4567:890a")]),
        ("14:23:05에 시작", []),
        ("::", []),
    ],
)
def test_email_and_ip(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_not_pii_label_suppresses_lookalike() -> None:
    assert found("주문번호 900101-1234568") == []
    assert found("900101-1234568") == [("rrn", "900101-1234568")]


def test_registry_rejects_non_detectors_and_replaces_per_type() -> None:
    registry = default_registry(names=False)
    with pytest.raises(TypeError):
        registry.register(object())  # type: ignore[arg-type]
    assert PiiType.PERSON_NAME not in registry.types
    assert len(registry.without(PiiType.PHONE)) == len(registry) - 1
    assert "phone" not in [t for t, _ in Scanner(registry.without(PiiType.PHONE)).scan("x")]
    assert found("010-1234-5678") and not [
        f for f in Scanner(registry.without(PiiType.PHONE)).scan("010-1234-5678")
    ]


def test_full_width_digits_and_dash_lookalikes_keep_offsets() -> None:
    text = "연락처 ０１０－１２３４－５６７８, 주민번호 900101ㅡ1234568, 번호 010–1234–5678"
    assert found(text) == [
        ("phone", "０１０－１２３４－５６７８"),
        ("rrn", "900101ㅡ1234568"),
        ("phone", "010–1234–5678"),
    ]


class _OrderNumberDetector:
    """A third-party detector without a shape: 'ORD' numbers, only in records that mention 주문."""

    pii_type = PiiType.BANK_ACCOUNT  # replaces the built-in account detector in this registry
    trigger = Trigger.DIGITS
    prefilter = r"ORD-\d{6}"  # searched in token shapes, where every digit is a 9
    record_context: re.Pattern[str] | None = re.compile("주문")

    def find(self, text: str, start: int, end: int) -> Iterator[Finding]:
        for m in re.finditer(r"ORD-\d{6}", text[start:end]):
            yield Finding(start + m.start(), start + m.end(), self.pii_type, 0.5)


def test_registered_detector_gets_tokens_by_prefilter_and_record_context() -> None:
    registry = default_registry(names=False)
    registry.register(_OrderNumberDetector())
    scanner = Scanner(registry)
    assert not scanner.compiled_core  # a record context only the Python pass applies
    text = "주문 ORD-123456 확인"
    assert [(f.pii_type, text[f.start : f.end]) for f in scanner.scan(text)] == [
        (PiiType.BANK_ACCOUNT, "ORD-123456")
    ]
    assert scanner.scan("배송 ORD-123456 확인") == []  # no record context
    # the context is looked up in the token's own record, not in its neighbours in a batch
    assert scanner.scan_many(["주문", "배송 ORD-123456 확인", "주문 ORD-654321"]) == [
        [],
        [],
        [Finding(3, 13, PiiType.BANK_ACCOUNT, 0.5)],
    ]


def test_same_shape_different_surroundings() -> None:
    # the memo of a token shape's candidate spans also keys the characters around the token
    assert found("번호 900101-1234568 끝") == [("rrn", "900101-1234568")]
    assert found("번호 900101-1234568x 끝") == []  # a letter right after: part of a code
    assert found("번호 x900101-1234568 끝") == []
    assert found("번호 .9001011234568") == [("rrn", "9001011234568")]
    assert found("계좌 .110-123-456789") == []  # accounts are not read after a dot
    assert found("계좌 110-123-456789") == [("bank_account", "110-123-456789")]


def test_scan_many_equals_one_scan_a_record() -> None:
    from aicenter.exchange.synthetic import labelled_records, number_heavy_text

    texts = [r.text for r in labelled_records(21, 400, STRUCTURED)]
    texts += number_heavy_text(22, 20_000).splitlines()
    # context words and labels at the end of one record never reach the next one
    texts += ["입금 계좌", "110-123-456789", "성명:", "홍길동 확인", "주문번호", "900101-1234568"]
    for scanner in (SCANNER, PURE_PYTHON, Scanner(default_registry())):
        assert scanner.scan_many(texts) == [scanner.scan(t) for t in texts]
    assert SCANNER.scan_many([]) == []


def test_korean_barcode_is_not_a_resident_number_without_context() -> None:
    from aicenter.exchange.pii.registration_shape import korean_barcode

    for tail in range(10**6):
        number = f"880101{tail:06d}"
        ean = next(c for c in "0123456789" if korean_barcode(digits(number + c)))
        if rrn_check_digit_ok(digits(number + ean)):
            number += ean
            break
    assert found(f"바코드 {number}") == []  # a barcode, though it also reads as born 1988-01-01
    assert found(f"주민번호 {number}") == [("rrn", number)]
    assert found(f"{number[:6]}-{number[6:]}") == [("rrn", f"{number[:6]}-{number[6:]}")]


def test_ipv6_validation_agrees_with_ipaddress() -> None:
    import ipaddress
    import random

    from aicenter.exchange.pii.ipv6 import valid_ipv6

    def reference(s: str) -> bool:
        try:
            ipaddress.IPv6Address(s)
        except ValueError:
            return False
        return True

    rng = random.Random(6)
    cases = ["::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "::ffff:1.2.3.4"]
    cases += ["::ffff:01.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "1::2::3", "14:23:05", "12345::1"]
    for _ in range(20_000):
        groups = [
            "".join(rng.choice("0123456789abcdefA") for _ in range(rng.randint(0, 5)))
            for _ in range(rng.randint(1, 9))
        ]
        tail = ".".join(str(rng.randint(0, 300)) for _ in range(4)) if rng.random() < 0.3 else ""
        cases.append(":".join(groups + ([tail] if tail else [])))
    assert sum(map(reference, cases)) > 500  # enough valid addresses to mean something
    assert [valid_ipv6(c) for c in cases] == [reference(c) for c in cases]
