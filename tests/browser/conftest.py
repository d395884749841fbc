"""Fixtures for the browser tests: Debian's Chromium driven by Playwright for Python, and
the real ``triage serve`` on a free port with a copy of decision_tables/.

Nothing downloads a browser here: Chromium is the Debian package (``.ci/system-packages``
installs it), started with ``executable_path``. When Playwright or Chromium is missing the
tests skip and say which; they never pass without a browser.

Each test saves a screenshot of every step in its ``tmp_path`` (printed with ``-s``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service.conftest import ROOT
from tests.service.servers import Serve

CHROMIUM = Path(os.environ.get("TRIAGE_CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / "service" / "pages" / "static" / "vendor" / "axe.min.js"

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # the test extra is not installed
    sync_playwright = None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        pytest.skip("Playwright for Python is not installed: pip install -e '.[test]'")
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set "
                    "TRIAGE_CHROMIUM to its path); never `playwright install`")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-dev-shm-usage"],  # root in a container
        )
        yield launched
        launched.close()


def start_server(workdir: Path, source: Path = ROOT / "decision_tables",
                 env: dict[str, str] | None = None) -> Serve:
    """``triage serve`` on a copy of ``source`` (one worker: one page of tests)."""
    tables = workdir / "tables"
    shutil.copytree(source, tables)
    server = Serve(workdir, f"sqlite:///{workdir / 'audit.sqlite3'}", tables=tables,
                   workers=1, env=env)
    try:
        server.wait("/readyz")
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """A server the module's tests share; they only read."""
    running = start_server(tmp_path_factory.mktemp("serve"))
    yield running
    running.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Serve]:
    """A server of the test's own, whose tables folder it may edit."""
    running = start_server(tmp_path)
    yield running
    running.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page (clipboard allowed). Fails the test on a script error in the page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  permissions=["clipboard-read", "clipboard-write"])
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.append(message.text)
              if message.type == "error" and "Failed to load resource" not in message.text
              else None)
    yield opened
    context.close()
    assert not errors, errors


@pytest.fixture
def shot(page: Page, tmp_path: Path) -> Callable[[str], Path]:
    """``shot("step")`` saves a screenshot of the page as it is now."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    count = iter(range(100))

    def take(name: str, **options: Any) -> Path:
        path = folder / f"{next(count):02d}-{name}.png"
        page.screenshot(path=str(path), **options)
        print(f"screenshot: {path}")
        return path

    return take


def serious_violations(page: Page, step: str) -> list[tuple[str, str, list[Any]]]:
    """axe-core's serious and critical violations on the page as it is now (the vendored
    copy, injected; printed with the minor ones)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert result["testEngine"]["name"] == "axe-core" and result["passes"] is not None
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"][:3]])
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    others = [(v["id"], v["impact"]) for v in result["violations"]
              if v["impact"] not in ("serious", "critical")]
    print(f"axe {step}: {len(result['violations'])} violations; minor/moderate: {others}")
    return bad
