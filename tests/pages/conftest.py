"""Browser fixtures: the test app behind a real HTTP server, one headless Chromium per
session, and a phone-shaped context per test.

Chromium is Debian's (/usr/bin/chromium), never a downloaded one. Without it the browser
tests skip — unless REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""
import os
import threading

import pytest
from werkzeug.serving import make_server

from .phone import Phone

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def live_server(app):
    """The session app served over HTTP on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def site(app, live_server):
    """The live server's origin, also as PUBLIC_BASE_URL so QR codes and links point at it."""
    previous = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = live_server
    yield live_server
    app.config["PUBLIC_BASE_URL"] = previous


# Package scope, not session: Playwright's sync API keeps an asyncio loop running on the
# main thread, and later tests (PDF signing) call asyncio.run(), which refuses to nest.
@pytest.fixture(scope="package")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed; the browser tests need Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser, site):
    phone = Phone(browser, site)
    yield phone
    phone.close()
    assert phone.offsite_requests() == []


@pytest.fixture
def phone_no_location(browser, site):
    """A phone whose user refused the location permission."""
    phone = Phone(browser, site, geolocation=False)
    yield phone
    phone.close()
