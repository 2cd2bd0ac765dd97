"""Browser tests: the web console in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright
for Python, which never downloads a browser of its own) against a local runtime.

Without Chromium they are skipped, loudly (the reason says how to install it, and pytest's summary ends with a
line saying so); with FIREBELL_REQUIRE_BROWSER=1 (CI) a missing browser fails them instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.topology import ROOT
from tests.e2e.conftest import RunningPipeline, running_pipeline

CHROMIUM = Path(os.environ.get("FIREBELL_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("FIREBELL_REQUIRE_BROWSER") == "1"
INSTALL = (
    "install it with `sudo apt-get install chromium chromium-driver` (Debian/Ubuntu; .ci/run does this), "
    "or point FIREBELL_CHROMIUM at a Chromium binary"
)
ARTIFACTS = ROOT / "test-artifacts" / "console"
HERE = Path(__file__).parent
# Timers at 5 % of real time: escalation moves (level 1 waits 15 s) without re-paging mid-test (ack timeout 90 s).
TIME_SCALE = 0.05


def missing_browser() -> str | None:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"Chromium not found at {CHROMIUM}: {INSTALL}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed: run `make install`"
    return None


def _is_browser_test(item: pytest.Item) -> bool:
    return HERE in Path(str(item.fspath)).parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing_browser()
    if reason is None or REQUIRED:  # required: the browser fixture fails each test, saying why
        return
    ours = [item for item in items if _is_browser_test(item)]
    for item in ours:
        item.add_marker(pytest.mark.skip(reason=f"browser tests SKIPPED: {reason}"))
    config.stash[_SKIPPED] = (len(ours), reason)


_SKIPPED = pytest.StashKey[tuple[int, str]]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    skipped = config.stash.get(_SKIPPED, None)
    if skipped and skipped[0]:
        count, reason = skipped
        terminalreporter.section("browser tests", sep="!", red=True, bold=True)
        terminalreporter.line(
            f"{count} browser tests of the web console were SKIPPED: {reason}. "
            "CI runs them with FIREBELL_REQUIRE_BROWSER=1, where a missing browser is a failure.",
            red=True,
            bold=True,
        )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = missing_browser()
    if reason is not None:  # only reached with FIREBELL_REQUIRE_BROWSER=1
        pytest.fail(f"FIREBELL_REQUIRE_BROWSER=1 and {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Chromium's sandbox needs user namespaces a root process (CI, containers) does not get.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def pipeline(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPipeline]:
    """The runtime with a directory that has a person for each role (tests/browser/console.py)."""
    # After the browser: without one (FIREBELL_REQUIRE_BROWSER=1) the tests fail before a runtime starts for nothing.
    from tests.browser.console import write_config

    with running_pipeline(write_config(tmp_path_factory.mktemp("config")), TIME_SCALE) as running:
        yield running


@pytest.fixture
def open_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """open_page(width=1280, height=900) → a Page in a fresh context (its own sessionStorage: its own sign-in).
    Script errors fail the test that met them."""
    contexts: list[Any] = []
    errors: list[str] = []

    def open_(width: int = 1280, height: int = 900) -> Any:
        context = browser.new_context(
            viewport={"width": width, "height": height}, locale="en-GB", timezone_id="Europe/London"
        )
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{error}"))
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not errors, f"script errors in the console: {errors}"


def screenshot(page: Any, name: str) -> Path:
    """Saves the whole page under test-artifacts/console/ (gitignored; docs/console/ keeps copies of the main ones)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
