"""The exchange's seam: its pure modules import no I/O module of the exchange, nor SQLAlchemy,
FastAPI, PyArrow, sockets or subprocesses (see the package docstring for the split)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import aicenter.exchange

ROOT = Path(aicenter.exchange.__file__).parent
PURE = [
    "contract", "dedup", "evaluation", "licence", "output_check", "output_text", "processing",
    "pseudonymise", "name_corpus", "records", "report", "scan", "stats", "synthetic", "tdm",
    *(f"pii.{p.stem}" for p in sorted((ROOT / "pii").glob("*.py")) if p.stem != "__init__"),
]  # fmt: skip
IO = ["croissant", "dedup_index", "file_formats", "gateway", "gateway_client", "ingest", "meter",
      "reader", "store"]  # fmt: skip
FORBIDDEN = (
    "sqlalchemy", "fastapi", "pyarrow", "socket", "subprocess", "fcntl", "aicenter.storage",
    "aicenter.services", "aicenter.api", *(f"aicenter.exchange.{m}" for m in IO),
)  # fmt: skip


def _imports(module: str) -> set[str]:
    path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_every_module_is_classified() -> None:
    modules = {p.stem for p in ROOT.glob("*.py") if p.stem != "__init__"}
    assert modules == {m for m in PURE if "." not in m} | set(IO) | {"royalty"}


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_no_io(module: str) -> None:
    bad = {i for i in _imports(module) for f in FORBIDDEN if i == f or i.startswith(f + ".")}
    assert not bad, f"{module} imports {sorted(bad)}"


def test_modules_stay_small() -> None:
    for path in ROOT.rglob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 600, path.name
