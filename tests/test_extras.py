"""Install what you use: the base install runs the center, each extra's feature says which
extra it needs. Absence is simulated in a subprocess whose ``sitecustomize`` (on PYTHONPATH)
puts a finder first on ``sys.meta_path`` that refuses the blocked modules, as an environment
without them would."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from aicenter.extras import EXTRAS, MissingExtraError, install_command, installed, require
from tests.conftest import EXAMPLES, REPO_ROOT

ALL_MODULES = tuple(m for extra in EXTRAS.values() for m in extra.modules)

BLOCKER = '''
import os
import sys

_BLOCKED = frozenset(filter(None, os.environ.get("AICENTER_TEST_BLOCKED", "").split(",")))


class _Blocker:
    """Refuses the blocked modules and their submodules: they look uninstalled."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None


sys.meta_path.insert(0, _Blocker())
'''

NAMES_TEXT = "담당자 김민수 씨가 서류를 보냈다.\n박지현 기자가 전했다.\n"


@pytest.fixture(scope="module")
def blocker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("blocker")
    (folder / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    return folder


def run(blocker: Path, blocked: Iterable[str], *args: str, home: Path,
        env: dict[str, str] | None = None, timeout: float = 180,
        ) -> subprocess.CompletedProcess[str]:
    """``aicenter ARGS`` in a fresh interpreter where the ``blocked`` modules are missing."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AICENTER_")}
    environment.update({
        "PYTHONPATH": str(blocker),
        "AICENTER_TEST_BLOCKED": ",".join(blocked),
        "AICENTER_HOME": str(home),
        **(env or {}),
    })
    code = "import sys; from aicenter.cli.main import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], env=environment, text=True,
                          capture_output=True, timeout=timeout, cwd=home.parent)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_pyproject_declares_exactly_the_extras_of_the_table() -> None:
    project = PROJECT
    optional = EXTRA_REQUIREMENTS
    assert set(optional) == set(EXTRAS) | {"all", "dev"}
    assert optional["all"] == [f"aicenter[{','.join(EXTRAS)}]"]
    assert "aicenter[all]" in optional["dev"]
    base = " ".join(project["dependencies"]).lower()
    for heavy in ("ray", "psycopg", "kiwipiepy", "mlcroissant", "matplotlib", "scipy"):
        assert heavy not in base.replace("[", " ").split(), heavy
    for extra in EXTRAS.values():
        assert extra.purpose and extra.modules


def _closure(requirements: Iterable[str], extra: str = "") -> set[str]:
    """The distributions ``requirements`` pull in (markers evaluated for ``extra``),
    followed through the installed distributions' own requirements."""
    found: set[str] = set()
    todo = [(Requirement(r), extra) for r in requirements]
    while todo:
        req, wanted = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": wanted}):
            continue
        name = canonicalize_name(req.name)
        if name == "aicenter":  # all = aicenter[...]: the extras it names
            for inner in req.extras:
                todo += [(Requirement(r), "") for r in EXTRA_REQUIREMENTS[inner]]
            continue
        if name in found and not req.extras:
            continue
        found.add(name)
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for wanted_extra in ("", *req.extras):
            todo += [(Requirement(r), wanted_extra) for r in requires]
    return found


PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
EXTRA_REQUIREMENTS: dict[str, list[str]] = PROJECT["optional-dependencies"]


def _imports(tree: ast.Module) -> Iterable[tuple[str, bool]]:
    """(top-level module, imported when the module is) of every absolute import; imports
    under ``if TYPE_CHECKING:`` are for mypy only and left out."""
    def walk(node: ast.AST, module_level: bool) -> Iterable[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                yield from ((a.name.partition(".")[0], module_level) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                yield child.module.partition(".")[0], module_level
            inner = module_level and not isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from walk(child, inner)
    return walk(tree, True)


def test_every_import_is_declared() -> None:
    """A module-level import of the code is a base dependency (or one of theirs); an extra's
    modules are imported inside functions only, after :func:`aicenter.extras.require`."""
    base = _closure(PROJECT["dependencies"])
    optional = set().union(*(_closure(EXTRA_REQUIREMENTS[name]) for name in EXTRAS))
    providers = importlib.metadata.packages_distributions()
    problems = []
    for path in sorted((REPO_ROOT / "src" / "aicenter").rglob("*.py")):
        for module, module_level in set(_imports(ast.parse(path.read_text()))):
            if module in sys.stdlib_module_names or module in ("aicenter", "__future__"):
                continue
            dists = {canonicalize_name(d) for d in providers.get(module, [])}
            where = path.relative_to(REPO_ROOT)
            if dists & base:
                continue
            if module_level or not dists & optional:
                problems.append(f"{where}: {module} ({', '.join(dists) or 'not installed'})")
    assert not problems, "imports no base dependency brings:\n" + "\n".join(problems)


def test_the_message_names_the_extra_and_the_pip_command() -> None:
    error = MissingExtraError("ray", "the ray backend")
    assert str(error) == "the ray backend needs the 'ray' extra: pip install 'aicenter[ray]'"
    assert install_command("korean-nlp") == "pip install 'aicenter[korean-nlp]'"
    require("plots", "a plot")  # the test environment has every extra (`.[dev]`)
    assert all(installed(name) for name in EXTRAS)


def test_the_blocker_really_hides_the_modules(blocker_dir: Path, tmp_path: Path) -> None:
    code = ("import importlib.util as u, aicenter.extras as e; "
            "print([e.installed(n) for n in e.EXTRAS])\n"
            "try:\n    import ray.job_submission\nexcept ModuleNotFoundError:\n"
            "    print('blocked')")
    env = {**os.environ, "PYTHONPATH": str(blocker_dir),
           "AICENTER_TEST_BLOCKED": ",".join(ALL_MODULES)}
    done = subprocess.run([sys.executable, "-c", code], env=env, text=True,
                          capture_output=True, timeout=60, check=True)
    assert done.stdout.split("\n")[:2] == [str([False] * len(EXTRAS)), "blocked"]


def test_base_runs_with_every_extra_missing(blocker_dir: Path, tmp_path: Path) -> None:
    """import, --help, plan, procure and simulate: the offline center needs no extra."""
    home = tmp_path / "home"
    helped = run(blocker_dir, ALL_MODULES, "--help", home=home)
    assert helped.returncode == 0 and "simulate" in helped.stdout, helped.stderr
    plan = run(blocker_dir, ALL_MODULES, "plan", "--model", "llama-3.1-8b", "--tokens", "1e12",
               "--chip", "nvidia-h100-sxm", "--count", "64", "--format", "json", home=home)
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)
    procure = run(blocker_dir, ALL_MODULES, "procure", "--offers", str(EXAMPLES / "offers.yaml"),
                  "--budget-krw", "3e11", "--format", "json", home=home)
    assert procure.returncode == 0, procure.stderr
    assert json.loads(procure.stdout)["capacity_h100e"] > 0


def test_simulate_writes_json_and_csv_and_says_the_pngs_need_plots(
    blocker_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sim"
    done = run(blocker_dir, ALL_MODULES, "simulate", "--synthetic", "30",
               "--cluster", "nvidia-h100-sxm=16,amd-mi300x=16", "--policy", "fifo",
               "--out", str(out), "--format", "json", home=tmp_path / "home")
    assert done.returncode == 0, done.stderr
    assert (out / "fifo.json").exists() and (out / "fifo_jobs.csv").exists()
    assert not list(out.glob("*.png"))
    assert "the 'plots' extra: pip install 'aicenter[plots]'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_demo_runs_on_the_base_install(blocker_dir: Path, tmp_path: Path) -> None:
    """The quick start's `aicenter demo` (server, SQLite, local backend, client, an upload
    scanned for PII and jobs reading it) needs no extra."""
    done = run(blocker_dir, ALL_MODULES, "demo", "--port", str(free_port()), "--home",
               str(tmp_path / "demo"), "--exit-when-done", home=tmp_path / "home", timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(": succeeded on") == 5, done.stdout


def test_ray_backend_without_ray(blocker_dir: Path, tmp_path: Path) -> None:
    """Refused at start, before the address and isolation checks (the first thing to fix)."""
    done = run(blocker_dir, ["ray"], "serve", "--backend", "ray", "--port", str(free_port()),
               home=tmp_path / "home", timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "error: the ray backend needs the 'ray' extra: pip install 'aicenter[ray]'")


def test_ingest_on_ray_without_ray(blocker_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "news.txt"
    source.write_text(NAMES_TEXT, encoding="utf-8")
    done = run(blocker_dir, ["ray"], "data", "ingest", str(source), "--dataset", "news",
               "--provider", "press", "--ray", home=tmp_path / "home")
    assert done.returncode == 2, done.stderr
    assert "ingest on Ray (--ray) needs the 'ray' extra: pip install 'aicenter[ray]'" in (
        done.stderr)
    assert "Traceback" not in done.stderr


def test_postgresql_without_psycopg(blocker_dir: Path, tmp_path: Path) -> None:
    done = run(blocker_dir, ["psycopg"], "serve", "--port", str(free_port()),
               home=tmp_path / "home",
               env={"AICENTER_DATABASE_URL": "postgresql+psycopg://center@127.0.0.1:9/center"})
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == ("error: a PostgreSQL database needs the 'postgres' extra: "
                                   "pip install 'aicenter[postgres]'")


def test_names_without_kiwipiepy(blocker_dir: Path, tmp_path: Path) -> None:
    """Default name detection needs no analyser; thorough mode says what it needs."""
    source = tmp_path / "memo.txt"
    source.write_text(NAMES_TEXT, encoding="utf-8")
    fast = run(blocker_dir, ["kiwipiepy"], "data", "scan", str(source), "--format", "json",
               home=tmp_path / "home")
    assert fast.returncode == 0, fast.stderr
    assert json.loads(fast.stdout)["counts"].get("person_name") == 2
    thorough = run(blocker_dir, ["kiwipiepy"], "data", "scan", str(source),
                   "--thorough-names", home=tmp_path / "home")
    assert thorough.returncode == 2, thorough.stderr
    assert thorough.stderr.strip() == (
        "error: thorough person-name detection (kiwipiepy) needs the 'korean-nlp' extra: "
        "pip install 'aicenter[korean-nlp]'")


def test_croissant_validation_without_mlcroissant(blocker_dir: Path, tmp_path: Path) -> None:
    document = tmp_path / "meta.json"
    document.write_text('{"name": "x"}', encoding="utf-8")
    done = run(blocker_dir, ["mlcroissant"], "data", "croissant", "validate", str(document),
               home=tmp_path / "home")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "error: checking a Croissant document with mlcroissant needs the 'croissant' extra: "
        "pip install 'aicenter[croissant]'")
