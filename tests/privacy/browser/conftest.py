"""The browser fixtures of tests/pages, in a package of their own: Playwright's loop must
be gone before the PDF tests of tests/privacy run (see tests/pages/conftest.py)."""
from tests.pages.conftest import browser, live_server, phone, phone_no_location, site  # noqa: F401
from tests.dashboard.conftest import desk  # noqa: F401,E402
