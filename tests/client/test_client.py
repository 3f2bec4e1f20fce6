"""The typed client against a real server on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aicenter.api import create_app
from aicenter.client import ApiError, Client
from aicenter.services.context import ServiceContext
from aicenter.services.org import bootstrap_operator
from tests.support.live_server import LiveServer, free_port


@pytest.fixture
def live(ctx: ServiceContext) -> Iterator[tuple[str, str]]:
    boot = bootstrap_operator(ctx)
    assert boot is not None
    with LiveServer(create_app(ctx)) as server:
        yield server.url, boot[1]


def test_client_round_trip(live: tuple[str, str]) -> None:
    url, op = live
    with Client(url, op) as c:
        org = c.create_org("Rebellions Lab", "startup", region="busan")
        assert c.get_org(org.id).region == "busan"
        person = c.add_person(org.id, "Park", "park@reb.kr", "org-admin")
        token = c.create_token(person.id, "ci", ["read"])
        assert token.secret
    with Client(url, token.secret) as park:
        assert park.whoami().person.id == person.id
        with pytest.raises(ApiError) as err:
            park.create_org("Nope", "sme")
        assert err.value.status == 403 and "may not org:create" in str(err.value)


def test_unreachable_server_is_a_readable_error() -> None:
    with Client(f"http://127.0.0.1:{free_port()}", "x") as c, pytest.raises(ApiError) as err:
        c.list_orgs()
    assert "aicenter serve" in str(err.value)
