"""What every page module with actions shares: rendering with the signed-in caller, reading a
posted form (URL-encoded, parsed here: no multipart dependency), typed form fields that fail
with the service layer's :class:`InputError` (so a page shows a bad field the way the API
names it), the HTTP status of a service error, lists cut into pages, and the redirect after a
successful action (post/redirect/get, so a reload never repeats it)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from aicenter.api.errors import STATUS
from aicenter.domain.errors import AicenterError, InputError
from aicenter.services.context import Caller
from aicenter.web.pages import templates
from aicenter.web.paging import PER_PAGE as PER_PAGE
from aicenter.web.paging import Page as Page
from aicenter.web.paging import paged as paged
from aicenter.web.paging import paginate as paginate

T = TypeVar("T")

MAX_FORM_BYTES = 1_000_000
"""A form larger than this (a pasted YAML file is the largest) is refused before parsing."""

CSRF_FIELD = "csrf_token"
"""The hidden field every form carries (the session's token, checked by the session layer)."""


def _gettext(message: str, **values: Any) -> str:
    """Used until a translation is installed for the request: the message itself, with
    ``%(name)s`` placeholders filled, the same call the translated ``_`` answers."""
    return message % values if values else message


def _csrf_field(token: str | None = None) -> Markup:
    if not token:
        return Markup("")
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


def N_(message: str) -> str:
    """Marks ``message`` for the catalogues (the gettext name) without translating it."""
    return message


STATE_WORDS = (N_("open"), N_("closed"), N_("submitted"), N_("granted"), N_("rejected"),
               N_("active"), N_("draining"), N_("removed"), N_("expired"), N_("reclaimed"),
               N_("queued"), N_("running"), N_("succeeded"), N_("failed"), N_("cancelled"),
               N_("withdrawn"), N_("terminated"))
"""States the pages show through ``_(state.value)``, marked here so the catalogues have them."""

templates.env.globals.setdefault("_", _gettext)
templates.env.globals.setdefault("csrf_field", _csrf_field)


def csrf_token_of(request: Request) -> str | None:
    """The session's CSRF token when the session layer set one on the request."""
    token = getattr(request.state, "csrf_token", None)
    return token if isinstance(token, str) else None


def render(request: Request, name: str, who: Caller | None, code: int = 200,
           **values: Any) -> HTMLResponse:
    """Render ``name`` inside the layout; ``error`` (a service error) shows at the top."""
    error = values.pop("error", None)
    if isinstance(error, AicenterError):
        code = status_of(error) if code == 200 else code
        error = str(error)
    return templates.TemplateResponse(
        request, name, {"who": who, "error": error, "csrf_token": csrf_token_of(request),
                        "ok": request.query_params.get("ok"), **values},
        status_code=code)


def status_of(exc: AicenterError) -> int:
    """The status the API answers for this error (422 for anything it does not name)."""
    return next((code for cls, code, _ in STATUS if isinstance(exc, cls)), 422)


async def form_of(request: Request) -> dict[str, list[str]]:
    """The posted form's fields (each a list: checkboxes and multi-selects repeat a name)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InputError(f"the form is over {MAX_FORM_BYTES:,} bytes")
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def text(form: dict[str, list[str]], name: str, *, required: bool = True) -> str:
    value = (form.get(name) or [""])[0].strip()
    if required and not value:
        raise InputError(f"{name} is required", field=name)
    return value


def texts(form: dict[str, list[str]], name: str) -> list[str]:
    return [v.strip() for v in form.get(name, []) if v.strip()]


def optional(form: dict[str, list[str]], name: str, parse: Callable[[str, str], T]
             ) -> T | None:
    value = text(form, name, required=False)
    return parse(name, value) if value else None


def integer(name: str, value: str) -> int:
    try:
        return int(value.replace(",", "").strip())
    except ValueError:
        raise InputError(f"{name}: {value!r} is not a whole number", field=name) from None


def decimal(name: str, value: str) -> Decimal:
    try:
        number = Decimal(value.replace(",", "").strip())
    except InvalidOperation:
        raise InputError(f"{name}: {value!r} is not a number", field=name) from None
    if not number.is_finite():
        raise InputError(f"{name}: {value!r} is not a number", field=name)
    return number


def counts(name: str, value: str) -> dict[str, int]:
    """``chip=count`` pairs, one a line or comma-separated (``nvidia-h100-sxm=8``)."""
    found: dict[str, int] = {}
    for part in value.replace(",", "\n").splitlines():
        if not part.strip():
            continue
        chip, sep, count = part.partition("=")
        if not sep or not chip.strip():
            raise InputError(f"{name}: write each as chip=count, not {part.strip()!r}",
                             field=name)
        found[chip.strip()] = integer(name, count)
    return found


def done(to: str, ok: str) -> RedirectResponse:
    """After an action: back to ``to`` with ``ok`` naming what happened (a message key)."""
    joiner = "&" if "?" in to else "?"
    return RedirectResponse(f"{to}{joiner}{urlencode({'ok': ok})}", status_code=303)
