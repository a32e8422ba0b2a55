"""Console fixtures: a real server with a known admin password, an HTTP client logged in to it, and for the browser
tests a logged-in Playwright page on Debian's chromium (skipped, with the reason, when chromium is absent).

Other console tests (API Explorer, statistics) reuse these: ``console_server``, ``console_client``,
``logged_in_page``, ``phone_page``, ``screenshot``.

Screenshots go to ``$TUYACLOUD_SCREENSHOTS`` when set, else artifacts/screenshots/ (git-ignored): CI's browser run
regenerates them for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserType, Playwright, sync_playwright

from support.console import ADMIN_PASSWORD, ConsoleClient
from support.server import CloudServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOTS = Path(os.environ.get("TUYACLOUD_SCREENSHOTS") or
                   Path(__file__).resolve().parents[2] / "artifacts" / "screenshots")
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """One server for the console tests (demo project included), admin password ``ADMIN_PASSWORD``."""
    server = CloudServer(tmp_path_factory.mktemp("console"), console_admin_password=ADMIN_PASSWORD).start()
    yield server
    server.stop()


@pytest.fixture
def console_client(console_server: CloudServer) -> Iterator[ConsoleClient]:
    client = ConsoleClient(console_server.url)
    assert client.login("admin", ADMIN_PASSWORD).status_code == 303
    yield client
    client.close()


# --- browser ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium; scripts/test does it as root)")
    return path


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any], chromium_path: str) -> dict[str, Any]:
    """pytest-playwright launches the system chromium: never `playwright install` (no download here)."""
    return {**browser_type_launch_args, "executable_path": chromium_path, "args": CHROMIUM_ARGS}


# One Playwright and one chromium for the whole run, shared by every browser module (starting them costs about 1.7 s
# of CPU, which five modules paid five times). Sync Playwright keeps an event loop running in the main thread while
# it is started, and asyncio.run() (store, domain and CLI tests) refuses to start meanwhile: that is why browser tests
# run together (tests/conftest.py orders them last, and under pytest-xdist they are one work unit), and why
# Playwright stops after the last of them (tests/conftest.py's pytest_runtest_teardown), so that the process can go
# on with other tests.
@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="session")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    return getattr(playwright, browser_name)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def launch_browser(browser_type_launch_args: dict[str, Any], browser_type: BrowserType) -> Callable[..., Browser]:
    def launch(**options: Any) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **options})

    return launch


@pytest.fixture(scope="session")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    started = launch_browser()
    yield started
    started.close()


@pytest.fixture(scope="session")
def browser_context_args() -> dict[str, Any]:
    """A desktop viewport (pytest-playwright's own version reads its session-wide Playwright for --device; this
    suite uses neither that nor --video)."""
    return {"viewport": {"width": 1366, "height": 860}}


def log_in(page: Any, console_server: CloudServer) -> Any:
    page.set_default_timeout(15_000)
    page.goto(f"{console_server.url}/console/login")
    page.fill('input[name="username"]', "admin")
    page.fill('input[name="password"]', ADMIN_PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url("**/console/projects")
    return page


@pytest.fixture
def logged_in_page(page: Any, console_server: CloudServer) -> Any:
    """A Playwright page logged in to ``console_server`` as admin, on the projects list."""
    return log_in(page, console_server)


@pytest.fixture
def phone_page(browser: Any, console_server: CloudServer) -> Iterator[Any]:
    """The same, in a phone-sized window (390 x 844, touch): layouts are checked at this width too."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        yield log_in(context.new_page(), console_server)
    finally:
        context.close()


@pytest.fixture
def screenshot() -> Any:
    """``screenshot(page, "name")`` saves name.png (full page) in the screenshots directory for a person to look
    at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        TAKEN.append(path)
        return path

    return take


TAKEN: list[Path] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where this run's screenshots are: CI's browser run regenerates them for a person to look at."""
    if TAKEN:
        terminalreporter.write_line(f"console screenshots: {len(TAKEN)} in {SCREENSHOTS} (desktop 1366 px, "
                                    "and *-phone at 390 px)")


def assert_fits_width(page: Any, element: Any) -> None:
    """Nothing of ``element`` is hidden behind sideways scrolling: neither it nor any box around or inside it
    scrolls sideways, and it lies inside the window."""
    overflow = element.evaluate("""el => {
        const boxes = [...el.querySelectorAll('*')];
        for (let e = el; e; e = e.parentElement) boxes.push(e);
        for (const e of boxes) {
            const scrolls = !['visible', 'hidden', 'clip'].includes(getComputedStyle(e).overflowX);
            if (scrolls && e.scrollWidth > e.clientWidth + 1)
                return (e.className || e.tagName) + ' ' + e.scrollWidth + '>' + e.clientWidth;
        }
        return '';
    }""")
    assert not overflow, f"scrolls sideways: {overflow}"
    box = element.bounding_box()
    width = page.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{box} is outside the {width}px window"
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.fixture
def fits_width() -> Any:
    """``fits_width(page, locator)``: see :func:`assert_fits_width`."""
    return assert_fits_width
