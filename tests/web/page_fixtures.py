"""A center for the page tests on SQLite and PostgreSQL (``tests.services.fixtures``' ``ctx``
and ``operator``), the app with the pages mounted as the server mounts them, and signing in
through the login form, so each test drives the pages the way a browser does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from aicenter.api import create_app
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.domain.token import Scope
from aicenter.services import org as org_svc
from aicenter.services.context import Caller, ServiceContext
from aicenter.web import mount
from tests.services.fixtures import seed_center


@dataclass
class People:
    """Secrets of the tokens of an operator, a member of a university, a member of a startup
    and a data provider; the organisations' ids."""

    ctx: ServiceContext
    operator: Caller
    secrets: dict[str, str]
    orgs: dict[str, str]
    callers: dict[str, Caller]


@pytest.fixture(name="people")
def people_fixture(ctx: ServiceContext, operator: Caller) -> People:
    org_a, member_a, _ = seed_center(ctx, operator, org_class="university")
    org_b = org_svc.create_org(ctx, operator, "Beta Robotics", OrgClass.STARTUP)
    member_b = Caller(org_svc.add_person(ctx, operator, org_b.id, "Bo", "bo@beta.kr",
                                         Role.MEMBER))
    org_p = org_svc.create_org(ctx, operator, "Hankook News", OrgClass.ENTERPRISE)
    provider = Caller(org_svc.add_person(ctx, operator, org_p.id, "Pia", "pia@news.kr",
                                         Role.DATA_PROVIDER))
    callers = {"operator": operator, "member": member_a, "startup": member_b,
               "provider": provider}
    secrets = {role: org_svc.create_token(ctx, operator, c.person.id, "web",
                                          frozenset({Scope.READ, Scope.WRITE}), None)[1]
               for role, c in callers.items()}
    return People(ctx, operator, secrets, {"a": org_a.id, "b": org_b.id, "p": org_p.id},
                  callers)


@pytest.fixture(name="browser")
def browser_fixture(ctx: ServiceContext) -> Iterator[TestClient]:
    app = create_app(ctx)
    mount(app)  # as the server does
    with TestClient(app, follow_redirects=False, headers={"Accept-Language": "en"}) as client:
        yield client


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(browser: TestClient, people: People, role: str) -> TestClient:
    """Sign in as ``role`` through the login form (its CSRF token too, when it has one)."""
    browser.cookies.clear()
    form = {"token": people.secrets[role]}
    found = CSRF.search(browser.get("/login").text)
    if found:
        form["csrf_token"] = found.group(1)
    response = browser.post("/login", data=form)
    assert response.status_code == 303, response.text
    return browser


def post(browser: TestClient, page: str, action: str, data: dict[str, str | list[str]]
         ) -> object:
    """Submit a form of ``page`` to ``action`` with the page's CSRF token, as a browser does."""
    form = dict(data)
    found = CSRF.search(browser.get(page).text)
    if found:
        form["csrf_token"] = found.group(1)
    return browser.post(action, data=form)
