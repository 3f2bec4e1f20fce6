"""What this host can enforce for the center, checked the way the server would use it.

``aicenter doctor`` prints :func:`host_report`; ``aicenter serve`` calls
:func:`refuse_trust_database` before it touches the database. Every check runs the real
thing where it can (a namespace is unshared in a child process, the contained box runs a probe
job, the database is asked to admit a wrong password) rather than reading configuration files
that may not say what the kernel or the server actually does.

A :class:`Check` is ``ok`` (enforced), ``warn`` (works, but weaker than it should be or not
verifiable) or ``fail`` (the center cannot protect jobs or its data this way; the server
refuses to start or to run jobs, or should). Its ``fix`` names the setting or command.
"""

from __future__ import annotations

from aicenter.services.doctor.check import Check, Status, worst
from aicenter.services.doctor.database import (
    DatabaseAuth,
    check_database,
    database_auth,
    refuse_trust_database,
    trust_problem,
)
from aicenter.services.doctor.host import (
    check_cgroups,
    check_contained_box,
    check_home,
    check_id_ranges,
    check_namespaces,
    check_network,
    check_root,
    check_scheduler,
    check_unsafe_settings,
)
from aicenter.settings import Settings

__all__ = ["Check", "DatabaseAuth", "Status", "database_auth", "host_report",
           "refuse_trust_database", "trust_problem", "worst"]


def host_report(settings: Settings) -> list[Check]:
    """Every check, in the order an operator fixes them."""
    return [check_root(settings), *check_namespaces(), check_contained_box(settings),
            check_cgroups(settings), *check_id_ranges(settings), check_network(settings),
            *check_database(settings), *check_home(settings), check_scheduler(settings),
            check_unsafe_settings(settings)]
