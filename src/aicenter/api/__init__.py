"""HTTP API: FastAPI app factory, thin routers under /api/v1, OpenAPI at /docs.

``create_app`` is imported on first use (PEP 562), not with the package: importing any module
under ``aicenter.api`` (its schemas, say) must not pull in FastAPI, the routers and storage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aicenter.api.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from aicenter.api.app import create_app  # lazy: schemas' importers skip FastAPI

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
