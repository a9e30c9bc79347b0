"""The consent pages in a phone browser: the page tests' fixtures (live server, Debian's
Chromium, a phone), in a package of their own so the browser (package scope) is closed
before the PDF tests of tests/consent sign with asyncio."""
from tests.pages.conftest import browser, live_server, phone, site  # noqa: F401
