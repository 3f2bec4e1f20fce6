"""Database checks of ``aicenter doctor`` (SQLite's file modes, how PostgreSQL authenticates
the center) and the refusal of ``aicenter serve`` to start on a database that checks no
password."""

from __future__ import annotations

import ipaddress
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from aicenter.domain.errors import InputError
from aicenter.extras import MissingExtraError, install_command, installed, require
from aicenter.services.doctor.check import ALLOW_TRUST_ENV, Check, loose_mode
from aicenter.settings import Settings

# -- the database ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatabaseAuth:
    """How the PostgreSQL server authenticates the center's connection.

    ``password_checked``: ``False`` if it admitted us with a wrong password (``trust``, or
    ``peer`` on a Unix socket), ``True`` if it refused the wrong one, ``None`` if it could not
    be told (server unreachable). ``method``: pg_hba.conf's method for this connection where
    it could be read (superuser), else what the answer implies."""

    password_checked: bool | None
    method: str | None
    where: str
    detail: str

    @property
    def trust(self) -> bool:
        return self.password_checked is False and self.method == "trust"


def _libpq_params(url: str) -> dict[str, Any]:
    parsed = make_url(url)
    params: dict[str, Any] = {k: v for k, v in parsed.query.items() if isinstance(v, str)}
    for key, value in (("host", parsed.host), ("port", parsed.port), ("user", parsed.username),
                       ("dbname", parsed.database)):
        if value is not None:
            params[key] = str(value)
    return params


def _first_rule(conn: Any, socket: bool, user: str, dbname: str) -> str | None:
    """pg_hba.conf's method for this connection: the first rule that surely matches it, or
    ``None`` where the rules are not readable (only superusers) or a rule before it might
    match (groups, ``samenet``, included files: not resolved here)."""
    try:
        rules = conn.execute(
            "SELECT type, database, user_name, address, netmask, auth_method, "
            "inet_client_addr()::text, ssl FROM pg_hba_file_rules, "
            "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) s "
            "WHERE error IS NULL ORDER BY line_number").fetchall()
    except Exception:  # not a superuser, or an older server: say only what the answer shows
        return None
    for kind, databases, users, address, netmask, method, client, ssl in rules:
        if socket != (kind == "local") or (kind == "hostssl" and not ssl) \
                or (kind == "hostnossl" and ssl) or kind.startswith("hostgss"):
            continue
        if "replication" in databases and len(databases) == 1:
            continue
        db_sure = "all" in databases or dbname in databases or \
            ("sameuser" in databases and dbname == user)
        user_sure = "all" in users or user in users
        unresolved = any(d.startswith("@") or d == "samerole" for d in databases) or \
            any(u.startswith(("+", "@")) for u in users)
        addr_sure = True
        if not socket:
            if address in ("samehost", "samenet") or client is None:
                unresolved, addr_sure = True, False
            elif address != "all":
                try:
                    network = ipaddress.ip_network(
                        f"{address}/{netmask}" if netmask else address, strict=False)
                    addr_sure = ipaddress.ip_address(client.split("/")[0]) in network
                except ValueError:
                    unresolved, addr_sure = True, False  # a host name
        if db_sure and user_sure and addr_sure:
            return str(method)
        if unresolved:
            return None
    return None


POSTGRES_FEATURE = "a PostgreSQL database"


def database_auth(url: str, timeout_s: int = 5) -> DatabaseAuth:
    """Ask the PostgreSQL server of ``url`` to admit the center's user with a deliberately
    wrong password. Why this and not pg_hba.conf: the file is on the database host, its view
    (``pg_hba_file_rules``) needs a superuser and shows rules, not which one matched; the
    answer to a wrong password is what the server really does, for this very connection,
    and any user can ask. The view is still read where allowed, to name the method."""
    require("postgres", POSTGRES_FEATURE)
    import psycopg  # lazy: the optional postgres extra, checked just above

    params = _libpq_params(url)
    params.pop("password", None)
    where = (f"{params.get('user', '(default user)')}@{params.get('host', '(local socket)')}"
             f":{params.get('port', 5432)}/{params.get('dbname', '')}")
    wrong = "aicenter-doctor-wrong-" + secrets.token_hex(12)
    try:
        conn = psycopg.connect(**params, password=wrong, connect_timeout=timeout_s)
    except psycopg.OperationalError as error:
        said = " ".join(str(error).split()) or repr(error)
        lower = said.lower()
        if "password authentication failed" in lower or "no password supplied" in lower:
            return DatabaseAuth(True, "password", where, "a wrong password is refused "
                                "(scram-sha-256, md5 or password)")
        for method in ("peer", "ident", "ldap", "radius", "pam", "gss", "sspi", "cert"):
            if f"{method} authentication failed" in lower:
                return DatabaseAuth(True, method, where, f"{method} authentication refuses a "
                                    "wrong identity")
        if "pg_hba.conf rejects" in lower:
            return DatabaseAuth(True, "reject", where, said)
        return DatabaseAuth(None, None, where, f"could not ask the server: {said}")
    try:
        socket = bool(conn.info.host.startswith("/"))
        found = _first_rule(conn, socket, conn.info.user, conn.info.dbname)
    finally:
        conn.close()
    if found is None and not socket:
        found = "trust"  # over TCP, only trust admits a wrong password without a cert
    return DatabaseAuth(False, found, where,
                        f"admitted with a wrong password (pg_hba.conf method "
                        f"{found or 'trust or peer'})")


TRUST_FIX = ("give this user a password method (scram-sha-256) in pg_hba.conf, ALTER ROLE ... "
             "PASSWORD '...', put the password in AICENTER_DATABASE_URL and reload "
             f"PostgreSQL; or, knowingly, set {ALLOW_TRUST_ENV}=true")


def trust_problem(auth: DatabaseAuth) -> str:
    """Why a ``trust`` database is refused: one text for doctor and serve."""
    return (f"the PostgreSQL server admits {auth.where} without checking its password "
            "(pg_hba.conf method trust): anyone who can reach it as that user can read and "
            "change every grant, token and ledger entry")


def check_database(settings: Settings) -> list[Check]:
    """SQLite: the file's mode and whether HOME's 0700 covers it. PostgreSQL: how the server
    authenticates our connection (:func:`database_auth`); ``trust`` fails."""
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        return [_check_sqlite(settings, url)]
    if not url.startswith("postgresql"):
        return [Check("database authentication", "warn", f"not checked for {url.split(':')[0]}",
                      "use PostgreSQL or SQLite")]
    if not installed("postgres"):
        return [Check("database authentication", "fail",
                      str(MissingExtraError("postgres", POSTGRES_FEATURE)),
                      install_command("postgres"))]
    auth = database_auth(url)
    name = "database authentication"
    if auth.password_checked is None:
        return [Check(name, "fail", f"{auth.where}: {auth.detail}",
                      "check AICENTER_DATABASE_URL and that PostgreSQL is running")]
    if auth.trust:
        allowed = settings.unsafe_allow_trust_database
        return [Check(name, "warn" if allowed else "fail",
                      f"{auth.where}: method trust, a wrong password was accepted"
                      + (f" ({ALLOW_TRUST_ENV} is set: the server starts anyway)" if allowed
                         else "; `aicenter serve` refuses to start"),
                      TRUST_FIX)]
    if auth.password_checked is False:
        return [Check(name, "warn", f"{auth.where}: {auth.detail}; over a Unix socket this "
                      "is peer (the server's OS user only) where pg_hba.conf says so",
                      "use scram-sha-256, or make sure the local line is peer, not trust")]
    return [Check(name, "ok", f"{auth.where}: {auth.detail}")]


def _check_sqlite(settings: Settings, url: str) -> Check:
    name = "database file"
    path = Path(url.removeprefix("sqlite:///"))
    home = settings.home.resolve()
    inside = home in path.resolve().parents
    fix = ("chmod 600 the database file (and its -wal, -shm) and keep it under HOME "
           "(leave AICENTER_DATABASE_URL empty); PostgreSQL with scram-sha-256 for a center "
           "with tenants")
    if not path.exists():
        return Check(name, "ok" if inside else "warn",
                     f"SQLite {path} not created yet (created 0600 at first start)"
                     + ("" if inside else "; outside HOME, so HOME's 0700 does not guard it"),
                     "" if inside else fix)
    loose = [f"{p} ({stat.filemode(p.stat().st_mode)})"
             for p in (path, path.with_name(path.name + "-wal"),
                       path.with_name(path.name + "-shm"))
             if p.exists() and loose_mode(p.stat().st_mode)]
    if loose:
        return Check(name, "fail" if not inside else "warn",
                     f"SQLite open to group/other: {', '.join(loose)}", fix)
    if not inside:
        return Check(name, "warn", f"SQLite {path} is outside HOME {home}: only its own mode "
                     "guards it", fix)
    return Check(name, "ok", f"SQLite {path}, 0600, under HOME")


# -- start-up --------------------------------------------------------------------------------


def refuse_trust_database(settings: Settings, warn: Callable[[str], None]) -> None:
    """A production start (``aicenter serve``) on PostgreSQL that admits a wrong password:
    raise ``InputError`` unless ``unsafe_allow_trust_database``, then ``warn`` loudly.
    Where the server cannot be asked, nothing is said: opening the database reports that."""
    if not settings.sqlalchemy_url.startswith("postgresql"):
        return
    auth = database_auth(settings.sqlalchemy_url)
    if not auth.trust:
        return
    if not settings.unsafe_allow_trust_database:
        raise InputError(f"refusing to start: {trust_problem(auth)}. To fix: {TRUST_FIX}",
                         field="unsafe_allow_trust_database")
    warn(f"UNSAFE: {ALLOW_TRUST_ENV} is set: starting although {trust_problem(auth)}")
