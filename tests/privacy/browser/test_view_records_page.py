"""查看记录 on the dashboard's evidence page (issue 19.4)."""
import pytest
from playwright.sync_api import expect

from tests.dashboard.test_dashboard import log_in
from tests.factories import Door

pytestmark = pytest.mark.browser


def test_the_evidence_page_lists_who_looked(desk, world, signature, photo_jpeg):
    door = Door(world, signature, photo_jpeg)
    receipt_id = door.submit().get_json()["receipt_id"]
    world.get(f"/receipts/{receipt_id}/signature.png", who="api")
    world.get(f"/waybills/{door.number}?reveal=phone", who="disp_east")
    log_in(desk, world, "admin")
    desk.page.goto(f"/dashboard#/waybill/{door.number}")
    views = desk.page.get_by_test_id("evidence-views")
    expect(views).to_contain_text("查看记录")
    expect(views.locator("[data-testid=view-record][data-what=signature\\.png]")).to_have_count(1)
    expect(views.locator("[data-testid=view-record][data-what=phone]")).to_contain_text("user:disp_east")
    expect(views).to_contain_text("完整手机号")
    # The admin's own look at the evidence is in the record too (listed before the page asked).
    expect(views.locator("[data-testid=view-record][data-what=evidence]")).to_contain_text("user:admin")
    assert desk.errors == []
