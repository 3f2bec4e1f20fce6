"""The public Python API: a typed HTTP client of the aicenter server."""

from aicenter.client.http import ApiError, Client

__all__ = ["ApiError", "Client"]
