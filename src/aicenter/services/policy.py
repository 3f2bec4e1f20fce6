"""The center's Cedar policies as the operator reads and changes them.

The policies in force are the newest version stored in the database (``aicenter policy
set``), or the packaged ``policies.cedar`` while none is. Every text is validated against the
schema before it is used: a stored version that no longer validates (a schema changed by an
upgrade) stops the server at start with the policy and line at fault (:func:`load_active`),
and a text that does not validate is never stored. A change is one transaction: the new
version and its ``policy.changed`` entry (old and new sha256) in the log; the process that
made it uses it at once and every other worker within :data:`RELOAD_S`
(:class:`PolicyWatcher`).
"""

from __future__ import annotations

import logging
import threading

from aicenter.domain.policy import PolicyVersion
from aicenter.policy import Resource
from aicenter.policy.source import (
    PolicyInvalidError,
    packaged_policies,
    require_valid,
    sha256_of,
)
from aicenter.services import audit
from aicenter.services.context import Caller, ServiceContext

RELOAD_S = 2.0
"""How often each server process looks for a version set by another process."""

POLICY = Resource("Policy", "active")

log = logging.getLogger("aicenter.policy")


def active(ctx: ServiceContext) -> PolicyVersion:
    """The version in force in this process (version 0: the packaged policies)."""
    text = ctx.authz.text
    if ctx.authz.version == 0:
        return PolicyVersion(0, text, sha256_of(text), None, None)
    with ctx.db.transaction(write=False) as tx:
        stored = tx.policies.latest()
    if stored is not None and stored.version == ctx.authz.version:
        return stored
    return PolicyVersion(ctx.authz.version, text, sha256_of(text), None, None)


def show(ctx: ServiceContext, caller: Caller) -> PolicyVersion:
    """The policy text in force, its version and sha256 (everyone signed in, as the
    policies allow: what decides is no secret)."""
    caller.check(ctx, "policy:read", POLICY)
    refresh(ctx)
    return active(ctx)


def versions(ctx: ServiceContext, caller: Caller) -> list[PolicyVersion]:
    """Every version set, oldest first, after the packaged one (version 0)."""
    caller.check(ctx, "policy:read", POLICY)
    text = packaged_policies()
    with ctx.db.transaction(write=False) as tx:
        stored = tx.policies.list()
    return [PolicyVersion(0, text, sha256_of(text), None, None), *stored]


def set_policy(ctx: ServiceContext, caller: Caller, text: str) -> PolicyVersion:
    """Store ``text`` as the next version and use it from now on (operators). Refused with
    each problem's policy and line if it does not validate against the schema."""
    caller.check(ctx, "policy:set", POLICY)
    require_valid(text, "the policy text")
    with ctx.db.transaction() as tx:
        old = tx.policies.latest()
        old_sha = old.sha256 if old is not None else sha256_of(packaged_policies())
        version = PolicyVersion((old.version if old is not None else 0) + 1, text,
                                sha256_of(text), ctx.clock.now(), caller.person.id)
        tx.policies.add(version)
        audit.changed(ctx, tx, caller, "policy.changed", "policy", str(version.version),
                      None, old_sha256=old_sha, new_sha256=version.sha256,
                      old_version=version.version - 1)
    ctx.authz.load(text, version.version)
    log.info("policies version %d (sha256 %s) set by %s", version.version, version.sha256,
             caller.person.id)
    return version


def load_active(ctx: ServiceContext) -> None:
    """At start: validate the policies in force (the newest stored version, else the
    packaged ones) against the schema and use them; raises
    :class:`~aicenter.policy.source.PolicyInvalidError` naming the version, the policy and
    the line, so the server does not start on policies it cannot check."""
    with ctx.db.transaction(write=False) as tx:
        stored = tx.policies.latest()
    if stored is None:
        require_valid(ctx.authz.text, "policies.cedar (packaged)")
        return
    require_valid(stored.text, f"the database's policy version {stored.version}")
    ctx.authz.load(stored.text, stored.version)


def refresh(ctx: ServiceContext) -> bool:
    """Use a version another process stored since this one loaded its own; True if it did.
    A stored version that does not validate is not used (and said so in the log)."""
    with ctx.db.transaction(write=False) as tx:
        if tx.policies.latest_version() <= ctx.authz.version:
            return False
        stored = tx.policies.latest()
    if stored is None or stored.version <= ctx.authz.version:
        return False
    try:
        require_valid(stored.text, f"the database's policy version {stored.version}")
    except PolicyInvalidError as exc:
        log.error("not using policy version %d: %s", stored.version, exc)
        return False
    ctx.authz.load(stored.text, stored.version)
    log.info("policies version %d (sha256 %s) loaded", stored.version, stored.sha256)
    return True


class PolicyWatcher:
    """A daemon thread of each server process that calls :func:`refresh` every
    :data:`RELOAD_S`, so a version set through one worker reaches every worker."""

    def __init__(self, ctx: ServiceContext, interval_s: float = RELOAD_S) -> None:
        self.ctx = ctx
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="policy-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                refresh(self.ctx)
            except Exception:  # a database briefly away: try again next time
                log.warning("could not look for new policies", exc_info=True)
