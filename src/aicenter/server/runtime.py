"""The server's runtime: its execution backend and the background loops (scheduling rounds,
idle-grant reclaim, upload ingest) in daemon threads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from aicenter.backends import CenterSite, default_registry
from aicenter.backends.local import egress
from aicenter.backends.local.config import job_isolation as local_job_isolation
from aicenter.backends.local.isolation import JobIsolation
from aicenter.exchange.gateway import ensure_socket_dir
from aicenter.services.audit import PeriodicCheckpoint
from aicenter.services.context import ServiceContext
from aicenter.services.grant import reclaim_idle
from aicenter.services.scheduling import make_policy, recover, run_round
from aicenter.services.upload import UploadRunner
from aicenter.settings import Settings

log = logging.getLogger("aicenter.loop")

RECLAIM_EVERY_S = 3600.0


def private_paths(settings: Settings) -> tuple[Path, ...]:
    """What jobs must not see: HOME (dataset store, meter logs, grants, keys, runs, tokens) and
    a SQLite database kept elsewhere (with its WAL files, if they exist when a job starts)."""
    paths = [settings.home]
    url = settings.sqlalchemy_url
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        if db.is_absolute() and settings.home not in db.parents:
            paths += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    return tuple(paths)


def attach_backend(ctx: ServiceContext) -> None:
    """Build ``ctx.backend`` from the settings, with the center's pools as accelerator slots."""
    with ctx.db.transaction(write=False) as tx:
        pools = tx.pools.list()
    slots: dict[str, int] = {}
    for pool in pools:
        slots[pool.chip_id] = slots.get(pool.chip_id, 0) + pool.chip_count
    registry = default_registry()
    if ctx.settings.job_egress != "none" and \
            registry.capabilities(ctx.settings.backend).gives_egress:
        open_egress(ctx.settings)
    site = CenterSite(state_dir=ctx.settings.home / "runs", slots_by_chip=slots,
                      hidden=private_paths(ctx.settings), job_read_only=(ensure_socket_dir(),),
                      clock=lambda: ctx.clock.now(),  # follows a replaced clock
                      performance=ctx.performance)
    ctx.backend = registry.from_settings(ctx.settings, site)


def job_isolation(settings: Settings) -> JobIsolation:
    """How the local backend boxes jobs, from the settings (see ``job_isolation``)."""
    return local_job_isolation(settings, private_paths(settings), (ensure_socket_dir(),))


def open_egress(settings: Settings) -> None:
    """Install the host rules under which egress jobs cannot reach the host, other jobs or
    the control plane (:mod:`aicenter.backends.local.egress`), and check they hold; raises
    :class:`~aicenter.backends.local.egress.EgressError` (the server does not start) if not."""
    egress.ensure_host_rules(egress.control_plane_cidrs(settings.database_url,
                                                        settings.job_egress_deny))
    reason = egress.probe()
    if reason is not None:
        raise egress.EgressError(f"job_egress = {settings.job_egress!r} but egress cannot be "
                                 f"given safely on this host: {reason}")


class SchedulingLoop:
    """Runs :func:`run_round` every ``scheduler_interval_s`` in a daemon thread, and keeps the
    audit log signed (:class:`~aicenter.services.audit.PeriodicCheckpoint`): every
    ``audit_checkpoint_interval_s`` and once more when it stops."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.audit = PeriodicCheckpoint(ctx)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        self.errors = 0

    def start(self) -> None:
        recover(self.ctx)
        self._thread = threading.Thread(target=self._run, name="aicenter-loop", daemon=True)
        self._thread.start()
        # Uploads are ingested beside the loop, so by exactly one process of the center.
        self.uploads = UploadRunner(self.ctx)
        self.ctx.wake_uploads = self.uploads.wake
        self.uploads.start()

    def stop(self) -> None:
        self._stop.set()
        uploads = getattr(self, "uploads", None)
        if uploads is not None:
            uploads.stop()
        if self._thread is not None:
            self._thread.join(timeout=30)
        try:  # a clean shutdown leaves every entry under a signed checkpoint
            self.audit.final()
        except Exception:
            log.exception("final audit checkpoint failed")

    def _run(self) -> None:
        policy = make_policy(self.ctx)
        since_reclaim = RECLAIM_EVERY_S
        interval = self.ctx.settings.scheduler_interval_s
        while not self._stop.is_set():
            try:
                run_round(self.ctx, policy)
                since_reclaim += interval
                if since_reclaim >= RECLAIM_EVERY_S:
                    reclaim_idle(self.ctx)
                    since_reclaim = 0.0
            except Exception:  # keep the loop alive; the next round retries
                self.errors += 1
                log.exception("scheduling round failed")
            try:
                self.audit.tick()
            except Exception:  # a tampered log is refused a checkpoint: say so every round
                self.errors += 1
                log.exception("audit checkpoint failed")
            self.rounds += 1
            self._stop.wait(interval)


def loop_hooks(ctx: ServiceContext) -> tuple[Callable[[], None] | None, Callable[[], None] | None]:
    """Start/stop callbacks of the scheduling loop for the app's lifespan."""
    loop = SchedulingLoop(ctx)
    return loop.start, loop.stop
