"""Fixtures of the backend tests: unique run ids."""

from __future__ import annotations

import re
import uuid

import pytest


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> str:
    """A run id unique across the session (Ray clusters outlive a single test)."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:60].strip("-")
    return f"{name}-{uuid.uuid4().hex[:8]}"
