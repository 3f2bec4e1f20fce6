"""Screenshots of the portal's main pages, in Korean, for the README.

Starts ``aicenter demo`` (a sample center on SQLite with pools, organisations, a reviewed
call, grants, finished jobs and the data exchange) on a free port, adds one long job so the
overview shows a busy pool, then drives Debian's chromium through Playwright and saves one
PNG per page (viewport 1280x800) in docs/screenshots/; the demo is stopped at the end.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Needs chromium (``apt-get install chromium``, or AICENTER_CHROMIUM=path) and a Korean font
(``apt-get install fonts-nanum``): without one the Korean text renders as empty boxes."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aicenter.client import Client

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

ROOT = Path(__file__).resolve().parent.parent
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
DEMO_TIMEOUT_S = 600


@dataclass
class Demo:
    url: str
    operator_token: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_center(home: Path) -> Iterator[Demo]:
    """``aicenter demo`` in a child process until its setup is done (it prints the token to
    export); stopped with SIGINT, as Ctrl-C would, when the block ends."""
    port = free_port()
    command = [sys.executable, "-c", "from aicenter.cli.main import run; run()", "demo",
               "--port", str(port), "--home", str(home)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, encoding="utf-8", errors="replace")
    token: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("export AICENTER_TOKEN="):
                token.append(line.split("=", 1)[1].strip())
                ready.set()
        ready.set()  # the demo ended (its output is over)

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(DEMO_TIMEOUT_S) or not token:
            raise SystemExit(f"aicenter demo did not finish its setup (exit {child.poll()})")
        yield Demo(f"http://127.0.0.1:{port}", token[0])
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def busy_overview(demo: Demo) -> str:
    """An SME's admin starts a long job on eight H100s (so the overview shows a running job
    and a busy pool, and the SME's bill what it used); returns the demo call's id."""
    with Client(demo.url, demo.operator_token) as op:
        org = next(o for o in op.list_orgs() if o.name == "Busan Logistics SME")
        person = op.list_people(org.id)[0]
        secret = op.create_token(person.id, "screenshots", ["read", "write"]).secret or ""
        call_id = op.list_calls()[0].id
    with Client(demo.url, secret) as lab:
        job = lab.submit_job({"name": "logistics-13b", "resources": [
            {"chip": "nvidia-h100-sxm", "count": 8}], "max_duration": "30m",
            "command": "echo 'step 1/1000 loss 2.91'; sleep 600"})
    deadline = time.monotonic() + 60
    with Client(demo.url, demo.operator_token) as op:
        while op.get_job(job.id).status != "running":
            if time.monotonic() > deadline:
                raise SystemExit(f"job {job.id} did not start")
            time.sleep(0.5)
    return call_id


def korean_font() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return True  # nothing to ask: let the browser try
    found = subprocess.run([fc_list, ":lang=ko"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def shoot(page: Any, out: Path, name: str, path: str,
          prepare: Callable[[Any], None] | None = None) -> Path:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    if prepare is not None:
        prepare(page)
    target = out / f"{name}.png"
    page.screenshot(path=str(target), full_page=False)
    print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}: "
          f"{target.stat().st_size // 1024} KiB")
    return target


def take(demo: Demo, call_id: str, out: Path, chromium: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    with Client(demo.url, demo.operator_token) as op:
        jobs = op.list_jobs()
        smoke = next(j for j in jobs if j.name == "pretrain-smoke")
        sme = next(o for o in op.list_orgs() if o.name == "Busan Logistics SME")
    saved: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox", "--lang=ko-KR"])
        context = browser.new_context(base_url=demo.url, locale="ko-KR", viewport=VIEWPORT)
        page = context.new_page()
        page.goto("/login")
        page.fill("#token", demo.operator_token)
        page.press("#token", "Enter")
        page.wait_for_url("**/")

        def to_ranking(p: Any) -> None:
            p.locator("h2", has_text="순위").scroll_into_view_if_needed()

        def to_log(p: Any) -> None:
            p.locator("#log").scroll_into_view_if_needed()

        def to_chart(p: Any) -> None:
            p.locator("figure").first.scroll_into_view_if_needed()

        saved.append(shoot(page, out, "overview", "/"))
        saved.append(shoot(page, out, "call-ranking", f"/calls/{call_id}", to_ranking))
        saved.append(shoot(page, out, "job-log", f"/jobs/{smoke.id}", to_log))
        saved.append(shoot(page, out, "dataset", "/datasets/demo-daily"))
        saved.append(shoot(page, out, "data-usage", "/dataset-reads"))
        saved.append(shoot(page, out, "planner", "/plan?model=llama-3.1-8b&tokens=1e12"
                           "&chip=nvidia-h200&count=64", to_chart))
        # last: the SME's long job has been metered for a while by now
        saved.append(shoot(page, out, "bill", f"/bill?org_id={sme.id}"))
        browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    chromium = os.environ.get("AICENTER_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        print("no chromium: apt-get install chromium (or set AICENTER_CHROMIUM)",
              file=sys.stderr)
        return 2
    if not korean_font():
        print("no Korean font: apt-get install fonts-nanum", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aicenter-shots-") as tmp, \
            demo_center(Path(tmp) / "home") as demo:
        call_id = busy_overview(demo)
        take(demo, call_id, args.out, chromium)
    return 0


if __name__ == "__main__":
    sys.exit(main())
