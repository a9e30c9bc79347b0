"""The dashboard's own report CSV (issue 15 item 13), downloaded in Chromium: no cell of it
runs as a formula, whatever the locale splits on."""
import csv
import io
import os

import pytest
from playwright.sync_api import expect

from tests.dashboard.conftest import desk, live_server, site  # noqa: F401  (the dashboard's page)
from tests.hostile.test_formulas import RUNS
from tests.pages.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    # Module scope, not the package scope of tests/pages: Playwright's loop on the main thread
    # must stop before the other hostile tests sign PDFs (asyncio.run() refuses to nest).
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed; the browser tests need Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_dashboard_report_csv_runs_nowhere(desk, world):
    from tests.dashboard.test_dashboard import log_in

    # Reports show names, not codes (issue 17): the names carry the formulas too.
    assert world.post("/org-units", {"code": "-2-3", "name": "-2-3", "parent": "HQ"}).status_code == 201
    assert world.post("/users", {"username": "@cmd", "display_name": "@cmd", "password": "long enough pw",
                                 "role": "courier", "org_unit": "-2-3"}).status_code == 201
    world.waybill(org_unit="-2-3", courier="@cmd")
    log_in(desk, world, "admin")
    page = desk.page
    page.get_by_test_id("nav-reports").click()
    for group, key in (("org_unit", "-2-3"), ("courier", "@cmd")):
        page.get_by_test_id("report-group").select_option(group)
        expect(page.get_by_test_id("report-row").filter(has_text=key)).to_have_count(1)
        with page.expect_download() as info:
            page.get_by_test_id("report-export").click()
        with open(info.value.path(), encoding="utf-8-sig") as fh:
            text = fh.read()
        records = list(csv.reader(io.StringIO(text)))
        assert [r[0] for r in records[1:]] == ["'" + key]
        assert records[1][1] == "1"                                   # numbers stay numbers
        for line in text.splitlines():
            for part in line.split(";"):
                assert not RUNS.match(part), part
