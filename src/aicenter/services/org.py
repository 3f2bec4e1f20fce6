"""Organisations, people and API tokens: creation, listing and authentication.

People and tokens are use cases of the organisation, not services of their own, because each
belongs to exactly one organisation and is granted and authorised through it (as in the
router's ``/orgs/{id}/people`` and the CLI's ``org add-person|token``); they keep their own
domain types and repositories because they are stored and looked up on their own."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from datetime import datetime, timedelta

from aicenter.domain.errors import DuplicateError, InputError, NotFoundError
from aicenter.domain.job import PriorityClass
from aicenter.domain.org import Organisation, OrgClass, default_priority_classes
from aicenter.domain.person import Person, Role
from aicenter.domain.token import TOKEN_PREFIX, ApiToken, Scope, hash_token
from aicenter.policy import Resource
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext, new_id
from aicenter.services.errors import AuthenticationError, ConflictError, guaranteed
from aicenter.storage import Tx

OPERATOR_ORG = "National AI Computing Center"


def _org_or_404(tx: Tx, org_id: str) -> Organisation:
    org: Organisation | None = tx.orgs.get(org_id)
    if org is None:
        raise NotFoundError(f"organisation {org_id} not found")
    return org


def bootstrap_operator(ctx: ServiceContext, email: str = "operator@center.local"
                       ) -> tuple[Person, str] | None:
    """On an empty database: the center's organisation, one operator and a token for them.

    Returns the operator and the token secret, or None if people already exist.
    """
    now = ctx.clock.now()
    with ctx.db.transaction() as tx:
        if tx.people.count():
            return None
        org = Organisation(new_id("org"), OPERATOR_ORG, OrgClass.OPERATOR, False, "haenam", now)
        tx.orgs.add(org)
        audit.changed(ctx, tx, None, "org.created", "org", org.id, org.id, name=org.name,
                      org_class=org.org_class, chase_team=False, region=org.region)
        person = Person(new_id("usr"), org.id, "Operator", email, Role.OPERATOR, now)
        tx.people.add(person)
        audit.changed(ctx, tx, None, "person.added", "person", person.id, org.id,
                      email=person.email, role=person.role)
        secret = _add_token(tx, person, "bootstrap", frozenset(Scope), None, ctx)
    return person, secret


def _add_token(tx: Tx, person: Person, name: str, scopes: frozenset[Scope],
               expires_in_days: float | None, ctx: ServiceContext,
               caller: Caller | None = None) -> str:
    now = ctx.clock.now()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = now + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken(new_id("tok"), person.id, name, hash_token(secret), scopes, now, expires,
                     None)
    tx.tokens.add(token)
    # The secret (and its hash, which would let a stolen log confirm a guessed secret) stay out.
    audit.changed(ctx, tx, caller, "token.created", "token", token.id, person.org_id,
                  person=person.id, name=name, scopes=scopes, expires=expires)
    return secret


def authenticate(ctx: ServiceContext, secret: str | None) -> Caller:
    """The caller a bearer token belongs to; 401 unless it is known, unexpired, unrevoked."""
    found: tuple[ApiToken, Person] | None = None
    if secret:
        with ctx.db.transaction(write=False) as tx:
            found = tx.tokens.with_owner(hash_token(secret))
    return caller_of(secret, found, ctx.clock.now())


def caller_of(secret: str | None, found: tuple[ApiToken, Person] | None, now: datetime
              ) -> Caller:
    """The caller for a bearer ``secret`` whose token (with its owner) was looked up as
    ``found``; raises AuthenticationError unless the token is known, unexpired, unrevoked."""
    if not secret:
        raise AuthenticationError("no API token: send 'Authorization: Bearer TOKEN' "
                                  "(the CLI reads AICENTER_TOKEN)")
    if found is None or not found[0].usable_at(now):
        raise AuthenticationError("the API token is unknown, expired or revoked")
    token, person = found
    return Caller(person, Scope.WRITE in token.scopes or Scope.ADMIN in token.scopes)


def create_org(ctx: ServiceContext, caller: Caller, name: str, org_class: OrgClass,
               chase_team: bool = False, region: str = "capital") -> Organisation:
    caller.check(ctx, "org:create", Resource("Org", "new"))
    if not name.strip():
        raise InputError("must not be empty", field="name")
    org = Organisation(new_id("org"), name.strip(), org_class, chase_team, region,
                       ctx.clock.now(), default_priority_classes(chase_team))
    try:
        with ctx.db.transaction() as tx:
            if tx.orgs.by_name(org.name):
                raise ConflictError(f"an organisation named '{org.name}' exists")
            tx.orgs.add(org)
            audit.changed(ctx, tx, caller, "org.created", "org", org.id, org.id, name=org.name,
                          org_class=org.org_class, chase_team=chase_team, region=org.region)
    except DuplicateError:
        raise ConflictError(f"an organisation named '{org.name}' exists") from None
    return org


def _orgs_scope(ctx: ServiceContext, caller: Caller, ids: Collection[str] | None
                ) -> Collection[str] | None:
    """The organisations a listing may cover (None: every one) once the policies allow the
    caller to read them: operators and auditors every organisation, anyone else their own.
    One decision for the listing, as for jobs, not one per organisation listed."""
    if ids is not None:  # no stored id holds NUL, which PostgreSQL refuses in a query
        ids = [i for i in ids if "\0" not in i]
    if caller.sees_all:
        caller.check(ctx, "org:read", Resource("Org", "any"))
        return ids
    caller.check(ctx, "org:read", Resource("Org", caller.org_id, caller.org_id))
    return [caller.org_id] if ids is None or caller.org_id in ids else []


def list_orgs(ctx: ServiceContext, caller: Caller, *, ids: Collection[str] | None = None,
              by_name: bool = False, limit: int | None = None, offset: int = 0
              ) -> list[Organisation]:
    """The organisations the caller may see (their own; every one for operators and
    auditors), only ``ids`` when given, in the order they were registered (``by_name``:
    by name); ``limit`` and ``offset`` cut a page (:func:`count_orgs` is the total)."""
    scope = _orgs_scope(ctx, caller, ids)
    with ctx.db.transaction(write=False) as tx:
        orgs: list[Organisation] = tx.orgs.list(scope, by_name=by_name, limit=limit,
                                                offset=offset)
    return orgs


def count_orgs(ctx: ServiceContext, caller: Caller) -> int:
    """How many organisations :func:`list_orgs` lists without a limit."""
    scope = _orgs_scope(ctx, caller, None)
    with ctx.db.transaction(write=False) as tx:
        return int(tx.orgs.count(scope))


def get_org(ctx: ServiceContext, caller: Caller, org_id: str) -> Organisation:
    with ctx.db.transaction(write=False) as tx:
        org = tx.orgs.get(org_id)
    # Unknown and foreign look the same to a tenant: no probing for other org ids.
    if org is None:
        caller.check(ctx, "org:read", Resource("Org", org_id, org_id))
        raise NotFoundError(f"organisation {org_id} not found")
    caller.check(ctx, "org:read", Resource("Org", org.id, org.id))
    return org


def entitle(ctx: ServiceContext, caller: Caller, org_id: str, cls: PriorityClass
            ) -> Organisation:
    """The operator entitles an organisation to a job priority class (idempotent)."""
    caller.check(ctx, "org:entitle", Resource("Org", org_id, org_id))
    with ctx.db.transaction() as tx:
        org = _org_or_404(tx, org_id)
        if cls not in org.priority_classes:
            tx.orgs.entitle(org_id, cls, ctx.clock.now())
            audit.changed(ctx, tx, caller, "org.entitled", "org", org_id, org_id,
                          priority=cls)
        return _org_or_404(tx, org_id)


def revoke_priority(ctx: ServiceContext, caller: Caller, org_id: str, cls: PriorityClass
                    ) -> Organisation:
    """The operator takes a priority class back; jobs already admitted keep theirs, new
    submissions at that class are refused (idempotent)."""
    caller.check(ctx, "org:entitle", Resource("Org", org_id, org_id))
    with ctx.db.transaction() as tx:
        org = _org_or_404(tx, org_id)
        if cls in org.priority_classes:
            tx.orgs.revoke(org_id, cls)
            audit.changed(ctx, tx, caller, "org.entitlement_revoked", "org", org_id, org_id,
                          priority=cls)
        return _org_or_404(tx, org_id)


def add_person(ctx: ServiceContext, caller: Caller, org_id: str, name: str, email: str,
               role: Role) -> Person:
    caller.check(ctx, "person:create", Resource("Person", "new", org_id), new_role=role.value)
    if "@" not in email:
        raise InputError(f"'{email}' is not an e-mail address", field="email")
    person = Person(new_id("usr"), org_id, name, email.strip().lower(), role, ctx.clock.now())
    try:
        with ctx.db.transaction() as tx:
            _org_or_404(tx, org_id)
            if tx.people.by_email(person.email):
                raise ConflictError(f"someone with e-mail {person.email} exists")
            tx.people.add(person)
            audit.changed(ctx, tx, caller, "person.added", "person", person.id, org_id,
                          email=person.email, role=role)
    except DuplicateError:
        raise ConflictError(f"someone with e-mail {person.email} exists") from None
    return person


def list_people(ctx: ServiceContext, caller: Caller, org_id: str) -> list[Person]:
    caller.check(ctx, "person:read", Resource("Org", org_id, org_id))
    with ctx.db.transaction(write=False) as tx:
        _org_or_404(tx, org_id)
        return tx.people.list(org_id)


def create_token(ctx: ServiceContext, caller: Caller, person_id: str, name: str,
                 scopes: frozenset[Scope], expires_in_days: float | None
                 ) -> tuple[ApiToken, str]:
    """A new token for a person; the secret is returned once and only its hash is kept."""
    with ctx.db.transaction() as tx:
        person: Person | None = tx.people.get(person_id)
        org = person.org_id if person else None
        caller.check(ctx, "token:create", Resource("Token", "new", org, person_id))
        if person is None:
            raise NotFoundError(f"person {person_id} not found")
        if not scopes:
            raise InputError("give at least one scope (read, write, admin)", field="scopes")
        if expires_in_days is not None and expires_in_days <= 0:
            raise InputError("must be positive", field="expires_in_days")
        secret = _add_token(tx, person, name, scopes, expires_in_days, ctx, caller)
        token = guaranteed(tx.tokens.by_hash(hash_token(secret)), "the new token")
    return token, secret


def list_tokens(ctx: ServiceContext, caller: Caller, person_id: str) -> list[ApiToken]:
    with ctx.db.transaction(write=False) as tx:
        person: Person | None = tx.people.get(person_id)
        caller.check(ctx, "token:read", Resource("Token", "any",
                                                 person.org_id if person else None, person_id))
        if person is None:
            raise NotFoundError(f"person {person_id} not found")
        return tx.tokens.list({person_id})


def revoke_token(ctx: ServiceContext, caller: Caller, token_id: str) -> ApiToken:
    with ctx.db.transaction() as tx:
        token: ApiToken | None = tx.tokens.get(token_id)
        owner: Person | None = tx.people.get(token.person_id) if token else None
        caller.check(ctx, "token:revoke", Resource(
            "Token", token_id, owner.org_id if owner else None,
            owner.id if owner else None))
        if token is None:
            raise NotFoundError(f"token {token_id} not found")
        tx.tokens.revoke(token_id, ctx.clock.now())
        audit.changed(ctx, tx, caller, "token.revoked", "token", token_id,
                      owner.org_id if owner else None, person=token.person_id)
        return guaranteed(tx.tokens.get(token_id), f"token {token_id}")
