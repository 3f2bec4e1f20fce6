"""HTTP API: FastAPI app factory, thin routers under /api/v1, OpenAPI at /docs."""

from aicenter.api.app import create_app

__all__ = ["create_app"]
