"""``aicenter org entitle|revoke``, ``aicenter call open --budget-h100e-hours``, ``aicenter call
reject`` and ``aicenter grant award --without-review`` against a real server (SQLite)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest


@pytest.fixture
def server(live_center) -> str:  # type: ignore[no-untyped-def]
    """A server on SQLite under a temporary AICENTER_HOME; returns the operator token."""
    return str(live_center(scheduler_interval_s=60).operator_token)


def _json(result) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert result.code == 0, result.err
    return json.loads(result.out)  # type: ignore[no-any-return]


def test_priority_entitlement_commands(server: str, cli) -> None:  # type: ignore[no-untyped-def]
    org = _json(cli("org", "create", "Lab", "--class", "university", "--format", "json"))
    assert org["priority_classes"] == ["best-effort", "normal"]
    entitled = _json(cli("org", "entitle", org["id"], "--priority", "chase-team",
                         "--format", "json"))
    assert entitled["priority_classes"] == ["best-effort", "chase-team", "normal"]
    assert "chase-team" in cli("org", "show", org["id"]).out
    revoked = _json(cli("org", "revoke", org["id"], "--priority", "chase-team",
                        "--format", "json"))
    assert revoked["priority_classes"] == ["best-effort", "normal"]
    bad = cli("org", "entitle", org["id"], "--priority", "urgent")
    assert bad.code == 1 and bad.err.startswith("error: ") and "priority_class" in bad.err


def test_award_and_reject_commands(server: str, cli) -> None:  # type: ignore[no-untyped-def]
    from aicenter.client import Client

    with Client() as op:
        op.add_pool("nvidia-h100-sxm", 8)
        org = op.create_org("SME", "sme")
    call = _json(cli("call", "open", "Call", "--cap", "nvidia-h100-sxm=4", "--eligible", "sme",
                     "--budget-h100e-hours", "150", "--format", "json"))
    assert Decimal(call["budget_h100e_h"]) == 150

    def apply(asked: str) -> str:
        return str(_json(cli("call", "apply", call["id"], "p", "--chips", "nvidia-h100-sxm=4",
                             "--months", "1", "--h100e-hours", asked, "--org-id", org.id,
                             "--format", "json"))["id"])

    first = apply("100")
    unreviewed = cli("grant", "award", first, "--h100e-hours", "100")
    assert unreviewed.code != 0 and "has not been reviewed" in unreviewed.err
    too_much = cli("grant", "award", first, "--h100e-hours", "100000000", "--without-review",
                   "x")
    assert too_much.code == 1 and "budget_h100e_h" in too_much.err
    grant = _json(cli("grant", "award", first, "--h100e-hours", "100", "--without-review",
                      "renewal of last year's grant", "--format", "json"))
    assert grant["review_waiver"] == "renewal of last year's grant"
    assert grant["chip_counts"] == {"nvidia-h100-sxm": 4}

    second = apply("100")
    cli("call", "review", second, "--impact", "7", "--readiness", "7", "--ecosystem", "7")
    beyond = cli("grant", "award", second, "--h100e-hours", "100")
    assert beyond.code != 0 and "left of its 150" in beyond.err

    rejected = _json(cli("call", "reject", second, "--reason", "the call is spent",
                         "--format", "json"))
    assert rejected["status"] == "rejected" and rejected["decision_reason"] == \
        "the call is spent"
    assert "the call is spent" in cli("call", "applications", call["id"]).out
    after = cli("grant", "award", second, "--h100e-hours", "10")
    assert after.code != 0 and "already rejected" in after.err
