"""Dashboard browser fixtures: the live server and Chromium of tests/pages, and a desktop
page that records every request, page error and JavaScript dialog."""
import os
from urllib.parse import urlsplit

import pytest

from tests.pages.conftest import browser, live_server, site  # noqa: F401  (the same plumbing as the H5 tests)

ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "artifacts", "dashboard")
DESKTOP = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-CN", "timezone_id": "Asia/Shanghai",
           "accept_downloads": True}


class Desk:
    """A dispatcher's desktop browser page."""

    def __init__(self, browser, origin, **context_options):
        self.context = browser.new_context(base_url=origin, **{**DESKTOP, **context_options})
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.origin = origin
        self.requests, self.errors, self.dialogs = [], [], []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", self._console)
        self.page.on("response", self._response)
        self.page.on("dialog", self._dialog)

    def _console(self, message):
        # Failed loads are reported with their URL by _response; CSP violations land here.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def _response(self, response):
        if response.status >= 400 and urlsplit(response.url).path != "/favicon.ico":
            self.errors.append(f"{response.status} {response.url}")

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def offsite_requests(self):
        host = urlsplit(self.origin).netloc
        return [url for url in self.requests
                if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != host]

    def screenshot(self, name, full_page=False):
        os.makedirs(ARTIFACTS, exist_ok=True)
        self.page.screenshot(path=os.path.join(ARTIFACTS, f"{name}.png"), full_page=full_page)

    def close(self):
        self.context.close()


PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def _desk(browser, site, **options):
    desk = Desk(browser, site, **options)
    yield desk
    desk.close()
    assert desk.offsite_requests() == []
    assert desk.errors == []


@pytest.fixture
def desk(browser, site):
    yield from _desk(browser, site)


@pytest.fixture
def phone_desk(browser, site):
    """The dashboard on a 390 px phone."""
    yield from _desk(browser, site, **PHONE)
