"""The architecture of DESIGN.md, checked on the source by static analysis (ast).

* Rule 2: a server-rendered page calls only service functions that some API router calls too
  (everything a page shows or does is also in the API).
* The layers: the import graph between aicenter's packages (module-level and function-level
  imports, :mod:`benchmarks.import_graph`) has no cycle, and no package imports one above it.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "aicenter"


def _import_graph() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_graph",
                                                  ROOT / "benchmarks" / "import_graph.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("import_graph", module)
    spec.loader.exec_module(module)
    return module


graph_tool = _import_graph()

# -- rule 2: no page-only service functions --------------------------------------------------


def service_calls(paths: list[Path]) -> dict[str, set[str]]:
    """``services.<module>.<function>`` → the files that call it: through a module alias
    (``from aicenter.services import job as svc``; ``svc.cancel(...)``) or a name imported
    from a service module (``from aicenter.services.org import authenticate``)."""
    found: dict[str, set[str]] = {}
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules: dict[str, str] = {}  # local alias -> services module
        functions: dict[str, str] = {}  # local name -> services.module.function
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "aicenter.services":
                    for alias in node.names:
                        modules[alias.asname or alias.name] = alias.name
                elif node.module.startswith("aicenter.services."):
                    module = node.module.removeprefix("aicenter.services.")
                    for alias in node.names:
                        functions[alias.asname or alias.name] = f"{module}.{alias.name}"
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = None
            if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    and func.value.id in modules):
                name = f"{modules[func.value.id]}.{func.attr}"
            elif isinstance(func, ast.Name) and func.id in functions:
                name = functions[func.id]
            if name is not None and name.split(".")[-1][:1].islower():  # a function
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def use_cases() -> set[str]:
    """``module.function`` of every service function that takes the ``ctx`` (a use case;
    pure helpers such as ``usage.month_bounds`` are not)."""
    found = set()
    for path in sorted((SRC / "services").rglob("*.py")):
        module = ".".join(path.relative_to(SRC / "services").with_suffix("").parts)
        module = module.removesuffix(".__init__")
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (isinstance(node, ast.FunctionDef) and node.args.args
                    and node.args.args[0].arg == "ctx"):
                found.add(f"{module}.{node.name}")
    return found


PAGE_ONLY_MODULES = {
    "web_session": "browser sessions: the API authenticates each request with its bearer "
                   "token and has no session to start, resume or end",
}
"""Service modules only the pages may call, each with the reason it has no API route."""


def test_pages_call_only_service_functions_the_api_calls() -> None:
    cases = use_cases()
    pages = {n: f for n, f in service_calls(sorted((SRC / "web").rglob("*.py"))).items()
             if n in cases and n.split(".")[0] not in PAGE_ONLY_MODULES}
    api = service_calls(sorted((SRC / "api").rglob("*.py")))
    assert pages, "the pages call no service function: the analysis is broken"
    page_only = {name: sorted(files) for name, files in pages.items() if name not in api}
    assert not page_only, (
        "DESIGN rule 2: a page calls a service function no API router calls (put what the "
        f"page shows or does in the API too): {page_only}")


# -- layers ----------------------------------------------------------------------------------

LAYER = {
    "domain": 0,
    "extras": 1, "settings": 1, "extensions": 1, "catalog": 1, "client": 1,
    "fleet": 2, "planner": 2, "ledger": 2, "policy": 2,
    "scheduler": 3, "exchange": 3,
    "simulator": 4, "storage": 4,
    "backends": 5,
    "services": 6,
    "api": 7,
    "web": 8,
    "server": 9,
    "cli": 10,
}
"""DESIGN.md's layers, low to high: a package imports only packages of a lower layer. The
core (domain, catalog, fleet, planner, scheduler, simulator, exchange's pure parts) is below
ledger, policy and storage; within the core, lower means more basic (the scheduler reads the
planner's throughput, the simulator runs the scheduler). The client is a leaf over the domain
(its models are what the API re-exports as schemas)."""

ONLY = {
    "client": {"domain"},
    "cli": {"client", "domain", "catalog", "fleet", "planner", "scheduler", "simulator",
            "extras", "settings"},
}
"""Packages held to a narrower set than their layer allows: the client imports nothing of the
server; the CLI reaches the center through the client (the offline commands run the core)."""

CLI_IN_PROCESS = {
    "aicenter.cli.serve": "runs the server in this process",
    "aicenter.cli.demo": "runs a sample server in this process",
    "aicenter.cli.doctor": "checks this host the way the server would, without a server",
    "aicenter.cli.dataset": "scans and ingests local files offline "
                            "(dataset scan|ingest|croissant)",
    "aicenter.cli.policy": "validates and tests policy files on this machine against the "
                           "schema shipped with aicenter (policy validate|test)",
    "aicenter.cli.audit": "checks the audit log's proofs on this machine, trusting no server "
                          "(issue 15, being written)",
}
"""CLI modules allowed past :data:`ONLY`, each with its reason."""

def test_every_package_has_a_layer() -> None:
    graph = graph_tool.package_graph()
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    packages |= {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    assert not (packages - set(LAYER)), f"give these packages a layer: {packages - set(LAYER)}"
    assert set(graph) <= set(LAYER)


def test_no_cycle_between_packages() -> None:
    assert graph_tool.cycles(graph_tool.package_graph()) == []


def test_no_package_imports_one_above_it() -> None:
    wrong: dict[tuple[str, str], list[str]] = {}
    for edge in graph_tool.edges():
        source, target = edge.source_package, edge.target_package
        if target in (source, "aicenter"):
            continue
        allowed = LAYER[target] < LAYER[source]
        if source in ONLY:
            allowed = target in ONLY[source] or (
                source == "cli" and edge.source in CLI_IN_PROCESS and allowed)
        if not allowed:
            wrong.setdefault((source, target), []).append(
                f"{edge.source}:{edge.line} imports {edge.target}")
    assert not wrong, f"imports against the layers: {wrong}"


def test_routers_use_domain_types_not_storage_rows() -> None:
    """Routers parse, authorise, call one service and serialise domain objects (rule 2)."""
    on_storage = {f"{e.source}:{e.line} imports {e.target}" for e in graph_tool.edges()
                  if e.source.startswith("aicenter.api.") and e.target_package == "storage"}
    assert not on_storage, f"the API imports storage: {sorted(on_storage)}"


def test_the_client_imports_only_the_domain() -> None:
    graph = graph_tool.package_graph()
    assert graph.get("client", set()) <= {"domain"}


def test_no_import_hides_in_a_function_without_a_reason() -> None:
    """In storage, services, api, web, server, client and cli an import inside a function
    is for start-up cost only, and says so (``# lazy: why``) on its line or just above."""
    layers = ("storage", "services", "api", "web", "server", "client", "cli")
    hidden = []
    for edge in graph_tool.edges():
        if not edge.in_function or edge.source_package not in layers:
            continue
        path = SRC.parent / (edge.source.replace(".", "/") + ".py")
        if not path.exists():
            path = path.with_suffix("") / "__init__.py"
        lines = path.read_text(encoding="utf-8").splitlines()
        context = lines[max(edge.line - 6, 0):edge.line]
        if not any("# lazy" in line for line in context):
            hidden.append(f"{edge.source}:{edge.line} imports {edge.target}")
    assert not hidden, f"imports inside functions without '# lazy: why': {hidden}"
