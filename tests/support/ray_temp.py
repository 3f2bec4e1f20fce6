"""A short temporary directory for a Ray head's sessions: Ray puts AF_UNIX sockets in it, whose
paths may not exceed 107 bytes, and pytest's own temporary paths (longer under xdist:
``/tmp/pytest-of-root/pytest-N/popen-gw0/...``) leave too little room for Ray's
``session_<date>_<pid>/sockets/dash_MetricsHead``."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def short_ray_dir() -> Iterator[Path]:
    # Ray writes /tmp/ray/ray_current_cluster whatever temp_dir says, and fails if /tmp/ray is
    # missing (a fresh machine, or a /tmp cleaned since the last Ray head)
    Path("/tmp/ray").mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
