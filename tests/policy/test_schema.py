"""The policies against their schema (CI's check), problems named by policy and line, the
center's own request cases, and a policy set swapped in at run time."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from aicenter.domain.licence import (
    Agreement,
    DatasetTerms,
    LicenceOffer,
    ModelRelease,
    Price,
    PriceBasis,
    Purpose,
)
from aicenter.domain.units import Currency, Money
from aicenter.exchange.licence import AccessReason, check_access
from aicenter.policy import READ_ACTIONS, WRITE_ACTIONS, Authorizer
from aicenter.policy.cases import CASES_FILE, load_cases, run_cases
from aicenter.policy.data import micros, placement
from aicenter.policy.source import (
    PolicyInvalidError,
    packaged_policies,
    packaged_schema,
    require_valid,
    sha256_of,
    statements,
    validate,
)

POLICIES = packaged_policies()


def test_the_packaged_policies_are_valid_against_the_schema() -> None:
    assert validate(POLICIES) == []


def test_the_schema_declares_every_action_a_person_asks() -> None:
    declared = set(re.findall(r'"([a-z-]+:[a-z-]+)"', packaged_schema()))
    missing = (READ_ACTIONS | WRITE_ACTIONS) - declared
    assert not missing, f"declare these actions in policy/schema.cedarschema: {missing}"


def test_every_policy_has_a_unique_id() -> None:
    ids = [re.match(r'\s*@id\("([^"]+)"\)', s.text) for s in statements(POLICIES)]
    assert all(ids), "every policy carries an @id: decisions in the log name it"
    names = [m.group(1) for m in ids if m]
    assert len(names) == len(set(names))


def test_the_centers_cases_pass() -> None:
    results = run_cases(POLICIES, load_cases(CASES_FILE))
    failed = [r for r in results if not r.passed]
    assert len(results) >= 15 and not failed, failed


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_an_unknown_attribute_is_named_with_its_policy_and_line() -> None:
    bad = POLICIES.replace("resource.territory.contains(context.pool_country)",
                           "resource.teritory.contains(context.pool_country)")
    [problem] = validate(bad)
    assert problem.policy == "territory-of-offer"
    assert problem.line == _line(bad, "resource.teritory")
    with pytest.raises(PolicyInvalidError, match=rf"edited.cedar:line {problem.line}: "
                                                 r"policy territory-of-offer"):
        require_valid(bad, "edited.cedar")


def test_a_syntax_error_is_named_with_its_policy_and_line() -> None:
    bad = POLICIES.replace('when { resource has accepted_at &&',
                           'when { resource has accepted_at && &&')
    [problem] = validate(bad)
    assert problem.policy == "agreement-not-yet-valid"
    assert problem.line == _line(bad, '@id("agreement-not-yet-valid")')
    assert "does not parse" in problem.message


def test_an_unknown_action_and_a_repeated_id_are_problems() -> None:
    bad = POLICIES.replace('Action::"licence:accept"', 'Action::"licence:acept"')
    assert any("licence:acept" in p.message and p.policy == "members-accept-licences"
               for p in validate(bad))
    twice = POLICIES + '\n@id("tenant-isolation")\npermit (principal, action, resource);\n'
    assert any("used twice" in p.message for p in validate(twice))
    assert validate("// nothing\n")[0].message == "holds no policy"


# -- the decisions follow the policy set in force --------------------------------------

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NEWS = DatasetTerms("news", "press", domestic=True)


def _agreement() -> Agreement:
    offer = LicenceOffer("off", "press", "news", frozenset({Purpose.PRE_TRAINING}),
                         date(2026, 1, 1), date(2026, 12, 31), frozenset({"KR", "US"}),
                         ModelRelease.INTERNAL_ONLY,
                         Price(PriceBasis.FLAT, Money(Decimal(0), Currency.KRW)))
    return Agreement("agr", offer, "lab", Purpose.PRE_TRAINING, T0 - timedelta(days=30),
                     T0 + timedelta(days=90))


def test_a_decision_names_the_policy_that_made_it() -> None:
    home = check_access([_agreement()], NEWS, Purpose.PRE_TRAINING, "lab", T0, "KR")
    assert home.allowed and home.policy_id == "licensee-reads-under-agreement"
    abroad = check_access([_agreement()], NEWS, Purpose.PRE_TRAINING, "lab", T0, "US")
    assert abroad.reason is AccessReason.DOMESTIC_ONLY
    assert abroad.policy_id == "domestic-data-stays-home"


def test_a_loaded_policy_set_decides_from_then_on() -> None:
    """An operator's version without the residency rules: domestic data is read (and placed)
    abroad inside the territory; a refusal by a new policy is reason POLICY."""
    authz = Authorizer()
    assert not placement(authz, NEWS, frozenset({"KR"}), "US").allowed
    lenient = re.sub(r'@id\("domestic-data-(stays-home|placed-home)"\)\nforbid[^;]*;', "",
                     POLICIES)
    assert "domestic-data-stays-home" not in lenient
    authz.load(lenient, version=2)
    assert authz.version == 2 and authz.text == lenient
    assert placement(authz, NEWS, frozenset({"KR"}), "US").allowed  # the memo went too
    assert check_access([_agreement()], NEWS, Purpose.PRE_TRAINING, "lab", T0, "US",
                        authorizer=authz).allowed
    strict = lenient + ('\n@id("no-reads-in-march")\nforbid (principal, '
                        'action == Action::"data:read", resource)\n'
                        f'when {{ context.now >= {micros(T0)} }};\n')
    assert validate(strict) == []
    authz.load(strict, version=3)
    refused = check_access([_agreement()], NEWS, Purpose.PRE_TRAINING, "lab", T0, "KR",
                           authorizer=authz)
    assert refused.reason is AccessReason.POLICY and "no-reads-in-march" in refused.message


def test_the_fingerprint_is_the_sha256_of_the_text() -> None:
    assert sha256_of("a") == ("ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee"
                              "48bb")
