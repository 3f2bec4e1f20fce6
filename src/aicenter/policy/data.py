"""The center's own questions to the policies about licensed data: may a job of an
organisation read a dataset under an agreement on a pool in some country at some time
(``data:read``), and may a job reading a dataset be placed on a pool (``job:place``)?

Residency (domestic data only on pools in its home countries), an agreement's validity,
purpose and territory, and the chase-team waiver are the policies of ``policies.cedar``; the
functions here only build the entities the schema declares (``schema.cedarschema``) from
domain values and return Cedar's decision with the ``@id`` of each policy that made it.
Time is passed in and given to Cedar as microseconds since 1970-01-01 UTC (a ``Long``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from aicenter.domain.licence import Agreement, DatasetTerms, Purpose
from aicenter.policy.authorizer import Authorizer, AuthzDecision

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)


def micros(when: datetime) -> int:
    """``when`` as whole microseconds since 1970-01-01 UTC (exact: no float on the way)."""
    return (when - EPOCH) // ONE_MICROSECOND


def _ref(type_: str, id_: str) -> dict[str, Any]:
    return {"__entity": {"type": type_, "id": id_}}


def dataset_entity(dataset: DatasetTerms, home: Iterable[str]) -> dict[str, Any]:
    """A dataset: its provider, its domestic tag and its home countries."""
    return {"uid": {"type": "Dataset", "id": dataset.id}, "parents": [],
            "attrs": {"provider": _ref("Org", dataset.provider_id),
                      "domestic": dataset.domestic, "home": sorted(home)}}


def org_entity(org_id: str, *, chase_team: bool | None = None, org_class: str | None = None
               ) -> dict[str, Any]:
    """An organisation, with its chase-team flag and class when the caller knows them."""
    attrs: dict[str, Any] = {}
    if chase_team is not None:
        attrs["chase_team"] = chase_team
    if org_class is not None:
        attrs["class"] = org_class
    return {"uid": {"type": "Org", "id": org_id}, "parents": [], "attrs": attrs}


def data_read(authz: Authorizer, agreement: Agreement, dataset: DatasetTerms,
              home: Iterable[str], *, org_id: str, purpose: Purpose, pool_country: str,
              when: datetime, chase_team: bool | None = None) -> AuthzDecision:
    """May a job of ``org_id`` with ``purpose`` read ``dataset`` under ``agreement`` on a pool
    in ``pool_country`` at ``when``? Cedar's decision over the agreement's attributes."""
    attrs: dict[str, Any] = {
        "org": _ref("Org", agreement.org_id),
        "provider": _ref("Org", agreement.provider_id),
        "dataset": _ref("Dataset", dataset.id),
        "purpose": agreement.purpose.value,
        "territory": sorted(agreement.offer.territory),
        "accepted_at": micros(agreement.accepted_at),
        "valid_until": micros(agreement.valid_until),
    }
    if agreement.waiver_until is not None:
        attrs["waiver_until"] = micros(agreement.waiver_until)
    entities = [
        org_entity(org_id, chase_team=chase_team),
        {"uid": {"type": "Agreement", "id": agreement.id}, "parents": [], "attrs": attrs},
        dataset_entity(dataset, home),
    ]
    request = {
        "principal": {"type": "Org", "id": org_id},
        "action": {"type": "Action", "id": "data:read"},
        "resource": {"type": "Agreement", "id": agreement.id},
        "context": {"purpose": purpose.value, "now": micros(when),
                    "pool_country": pool_country},
    }
    return authz.evaluate(request, entities)


def placement(authz: Authorizer, dataset: DatasetTerms, home: frozenset[str],
              pool_country: str) -> AuthzDecision:
    """May a job reading ``dataset`` be placed on a pool in ``pool_country``? Memoised per
    (dataset terms, home, country) for the policy set in force: a round asks it for every
    queued job reading data and every country with a pool, and the answer depends on those
    alone."""
    def decide() -> AuthzDecision:
        entities = [
            {"uid": {"type": "Job", "id": "placed"}, "parents": [], "attrs": {}},
            {"uid": {"type": "Pool", "id": pool_country}, "parents": [],
             "attrs": {"country": pool_country}},
            dataset_entity(dataset, home),
        ]
        request = {
            "principal": {"type": "Job", "id": "placed"},
            "action": {"type": "Action", "id": "job:place"},
            "resource": {"type": "Pool", "id": pool_country},
            "context": {"dataset": _ref("Dataset", dataset.id)},
        }
        return authz.evaluate(request, entities)
    return authz.memo(("job:place", dataset, home, pool_country), decide)
