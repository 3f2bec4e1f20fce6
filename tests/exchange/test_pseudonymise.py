from __future__ import annotations

import pytest

from aicenter.domain.errors import InputError
from aicenter.exchange.pii import PiiType, Scanner, default_registry
from aicenter.exchange.pseudonymise import Action, Pseudonymiser, apply_actions, normalise

KEY = bytes(range(32))
SCANNER = Scanner(default_registry(names=False))


def test_same_value_same_token_within_dataset_any_written_form() -> None:
    p = Pseudonymiser(KEY, "news-2025")
    a = p.token("010-1234-5678", PiiType.PHONE)
    assert a == p.token("01012345678", PiiType.PHONE)
    assert a == p.token("+82 10-1234-5678", PiiType.PHONE)
    assert a != p.token("010-1234-5679", PiiType.PHONE)
    assert a == p.token("０１０－１２３４－５６７８", PiiType.PHONE)
    assert a.startswith("[phone:") and len(a) == len("[phone:]") + 10


def test_tokens_differ_across_datasets_and_keys() -> None:
    a = Pseudonymiser(KEY, "d1").token("kim@example.com", PiiType.EMAIL)
    assert a != Pseudonymiser(KEY, "d2").token("kim@example.com", PiiType.EMAIL)
    assert a != Pseudonymiser(bytes(32), "d1").token("kim@example.com", PiiType.EMAIL)
    assert a == Pseudonymiser(KEY, "d1").token("KIM@example.com", PiiType.EMAIL)


def test_short_key_rejected() -> None:
    with pytest.raises(InputError, match="at least 32 bytes"):
        Pseudonymiser(b"short", "d")


def test_actions_redact_pseudonymise_keep_drop() -> None:
    p = Pseudonymiser(KEY, "d")
    text = "연락처 010-1234-5678, 카드 4111-1111-1111-1111, 사업자 220-81-62517"
    out = apply_actions(text, SCANNER.scan(text), p)
    assert out == (
        f"연락처 {p.token('010-1234-5678', PiiType.PHONE)}, 카드 [card], 사업자 220-81-62517"
    )
    rrn_text = "주민번호 900101-1234568"
    assert apply_actions(rrn_text, SCANNER.scan(rrn_text), p) is None
    custom = {PiiType.RRN: Action.REDACT}
    assert apply_actions(rrn_text, SCANNER.scan(rrn_text), p, custom) == "주민번호 [rrn]"


def test_normalise() -> None:
    assert normalise("+82 (0)10 1234 5678", PiiType.PHONE) == "01012345678"
    assert normalise("+82-2-123-4567", PiiType.PHONE) == "021234567"
    assert normalise("900101-1234568", PiiType.RRN) == "9001011234568"
