"""The center serves every script, style and font of its pages itself: no rendered page and
none of its own static files names another host, and /docs and /redoc load the vendored
Swagger UI and ReDoc (the browser test checks they load nothing from elsewhere)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aicenter.server.process import build_server
from aicenter.settings import Settings

STATIC = Path(__file__).parents[2] / "src" / "aicenter" / "web" / "static"
URL = re.compile(r"https?://[^\s\"'<>)]+")
ALLOWED = ("http://www.w3.org/",)  # XML namespaces of the inline SVG charts: not fetched


def outside(text: str) -> list[str]:
    return [u for u in URL.findall(text)
            if not u.startswith(ALLOWED) and not re.match(r"https?://(127\.0\.0\.1|testserver)",
                                                          u)]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    built = build_server(Settings(home=tmp_path_factory.mktemp("offline") / "home"),
                         run_loop=False)
    assert built.operator_token
    with TestClient(built.app) as c:
        yield c, built.operator_token
    built.ctx.db.dispose()


def test_rendered_pages_name_no_other_host(client: tuple[TestClient, str]) -> None:
    c, token = client
    pages = {"/login": c.get("/login").text}
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', pages["/login"])
    assert csrf
    assert c.post("/login", data={"token": token, "csrf_token": csrf.group(1)}).status_code == 200
    for path in ("/", "/jobs", "/grants", "/usage", "/docs", "/redoc", "/nowhere"):
        pages[path] = c.get(path).text
    for path, text in pages.items():
        assert outside(text) == [], path
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in pages["/docs"]
    assert "/static/vendor/redoc/redoc.standalone.js" in pages["/redoc"]
    for asset in ("/static/vendor/swagger-ui/swagger-ui-bundle.js",
                  "/static/vendor/swagger-ui/swagger-ui.css",
                  "/static/vendor/redoc/redoc.standalone.js", "/static/docs.js"):
        assert c.get(asset).status_code == 200, asset


def test_own_static_files_name_no_other_host() -> None:
    own = [p for p in STATIC.rglob("*") if p.is_file() and "vendor" not in p.parts
           and p.suffix in (".css", ".js", ".html")]
    assert own
    for path in own:
        if path.name == "htmx.min.js":
            continue  # vendored too (static/README.txt); it fetches only what pages ask for
        assert outside(path.read_text(encoding="utf-8")) == [], path
    for licence in ("swagger-ui/LICENSE", "redoc/LICENSE"):
        assert (STATIC / "vendor" / licence).is_file()
