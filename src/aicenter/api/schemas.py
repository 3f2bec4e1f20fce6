"""Request and response bodies of the API (pydantic), and converters from domain objects."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aicenter.domain.org import Organisation, OrgClass
from aicenter.domain.person import Person, Role
from aicenter.domain.token import ApiToken, Scope


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrgIn(Strict):
    name: str = Field(min_length=1, max_length=200, description="Unique name")
    org_class: OrgClass = Field(description="Class that sets eligibility and the price rule")
    chase_team: bool = Field(default=False, description="Member of the priority chase team")
    region: str = Field(default="capital", min_length=1, max_length=80,
                        description="Region ('capital' gets no regional bonus)")


class OrgOut(BaseModel):
    id: str
    name: str
    org_class: OrgClass
    chase_team: bool
    region: str
    created_at: datetime

    @staticmethod
    def of(org: Organisation) -> OrgOut:
        return OrgOut(id=org.id, name=org.name, org_class=org.org_class,
                      chase_team=org.chase_team, region=org.region, created_at=org.created_at)


class PersonIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)
    role: Role


class PersonOut(BaseModel):
    id: str
    org_id: str
    name: str
    email: str
    role: Role
    created_at: datetime

    @staticmethod
    def of(p: Person) -> PersonOut:
        return PersonOut(id=p.id, org_id=p.org_id, name=p.name, email=p.email, role=p.role,
                         created_at=p.created_at)


class TokenIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(default_factory=lambda: [Scope.READ, Scope.WRITE], min_length=1)
    expires_in_days: float | None = Field(default=None, gt=0, le=3650)


class TokenOut(BaseModel):
    id: str
    person_id: str
    name: str
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    secret: str | None = Field(default=None, description="Shown once, at creation")

    @staticmethod
    def of(t: ApiToken, secret: str | None = None) -> TokenOut:
        return TokenOut(id=t.id, person_id=t.person_id, name=t.name,
                        scopes=sorted(t.scopes), created_at=t.created_at,
                        expires_at=t.expires_at, revoked_at=t.revoked_at, secret=secret)


class WhoAmI(BaseModel):
    person: PersonOut
    can_write: bool


def decimal_str(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


JsonDict = dict[str, Any]
