"""The pages' catalogues are complete in Korean, the locale follows the browser and the
switch, and numbers, dates and KRW are formatted for it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from jinja2 import Environment

from aicenter.web import i18n


def test_every_msgid_has_a_korean_translation() -> None:
    assert i18n.problems() == []
    assert i18n.main(["check"]) == 0


def test_negotiation_follows_accept_language_and_the_cookie() -> None:
    assert i18n.negotiate("en-US,en;q=0.9,ko;q=0.8") == "en"
    assert i18n.negotiate("ko-KR,ko;q=0.9,en;q=0.8") == "ko"
    assert i18n.negotiate("fr-FR, en;q=0.5, ko;q=0.7") == "ko"
    assert i18n.negotiate("de") == "ko"  # the center's language when none fits
    assert i18n.negotiate(None) == "ko"
    assert i18n.locale_of({"lang": "en"}, "ko-KR") == "en"
    assert i18n.locale_of({"lang": "xx"}, "en") == "en"


def test_formats_for_each_locale() -> None:
    assert i18n.format_krw(Decimal("1234567.4"), "ko") == "₩1,234,567"
    assert i18n.format_krw(1234567, "en") == "₩1,234,567"
    assert i18n.format_number(Decimal("12345.678"), "en", 2) == "12,345.68"
    noon_utc = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert "오후 9:00" in i18n.format_when(noon_utc, "ko")  # Seoul is UTC+9
    assert "12:00" in i18n.format_when(noon_utc, "en")


def test_templates_translate_per_request() -> None:
    env = Environment(autoescape=True)
    i18n.install(env)
    template = env.from_string('{{ _("Sign out") }} {{ _("Page %(n)s of %(of)s", n=1, of=2) }}'
                               ' {{ 1234567|krw }}')

    class State:
        locale = "ko"

    class Request:
        state = State()

    assert template.render(request=Request()) == "로그아웃 2쪽 중 1쪽 ₩1,234,567"
    State.locale = "en"
    assert template.render(request=Request()) == "Sign out Page 1 of 2 ₩1,234,567"
