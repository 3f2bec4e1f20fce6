"""Sign-in through the institution's OpenID Connect provider: authorization code with PKCE
(S256), the ID token checked with joserfc (signature against the provider's JWKS, issuer,
audience = our client id, nonce, expiry), then the identity resolved by
:func:`aicenter.services.web_session.sign_in_identity`: an approved one gets a session, an
unknown one becomes a request the operator approves (``/api/v1/identities``).

Configured by the ``oidc_*`` settings; without ``oidc_issuer`` these routes answer 404 and
the sign-in page offers the token form only. The one-time values of a sign-in (state, nonce,
PKCE verifier, where to go after) wait in a short-lived HttpOnly cookie scoped to
/login/oidc: nothing is kept on the server before the provider answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from aicenter.domain.identity import IdentityStatus
from aicenter.services import web_session as session_svc
from aicenter.settings import Settings
from aicenter.web.i18n import gettext as _
from aicenter.web.session import PageError, context_of, set_session_cookie

FLOW_COOKIE = "aicenter_oidc"
FLOW_MAX_AGE_S = 600
HTTP_TIMEOUT_S = 10.0
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
LEEWAY_S = 60

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Provider:
    """What the sign-in button needs and where the provider's endpoints are."""

    issuer: str
    client_id: str
    client_secret: str | None
    display_name: str


def provider_of(settings: Settings) -> Provider | None:
    if not settings.oidc_issuer:
        return None
    return Provider(settings.oidc_issuer.rstrip("/"), settings.oidc_client_id,
                    settings.oidc_client_secret, settings.oidc_name)


def _discover(issuer: str) -> dict[str, Any]:
    response = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=HTTP_TIMEOUT_S)
    response.raise_for_status()
    config: dict[str, Any] = response.json()
    if config.get("issuer", "").rstrip("/") != issuer:
        raise PageError(502, _("The sign-in provider answered for another issuer."))
    return config


def _provider(request: Request) -> Provider:
    provider = provider_of(context_of(request).settings)
    if provider is None:
        raise PageError(404, _("There is no page at this address."))
    return provider


def _redirect_uri(request: Request) -> str:
    return str(request.url_for("oidc_callback"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@router.get("/login/oidc")
def oidc_start(request: Request, next: str = "/") -> Response:
    """Send the browser to the provider with a fresh state, nonce and PKCE challenge."""
    provider = _provider(request)
    try:
        config = _discover(provider.issuer)
    except httpx.HTTPError as exc:
        raise PageError(502, _("The sign-in provider cannot be reached.")) from exc
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    to = next if next.startswith("/") and not next.startswith("//") else "/"
    query = urlencode({
        "response_type": "code", "client_id": provider.client_id,
        "redirect_uri": _redirect_uri(request), "scope": "openid email profile",
        "state": state, "nonce": nonce, "code_challenge_method": "S256",
        "code_challenge": _b64(hashlib.sha256(verifier.encode("ascii")).digest()),
    })
    response = RedirectResponse(f"{config['authorization_endpoint']}?{query}", status_code=303)
    flow = _b64(json.dumps({"state": state, "nonce": nonce, "verifier": verifier,
                            "next": to}).encode("utf-8"))
    response.set_cookie(FLOW_COOKIE, flow, max_age=FLOW_MAX_AGE_S, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https",
                        path="/login/oidc")
    return response


def _flow(request: Request) -> dict[str, str]:
    raw = request.cookies.get(FLOW_COOKIE, "")
    try:
        flow: dict[str, str] = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        flow = {}
    if not all(isinstance(flow.get(k), str) for k in ("state", "nonce", "verifier", "next")):
        raise PageError(400, _("The sign-in took too long or was not started here: "
                               "start again."))
    return flow


def id_token_claims(provider: Provider, config: dict[str, Any], id_token: str,
                    nonce: str) -> dict[str, Any]:
    """The ID token's claims once its signature (the provider's JWKS), issuer, audience,
    nonce and times are right; PageError 401 otherwise."""
    try:
        keys = httpx.get(config["jwks_uri"], timeout=HTTP_TIMEOUT_S)
        keys.raise_for_status()
        token = jwt.decode(id_token, KeySet.import_key_set(keys.json()),
                           algorithms=ALGORITHMS)
        jwt.JWTClaimsRegistry(
            leeway=LEEWAY_S,
            iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": provider.client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(token.claims)
    except (JoseError, ValueError, KeyError, httpx.HTTPError) as exc:
        raise PageError(401, _("The sign-in provider's answer could not be verified.")
                        ) from exc
    claims: dict[str, Any] = dict(token.claims)
    return claims


@router.get("/login/oidc/callback", name="oidc_callback")
def oidc_callback(request: Request, code: str = "", state: str = "", error: str = ""
                  ) -> Response:
    """The provider's answer: check state, redeem the code with the PKCE verifier, check
    the ID token, then sign in or show where the identity's request stands."""
    provider = _provider(request)
    flow = _flow(request)
    if error:
        raise PageError(401, _("The sign-in provider refused the sign-in."))
    if not code or not hmac.compare_digest(state.encode(), flow["state"].encode()):
        raise PageError(400, _("The sign-in took too long or was not started here: "
                               "start again."))
    try:
        config = _discover(provider.issuer)
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": _redirect_uri(request), "client_id": provider.client_id,
                "code_verifier": flow["verifier"]}
        auth = (provider.client_id, provider.client_secret) if provider.client_secret else None
        answer = httpx.post(config["token_endpoint"], data=form, auth=auth,
                            timeout=HTTP_TIMEOUT_S)
        answer.raise_for_status()
        id_token = str(answer.json()["id_token"])
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        raise PageError(401, _("The sign-in provider's answer could not be verified.")
                        ) from exc
    claims = id_token_claims(provider, config, id_token, flow["nonce"])
    result = session_svc.sign_in_identity(context_of(request), provider.issuer,
                                          str(claims["sub"]), claims)
    if isinstance(result, tuple):
        response = RedirectResponse(flow["next"], status_code=303)
        set_session_cookie(request, response, result[0])
    else:
        status = 403 if result.status is IdentityStatus.REJECTED else 202
        message = (_("The center's operator declined this sign-in.")
                   if result.status is IdentityStatus.REJECTED else
                   _("Your sign-in is waiting for the center's operator to approve it "
                     "(request %(id)s). Sign in again once it is approved.", id=result.id))
        raise PageError(status, message)
    response.delete_cookie(FLOW_COOKIE, path="/login/oidc")
    return response
