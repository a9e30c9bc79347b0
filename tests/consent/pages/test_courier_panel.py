"""The courier app's panel for doors where the QR does not work: assisted sign-off on the
courier's phone, the link by SMS, and a consented drop — in a phone browser."""
import re

import pytest
from playwright.sync_api import expect

from tests.pages.axe import assert_accessible
from tests.pages.test_courier_app import log_in, row

from ..conftest import last_token, outbox

pytestmark = pytest.mark.browser


def _qr_for(page, world, number):
    log_in(page, world)
    row(page, number).get_by_test_id("waybill-select").check()
    page.get_by_test_id("make-qr").click()
    page.get_by_test_id("qr").wait_for()
    return page.get_by_test_id("qr").get_attribute("data-token")


def test_assisted_sign_off_opens_the_sign_page_here(world, phone):
    number = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
    page = phone.page
    qr_token = _qr_for(page, world, number)
    page.get_by_test_id("send-link").click()
    expect(page.get_by_test_id("assist-status")).to_contain_text("已发送至 138****8000")
    assert last_token(world, path="s") == qr_token
    # A second tap within the minute: the wait in plain words, nothing sent.
    page.get_by_test_id("send-link").click()
    expect(page.get_by_test_id("assist-status")).to_have_text(re.compile(r"^刚发送过，请 \d+ 秒后再发$"))
    assert len(outbox(world)) == 1
    page.get_by_test_id("assist-status").scroll_into_view_if_needed()
    phone.screenshot("courier-send-link-too-soon")
    assert_accessible(page, "courier send link too soon")
    page.get_by_test_id("assisted-sign").click()
    page.wait_for_url("**/s/**")
    token = page.url.rsplit("/", 1)[1]
    assert token != qr_token
    view = world.client.get(f"/api/v1/sign/{token}").get_json()
    assert view["assisted"] is True and view["policy"]["otp"] == "required"
    # The QR's link retired: one delivery, one live link.
    assert world.get(f"/sign-links/{qr_token}/status", who="courier1").get_json()["state"] == "expired"


def test_ask_then_drop_with_the_consignees_consent(world, phone, tmp_path, photo_jpeg):
    number = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
    page = phone.page
    _qr_for(page, world, number)
    page.get_by_test_id("check-consent").click()
    expect(page.get_by_test_id("drop-status")).to_contain_text("尚未同意")
    page.get_by_test_id("ask-consent").click()
    expect(page.get_by_test_id("drop-status")).to_contain_text("已发短信询问")
    assert "/c/" in outbox(world)[0]["text"]
    page.get_by_test_id("ask-consent").click()
    expect(page.get_by_test_id("drop-status")).to_have_text(re.compile(r"^刚询问过收货人，请等回复（\d+ 秒后可再问）$"))
    assert len(outbox(world)) == 1
    # The consignee answers on their own phone.
    answered = world.client.post(f"/api/v1/consent/{last_token(world)}", json={"choice": "guard"})
    assert answered.status_code == 200
    page.get_by_test_id("check-consent").click()
    expect(page.get_by_test_id("drop-status")).to_contain_text("收货人同意：门卫")
    photo = tmp_path / "drop.jpg"
    photo.write_bytes(photo_jpeg)
    page.get_by_test_id("drop-photo").set_input_files(str(photo))
    page.get_by_test_id("drop-confirm").click()
    expect(page.get_by_test_id("drop-status")).to_contain_text("已放置")
    phone.screenshot("courier-drop-done")
    waybill = world.get(f"/waybills/{number}").get_json()
    assert waybill["status"] == "dropped"
    evidence = world.get(f"/receipts/{waybill['receipt']['id']}").get_json()["evidence"]
    assert evidence["consent"]["choice"] == "guard" and len(evidence["photos"]) == 1
    assert evidence["location"]["raw"] is not None
    # The QR screen of that parcel stops waiting: it says the parcel was left, and offers no new QR.
    expect(page.get_by_test_id("qr-countdown")).to_have_text("包裹已按收货人同意放置，无需再签收")
    expect(page.get_by_test_id("qr-renew")).to_be_hidden()
