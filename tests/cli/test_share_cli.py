"""Guaranteed shares through a live server: ``aicenter share list|set|clear|remove`` (and its
errors), and the /shares routes beyond who may call them (validation, 404s, updates, the
audit trail, what every signed-in caller reads); on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from aicenter.client import Client
from tests.services.fixtures import database_url_fixture  # noqa: F401

H100 = "nvidia-h100-sxm"


@pytest.fixture
def center(live_center, database_url: str):  # type: ignore[no-untyped-def]
    """A live server with a call and an organisation whose member has a token of their own.
    Returns (call id, org id, member token)."""
    live_center(database_url=database_url, scheduler_interval_s=0.2)
    with Client() as op:
        call = op.open_call("AI infra", ["sme"], {H100: 64})
        org = op.create_org("SME", "sme")
        member = op.add_person(org.id, "Kim", "kim@sme.kr", "member")
        token = op.create_token(member.id, "cli").secret or ""
    return call.id, org.id, token


def _shares(cli) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    listed = cli("share", "list", "--format", "json")
    assert listed.code == 0, listed.err
    return {(s["holder_kind"], s["holder_id"]): s["guaranteed_h100e"]
            for s in json.loads(listed.out)}


def test_share_commands_set_list_update_and_remove(center, cli,  # type: ignore[no-untyped-def]
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    call_id, org_id, member_token = center
    assert _shares(cli) == {}
    assert "holder_kind" in cli("share", "list").out  # an empty table, with its header
    made = cli("share", "set", "org", org_id, "16", "--format", "json")
    assert made.code == 0, made.err
    record = json.loads(made.out)
    assert (record["holder_kind"], record["holder_id"]) == ("org", org_id)
    assert record["guaranteed_h100e"] == "16.000000" and record["set_by"].startswith("usr_")
    assert cli("share", "set", "call", call_id, "8.5").code == 0
    table = cli("share", "list", "--wide").out
    assert org_id in table and call_id in table and "8.5" in table
    assert cli("share", "set", "org", org_id, "24").code == 0  # setting again replaces it
    assert _shares(cli) == {("org", org_id): "24.000000", ("call", call_id): "8.500000"}

    operator_token = os.environ["AICENTER_TOKEN"]
    monkeypatch.setenv("AICENTER_TOKEN", member_token)  # a member reads, never sets
    assert _shares(cli) == {("org", org_id): "24.000000", ("call", call_id): "8.500000"}
    refused = cli("share", "set", "org", org_id, "1000")
    assert refused.code == 1 and "403" in refused.err and "Traceback" not in refused.err
    refused = cli("share", "remove", "org", org_id)
    assert refused.code == 1 and "403" in refused.err
    monkeypatch.setenv("AICENTER_TOKEN", operator_token)

    removed = cli("share", "remove", "org", org_id)
    assert removed.code == 0 and f"org {org_id}: no guaranteed share any more" in removed.out
    cleared = cli("share", "clear", "call", call_id)
    assert cleared.code == 0, cleared.err
    assert _shares(cli) == {}
    again = cli("share", "remove", "org", org_id)
    assert again.code == 1 and "404" in again.err and "has no guaranteed share" in again.err


def test_share_command_errors(center, cli) -> None:  # type: ignore[no-untyped-def]
    _call_id, org_id, _token = center
    unknown = cli("share", "set", "org", "org_nobody", "4")
    assert unknown.code == 1 and "404" in unknown.err and "org org_nobody not found" in \
        unknown.err
    unknown_call = cli("share", "set", "call", "call_nothing", "4")
    assert unknown_call.code == 1 and "call call_nothing not found" in unknown_call.err
    for amount in ("-1", "NaN", "Infinity", "10000001", "lots"):
        bad = cli("share", "set", "org", org_id, "--", amount)  # '--': -1 is no option
        assert bad.code == 1, (amount, bad.out)
        assert "guaranteed_h100e" in bad.err and "Traceback" not in bad.err, (amount, bad.err)
    kind = cli("share", "set", "team", org_id, "4")
    assert kind.code == 2 and "team" in kind.err  # a usage error: org or call only
    missing = cli("share", "set", "org", org_id)
    assert missing.code == 2
    assert _shares(cli) == {}  # nothing was stored by any of them


def test_share_routes(center) -> None:  # type: ignore[no-untyped-def]
    """The routes' answers as the wire has them: 200 with the share, 204 on removal, 404 for
    an unknown holder or a share that is not there, 422 naming the field for a bad amount or
    kind or an unknown body field, 403 for a member; each change in the audit log."""
    call_id, org_id, member_token = center
    with Client() as op:
        url, token = op.url + "/api/v1", op.token
        ops = {"Authorization": f"Bearer {token}"}
        member = {"Authorization": f"Bearer {member_token}"}
        with httpx.Client(base_url=url, headers=ops) as http:
            put = http.put(f"/shares/org/{org_id}", json={"guaranteed_h100e": "12.25"})
            assert put.status_code == 200, put.text
            assert put.json()["guaranteed_h100e"] == "12.250000"
            assert http.put(f"/shares/call/{call_id}", json={"guaranteed_h100e": 0}
                            ).status_code == 200  # zero: a share of nothing, still listed
            listed = httpx.get(f"{url}/shares", headers=member).json()
            assert {(s["holder_kind"], s["holder_id"], s["guaranteed_h100e"]) for s in listed} \
                == {("org", org_id, "12.250000"), ("call", call_id, "0.000000")}
            for body, field in (({"guaranteed_h100e": "-0.5"}, "guaranteed_h100e"),
                                ({"guaranteed_h100e": "Infinity"}, "guaranteed_h100e"),
                                ({"guaranteed_h100e": 1e300}, "guaranteed_h100e"),
                                ({}, "guaranteed_h100e"),
                                ({"guaranteed_h100e": 1, "burst": 2}, "burst")):
                bad = http.put(f"/shares/org/{org_id}", json=body)
                assert bad.status_code == 422, (body, bad.text)
                assert field in bad.text, (body, bad.text)
            assert http.put(f"/shares/team/{org_id}", json={"guaranteed_h100e": 1}
                            ).status_code == 422
            gone = http.put("/shares/org/org_nobody", json={"guaranteed_h100e": 1})
            assert gone.status_code == 404 and "org_nobody" in gone.text
            assert httpx.put(f"{url}/shares/org/{org_id}", json={"guaranteed_h100e": 99},
                             headers=member).status_code == 403
            assert httpx.delete(f"{url}/shares/org/{org_id}", headers=member
                                ).status_code == 403
            assert http.get("/shares").json()[0]["guaranteed_h100e"] in ("12.250000",
                                                                         "0.000000")
            assert http.delete(f"/shares/org/{org_id}").status_code == 204
            assert http.delete(f"/shares/org/{org_id}").status_code == 404
            assert [s["holder_id"] for s in http.get("/shares").json()] == [call_id]
        actions = [(e.action, e.object_id) for e in op.list_audit(object_type="share")]
    assert ("share.set", f"org:{org_id}") in actions
    assert ("share.set", f"call:{call_id}") in actions
    assert ("share.cleared", f"org:{org_id}") in actions
    assert len([a for a in actions if a[0] == "share.set"]) == 2  # refusals change nothing
