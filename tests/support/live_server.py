"""A real server on a loopback port for the tests that talk HTTP to it (the client, the CLI,
the escape suite, bad input on the wire): uvicorn in a thread of the test process.

:class:`LiveServer` serves any app; :func:`live_center` builds the whole server as ``aicenter
serve`` does (database, operator token, scheduling loop) and points the client's environment
at it. The ``live_center`` fixture of ``tests/conftest.py`` is built on it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

from aicenter.server.process import Server, build_server
from aicenter.settings import Settings

START_TIMEOUT_S = 20.0


def free_port() -> int:
    """A loopback port nothing listens on now (the OS's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """``app`` served by uvicorn on 127.0.0.1 (a free port unless given), in a daemon
    thread, with its lifespan: ``with LiveServer(app) as live: ... live.url``."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port if port is not None else free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=START_TIMEOUT_S)


@contextmanager
def live_center(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """The server ``aicenter serve`` would build from ``settings``, live on a free port, with
    AICENTER_URL and AICENTER_TOKEN (the first operator's token) set for the client and the
    CLI; its database closed at the end."""
    built = build_server(settings)
    assert built.operator_token, "the database was not empty: no operator token written"
    try:
        with LiveServer(built.app) as live:
            monkeypatch.setenv("AICENTER_URL", live.url)
            monkeypatch.setenv("AICENTER_TOKEN", built.operator_token)
            yield built
    finally:
        built.ctx.db.dispose()
