"""``aicenter serve``: run the API server (and its scheduling loop) in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aicenter.server.process import serve as run_server
from aicenter.settings import Settings


def serve(
    port: Annotated[int | None, typer.Option(help="Port (default 8000 or AICENTER_PORT)")] = None,
    host: Annotated[str | None, typer.Option(help="Address (default 127.0.0.1)")] = None,
    home: Annotated[Path | None, typer.Option(help="State directory (AICENTER_HOME)")] = None,
    backend: Annotated[str | None, typer.Option(help="Execution backend: local or ray")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="API worker processes (default 1 "
                                                "or AICENTER_WORKERS); the scheduling loop runs "
                                                "in one of them, the others stand by")] = None,
    pools: Annotated[Path | None, typer.Option(
        "--pools", help="YAML file of the center's pools (AICENTER_POOLS_FILE), added or "
        "updated at start: pools: [{chip, count, site, country, id}]")] = None,
) -> None:
    """Run the center's API server on 127.0.0.1:8000 (OpenAPI docs at /docs)."""
    overrides: dict[str, object] = {}
    for key, value in (("port", port), ("host", host), ("home", home), ("backend", backend),
                       ("pools_file", pools)):
        if value is not None:
            overrides[key] = value
    settings = Settings(**overrides)  # type: ignore[arg-type]
    run_server(settings, workers or settings.workers)
