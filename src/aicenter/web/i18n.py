"""The pages in Korean and English: gettext catalogues read with Babel, the locale of each
request, and locale-aware filters for numbers, dates, KRW and H100-equivalent hours.

How to mark strings and add translations (every page module and template):

* In a template: ``{{ _("Jobs") }}``; with values, ``{{ _("Page %(n)s of %(of)s", n=1, of=3)
  }}`` (named placeholders only, filled after translation and HTML-escaped); a longer text:
  ``{% trans %}...{% endtrans %}``. Never build a sentence from pieces.
* In Python: ``from aicenter.web.i18n import gettext as _`` and ``_("The call is open.")``
  at the time the text is shown (inside a request), or ``N_("...")`` for a constant that a
  template translates later with ``_(value)``.
* Then ``python -m aicenter.web.i18n update`` (extracts every msgid from src/aicenter/web and
  merges it into ``locale/{ko,en}/LC_MESSAGES/messages.po``), write the Korean ``msgstr``
  of each new entry in ``locale/ko/LC_MESSAGES/messages.po`` (English may stay empty: the
  msgid is English), and ``python -m aicenter.web.i18n check`` must pass (tests/web/
  test_i18n.py runs it: an msgid missing from the catalogues or without Korean fails).
* Formatting: ``{{ n|number }}``, ``{{ d|date }}``, ``{{ t|datetime }}`` (Asia/Seoul for
  Korean, UTC for English; the page says which), ``{{ amount|krw }}`` (₩1,234,567),
  ``{{ hours|h100e }}`` (H100-equivalent hours, two decimals).

The catalogues are the .po files themselves, compiled in memory when the server starts (a
few hundred entries take milliseconds): nothing is generated at install, so ``pip install
-e .``, a wheel and a source checkout all read the same files, and no compiled .mo can go
stale beside its .po.

The locale of a request is the ``lang`` cookie when set (the switch in the layout sets it),
else the best match of Accept-Language, else Korean."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime, get_timezone
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

HERE = Path(__file__).parent
LOCALE_DIR = HERE / "locale"
DOMAIN = "messages"
LOCALES = ("ko", "en")
DEFAULT = "ko"
COOKIE = "lang"
ZONES = {"ko": "Asia/Seoul", "en": "UTC"}
"""Times show in Seoul time on Korean pages and in UTC on English ones (the API's zone)."""
LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}

_current: ContextVar[str] = ContextVar("aicenter_locale", default=DEFAULT)

KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
EXTRACT_OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n",
                                             "newstyle_gettext": "true"}}


# -- catalogues -------------------------------------------------------------------------------

def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(locale: str) -> Translations:
    """The catalogue of ``locale`` compiled from its .po (fuzzy entries left out)."""
    with po_path(locale).open("rb") as fp:
        catalog = read_po(fp, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def negotiate(accept_language: str | None) -> str:
    """The best of :data:`LOCALES` for an Accept-Language header (q-values honoured)."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag:
            ranked.append((-q, i, tag.strip().lower()))
    for neg_q, _, tag in sorted(ranked):
        if neg_q >= 0:
            break
        base = tag.split("-")[0]
        if base in LOCALES:
            return base
    return DEFAULT


def locale_of(cookies: dict[str, str], accept_language: str | None) -> str:
    chosen = cookies.get(COOKIE)
    return chosen if chosen in LOCALES else negotiate(accept_language)


def current() -> str:
    """The locale of the request being served (Korean outside a request)."""
    return _current.get()


class LocaleMiddleware:
    """Sets the request's locale (``request.state.locale`` and :func:`current`) before any
    handler runs, so pages, error pages and messages built in Python agree."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        locale = locale_of(dict(conn.cookies), conn.headers.get("accept-language"))
        scope.setdefault("state", {})["locale"] = locale
        token = _current.set(locale)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


# -- translating ------------------------------------------------------------------------------

def gettext(message: str, **values: Any) -> str:
    """``message`` in the current locale, ``%(name)s`` placeholders filled."""
    text = translations(current()).ugettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
    text = translations(current()).ungettext(singular, plural, n)
    return text % {"num": n, **values}


def N_(message: str) -> str:
    """Marks ``message`` for extraction without translating it now."""
    return message


def _context_locale(context: Context) -> str:
    request = context.get("request")
    state = getattr(request, "state", None)
    locale = getattr(state, "locale", None)
    return locale if locale in LOCALES else current()


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(_context_locale(context)).ugettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(_context_locale(context)).ungettext(singular, plural, n)


ENUM_LABELS = (
    # job statuses, grant statuses, roles: templates show them as ``_(value)``
    N_("queued"), N_("running"), N_("succeeded"), N_("failed"), N_("cancelled"),
    N_("active"), N_("reclaimed"), N_("expired"),
    N_("operator"), N_("org-admin"), N_("member"), N_("data-provider"), N_("auditor"),
)
"""Values of the domain's enums that pages show, marked here so the catalogues have them
(a new value shown on a page is added here)."""


# -- formatting -------------------------------------------------------------------------------

def _as_datetime(value: datetime | date) -> datetime | date:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # the domain's times are UTC
    return value


def format_number(value: int | float | Decimal, locale: str, digits: int | None = None) -> str:
    if digits is not None:
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=locale)
    return format_decimal(value, locale=locale)


def format_krw(value: int | float | Decimal, locale: str) -> str:
    """Won, whole: ₩1,234,567 (KRW has no minor unit in use)."""
    return format_currency(value, "KRW", format="¤#,##0", currency_digits=False,
                           locale=locale)


def format_when(value: datetime | date, locale: str, style: str = "medium") -> str:
    value = _as_datetime(value)
    if isinstance(value, datetime):
        return format_datetime(value, style, tzinfo=get_timezone(ZONES[locale]),
                               locale=locale)
    return format_date(value, style, locale=locale)


def _filter(fn: Callable[..., str]) -> Callable[..., str]:
    @pass_context
    def apply(context: Context, value: Any, *args: Any) -> str:
        if value is None:
            return ""
        return fn(value, _context_locale(context), *args)
    return apply


def install(env: Environment) -> None:
    """Add the i18n extension (``_``, ``gettext``, ``ngettext``, ``{% trans %}``) and the
    locale filters to ``env``; the locale is the rendering request's."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["number"] = _filter(format_number)
    env.filters["krw"] = _filter(format_krw)
    env.filters["h100e"] = _filter(lambda v, loc: format_number(v, loc, 2))
    env.filters["datetime"] = _filter(format_when)
    env.filters["date"] = _filter(lambda v, loc: format_date(_as_datetime(v), "medium",
                                                              locale=loc))
    env.globals["locales"] = LANGUAGE_NAMES
    env.globals["zone_of"] = ZONES.get
    env.globals["locale_name"] = lambda code: Locale.parse(code).display_name


# -- extract, update, check -------------------------------------------------------------------

def extract(root: Path = HERE) -> Catalog:
    """Every msgid marked under ``root`` (templates and Python)."""
    template = Catalog(project="aicenter", domain=DOMAIN, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            root, METHODS, keywords=KEYWORDS, options_map=EXTRACT_OPTIONS,
            comment_tags=("TRANSLATORS:",)):
        template.add(message, None, [(filename, lineno)], auto_comments=comments,
                     context=context)
    return template


def _read(locale: str) -> Catalog:
    with po_path(locale).open("rb") as fp:
        return read_po(fp, locale=locale)


def update(root: Path = HERE) -> None:
    """Merge the extracted msgids into each locale's .po (new ones with empty msgstr)."""
    template = extract(root)
    for locale in LOCALES:
        path = po_path(locale)
        if path.exists():
            catalog = _read(locale)
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=locale, domain=DOMAIN, project="aicenter")
            catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as fp:
            write_po(fp, catalog, width=100, omit_header=False, sort_output=True)


def problems(root: Path = HERE) -> list[str]:
    """What keeps the catalogues from being complete: an msgid not in a .po, or without a
    Korean translation (or a fuzzy one)."""
    found = []
    template = extract(root)
    catalogs = {locale: _read(locale) for locale in LOCALES}
    for message in template:
        if not message.id:
            continue
        for locale, catalog in catalogs.items():
            entry = catalog.get(message.id, context=message.context)
            if entry is None:
                found.append(f"{locale}: {message.id!r} is not in {po_path(locale).name} "
                             "(run: python -m aicenter.web.i18n update)")
            elif locale == "ko" and (not _translated(entry.string) or entry.fuzzy):
                found.append(f"ko: {message.id!r} has no Korean translation")
    return found


def _translated(string: str | Iterable[str] | None) -> bool:
    if isinstance(string, str):
        return bool(string.strip())
    return bool(string) and all(s.strip() for s in string or ())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aicenter.web.i18n",
                                     description="The pages' translation catalogues.")
    parser.add_argument("command", choices=["extract", "update", "check"],
                        help="extract: print the msgids as a .pot; update: merge them into "
                        "the .po files; check: fail if one lacks a Korean translation")
    args = parser.parse_args(argv)
    if args.command == "extract":
        buffer = io.BytesIO()
        write_po(buffer, extract(), width=100, sort_output=True)
        sys.stdout.write(buffer.getvalue().decode("utf-8"))
        return 0
    if args.command == "update":
        update()
        return 0
    found = problems()
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
