"""Sign-in through a real OpenID Connect provider process (oidc-provider-mock): the first
sign-in of an unknown identity waits for the operator, who approves it through the API with
an organisation and a role; then the identity signs straight in. A forged state, another
audience and a wrong nonce are refused; a rejected identity stays out."""

from __future__ import annotations

import hashlib
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from aicenter.api import create_app
from aicenter.domain.person import Role
from aicenter.server.process import make_context
from aicenter.services.context import Caller
from aicenter.services.org import bootstrap_operator
from aicenter.settings import Settings
from aicenter.web import mount
from aicenter.web.oidc import Provider, _b64, _discover, id_token_claims
from aicenter.web.session import COOKIE, PageError
from tests.services.fixtures import seed_center
from tests.support.live_server import free_port


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    """oidc-provider-mock on a free loopback port, as its own process."""
    command = shutil.which("oidc-provider-mock", path=str(Path(sys.executable).parent))
    if command is None:
        pytest.skip("oidc-provider-mock is not installed (the dev extra has it)")
    port = free_port()
    process = subprocess.Popen([command, "--port", str(port), "--require-nonce", "true"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the OIDC provider did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def center(issuer: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:  # type: ignore[type-arg]
    ctx = make_context(Settings(home=tmp_path_factory.mktemp("oidc") / "home",
                                oidc_issuer=issuer, oidc_client_id="aicenter",
                                oidc_client_secret="s3cret", oidc_name="SNU"))
    boot = bootstrap_operator(ctx)
    assert boot is not None
    operator = Caller(boot[0])
    org, member, _ = seed_center(ctx, operator, org_class="university")
    yield ctx, boot[1], org, member.person.email
    ctx.db.dispose()


@pytest.fixture
def client(center: tuple) -> Iterator[TestClient]:  # type: ignore[type-arg]
    app = create_app(center[0])
    mount(app)
    with TestClient(app, follow_redirects=False, headers={"Accept-Language": "en"}) as c:
        yield c


def provider_says_yes(issuer: str, authorize_url: str, sub: str, claims: dict) -> str:  # type: ignore[type-arg]
    """What a person does at the provider: sign in as ``sub``; the URL it sends them back to."""
    assert authorize_url.startswith(issuer)
    httpx.put(f"{issuer}/users/{sub}", json=claims).raise_for_status()
    answer = httpx.post(authorize_url, data={"sub": sub})
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def sign_in(client: TestClient, issuer: str, sub: str, claims: dict) -> httpx.Response:  # type: ignore[type-arg]
    start = client.get("/login/oidc")
    assert start.status_code == 303
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"][0]
    back = urlsplit(provider_says_yes(issuer, start.headers["location"], sub, claims))
    return client.get(f"{back.path}?{back.query}")


def test_unknown_identity_waits_for_approval_then_signs_in(client: TestClient, center: tuple,  # type: ignore[type-arg]
                                                           issuer: str) -> None:
    _, operator_token, org, member_email = center
    assert "Sign in with SNU" in client.get("/login").text
    # the seeded member's e-mail domain names the organisation to suggest
    claims = {"email": "kim@" + member_email.rpartition("@")[2], "name": "Kim"}
    first = sign_in(client, issuer, "kim-sub", claims)
    assert first.status_code == 202 and "waiting for the center" in first.text
    assert COOKIE not in client.cookies
    api = {"Authorization": f"Bearer {operator_token}"}
    pending = client.get("/api/v1/identities?status=pending", headers=api).json()
    assert [(r["subject"], r["email"], r["suggested_org_id"]) for r in pending] == [
        ("kim-sub", claims["email"], org.id)]
    again = sign_in(client, issuer, "kim-sub", claims)  # still waiting, no second request
    assert again.status_code == 202
    assert len(client.get("/api/v1/identities", headers=api).json()) == 1
    approved = client.post(f"/api/v1/identities/{pending[0]['id']}/approve", headers=api,
                           json={"org_id": org.id, "role": Role.MEMBER.value})
    assert approved.status_code == 200 and approved.json()["person_id"]
    signed = sign_in(client, issuer, "kim-sub", claims)
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    assert COOKIE in client.cookies
    overview = client.get("/")
    assert overview.status_code == 200 and "Kim · member" in overview.text


def test_a_rejected_identity_stays_out(client: TestClient, center: tuple,  # type: ignore[type-arg]
                                       issuer: str) -> None:
    _, operator_token, _, _ = center
    claims = {"email": "eve@example.org", "name": "Eve"}
    assert sign_in(client, issuer, "eve-sub", claims).status_code == 202
    api = {"Authorization": f"Bearer {operator_token}"}
    request = next(r for r in client.get("/api/v1/identities", headers=api).json()
                   if r["subject"] == "eve-sub")
    assert request["suggested_org_id"] is None
    assert client.post(f"/api/v1/identities/{request['id']}/reject", headers=api,
                       json={"reason": "not a member institution"}).status_code == 200
    refused = sign_in(client, issuer, "eve-sub", claims)
    assert refused.status_code == 403 and COOKIE not in client.cookies


def test_forged_state_is_refused(client: TestClient, issuer: str) -> None:
    start = client.get("/login/oidc")
    back = urlsplit(provider_says_yes(issuer, start.headers["location"], "mallory",
                                      {"email": "m@example.org"}))
    code = parse_qs(back.query)["code"][0]
    forged = client.get(f"{back.path}?code={code}&state=not-the-state")
    assert forged.status_code == 400 and COOKIE not in client.cookies


def test_id_token_checks_audience_nonce_and_signature(issuer: str) -> None:
    """A real ID token from the provider, checked as the callback checks it."""
    config = _discover(issuer)
    verifier, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
    redirect = "http://127.0.0.1/cb"
    query = httpx.QueryParams({
        "response_type": "code", "client_id": "aicenter", "redirect_uri": redirect,
        "scope": "openid email", "state": "s", "nonce": nonce,
        "code_challenge_method": "S256",
        "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest())})
    back = provider_says_yes(issuer, f"{config['authorization_endpoint']}?{query}", "lee",
                             {"email": "lee@example.org"})
    code = parse_qs(urlsplit(back).query)["code"][0]
    tokens = httpx.post(config["token_endpoint"], auth=("aicenter", "s3cret"), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
        "code_verifier": verifier}).json()
    ours = Provider(issuer, "aicenter", "s3cret", "SNU")
    assert id_token_claims(ours, config, tokens["id_token"], nonce)["sub"] == "lee"
    for provider, expected_nonce in ((Provider(issuer, "someone-else", None, "x"), nonce),
                                     (ours, "another-nonce")):
        with pytest.raises(PageError) as refused:
            id_token_claims(provider, config, tokens["id_token"], expected_nonce)
        assert refused.value.status == 401
    header, payload, signature = tokens["id_token"].split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    with pytest.raises(PageError):
        id_token_claims(ours, config, tampered, nonce)
