"""The client is a leaf: importing it, running ``aicenter --help`` or loading the CLI's remote
commands never imports the server, storage, SQLAlchemy, the scanner or the heavy numerics.

Each check runs in a fresh interpreter, so modules an earlier test imported do not count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from aicenter.client.http import DEFAULT_URL, Client, endpoint_from_environment
from aicenter.settings import Settings

FORBIDDEN = ("sqlalchemy", "fastapi", "starlette", "pyarrow", "scipy", "matplotlib", "ray",
             "highspy", "cedarpy", "alembic", "kiwipiepy", "uvicorn", "aicenter.storage",
             "aicenter.api.app", "aicenter.exchange.pii")

REPORT = """
import json, sys
print(json.dumps({"modules": len(sys.modules),
                  "forbidden": sorted(m for m in sys.modules
                                      if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))}))
"""


def imported(code: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; the module count and the forbidden modules it
    imported."""
    script = f"FORBIDDEN = {FORBIDDEN!r}\n{code}\n{REPORT}"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize("code", [
    "import aicenter.client",
    "from aicenter.client import Client",
    "import aicenter.client.models",
    "import aicenter.api.schemas",
])
def test_the_client_imports_nothing_of_the_server(code: str) -> None:
    report = imported(code)
    print(f"{code}: {report['modules']} modules")
    assert report["forbidden"] == []


def test_aicenter_help_imports_nothing_heavy() -> None:
    report = imported(
        "import contextlib, io\n"
        "from aicenter.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    assert main(['--help']) == 0\n"
        "assert 'proposals' in out.getvalue()\n")
    print(f"aicenter --help: {report['modules']} modules")
    assert report["forbidden"] == []


@pytest.mark.parametrize("module", [
    "aicenter.cli.job", "aicenter.cli.org", "aicenter.cli.call", "aicenter.cli.grant",
    "aicenter.cli.pool", "aicenter.cli.share", "aicenter.cli.usage",
    "aicenter.cli.dataset_exchange",
])
def test_remote_commands_import_nothing_of_the_server(module: str) -> None:
    report = imported(f"import {module}\nimport aicenter.cli.main")
    print(f"{module}: {report['modules']} modules")
    assert report["forbidden"] == []


def test_aicenter_version_does_not_import_the_server() -> None:
    report = imported(
        "import contextlib, io\n"
        "from aicenter.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['version']) == 0\n")
    assert report["forbidden"] == []


@pytest.mark.parametrize("env", [
    {},
    {"AICENTER_URL": "http://10.0.0.5:9000/", "AICENTER_TOKEN": "tok"},
    {"aicenter_url": "http://lower:1", "Aicenter_Token": "mixed"},
    {"AICENTER_TOKEN": ""},
])
def test_the_client_reads_url_and_token_as_settings_do(
        env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.lower().startswith("aicenter_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert endpoint_from_environment() == (settings.url, settings.token)
    with Client() as c:
        assert (c.url, c.token) == (settings.url.rstrip("/"), settings.token)


def test_default_url_is_the_settings_default() -> None:
    assert Settings.model_fields["url"].default == DEFAULT_URL
