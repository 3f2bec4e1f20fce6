"""Optional dependencies: which extra brings which module, and the error when one is missing.

``pip install aicenter`` gives the center (SQLite, the local backend, CLI, planner, scoring,
procurement, simulator, API server, the exchange with its PII scanner). A few features need
large packages most users never touch; they come with an extra (``pip install
'aicenter[ray]'``), listed in :data:`EXTRAS` and in ``pyproject.toml`` (a test keeps the two
equal). A feature that needs one calls :func:`require` before importing it, so a user without
the extra reads one line naming the extra and the pip command (exit code 2 in the CLI, since
:class:`MissingExtraError` is an input error), never an ImportError traceback.

This module imports only the standard library and the domain's errors: the core may use it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from aicenter.domain.errors import InputError


@dataclass(frozen=True, slots=True)
class Extra:
    """One optional extra: its name in ``pip install 'aicenter[NAME]'``, the top-level modules
    whose presence means it is installed, and what it is for (for ``doctor`` and the docs)."""

    name: str
    modules: tuple[str, ...]
    purpose: str


EXTRAS: dict[str, Extra] = {
    extra.name: extra
    for extra in (
        Extra("ray", ("ray",), "the ray backend and ingest on Ray (dataset ingest --ray)"),
        Extra("postgres", ("psycopg",), "a PostgreSQL database (postgresql+psycopg:// URLs)"),
        Extra("korean-nlp", ("kiwipiepy",),
              "thorough Korean person-name detection (dataset scan --thorough-names)"),
        Extra("croissant", ("mlcroissant",),
              "checking Croissant documents with mlcroissant (dataset croissant validate)"),
        Extra("plots", ("matplotlib",), "the simulator's PNG plots (simulate --out)"),
    )
}


class MissingExtraError(InputError):
    """A feature was asked for whose extra is not installed. An input error: the request
    cannot be served as configured, and the fix is the pip command in the message."""

    def __init__(self, extra: str, feature: str) -> None:
        self.extra = extra
        self.feature = feature
        super().__init__(f"{feature} needs the '{extra}' extra: {install_command(extra)}")


def install_command(extra: str) -> str:
    """The command that installs ``extra`` (quoted: the brackets are a shell glob)."""
    return f"pip install 'aicenter[{extra}]'"


def installed(extra: str) -> bool:
    """Whether every module of ``extra`` can be imported, without importing it (a finder
    lookup: cheap enough for start-up checks, unlike importing Ray)."""
    for module in EXTRAS[extra].modules:
        try:
            if importlib.util.find_spec(module) is None:
                return False
        except (ImportError, ValueError):  # blocked, or a stub left in sys.modules
            return False
    return True


def require(extra: str, feature: str) -> None:
    """Raise :class:`MissingExtraError` for ``feature`` unless ``extra`` is installed."""
    if not installed(extra):
        raise MissingExtraError(extra, feature)
