"""The courier app in a phone browser: log in, pick waybills, show the QR, see it signed."""
import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.evidence.photo_fixtures import exif_bytes, jpeg, scene
from tests.factories import PASSWORD, photo_file

from .axe import assert_accessible

pytestmark = pytest.mark.browser


def log_in(page, world, who="courier1"):
    page.goto(f"/courier?tenant={world.slug}")
    assert page.get_by_test_id("login-tenant").input_value() == world.slug
    page.get_by_test_id("login-username").fill(who)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()


def row(page, number):
    return page.locator(f"[data-testid=waybill-row][data-number='{number}']")


def sign_via_api(world, token, signature, photo, **overrides):
    """The recipient's phone, through the API: one photo, a genuine signature, submit."""
    client = world.client
    upload = client.post(f"/api/v1/sign/{token}/photos", data={"file": photo_file(photo), "kind": "goods"},
                         content_type="multipart/form-data")
    assert upload.status_code == 201, upload.get_json()
    body = {"submission_id": str(uuid.uuid4()), "outcome": "signed",
            "signer": {"name": signature["signer_name"], "relation": "family"},
            "signature": {"strokes": signature["strokes"], "canvas": signature["canvas"]},
            "location": {"lat": 31.2304, "lng": 121.4737, "accuracy": 15, "coord_system": "gcj02"},
            "photo_ids": [upload.get_json()["photo_id"]], "items": [], "client": {"platform": "h5"}, **overrides}
    response = client.post(f"/api/v1/sign/{token}/submit", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_courier_shows_qr_and_turns_green_when_signed(phone, world, signature, photo_jpeg):
    page = phone.page
    mine = [world.waybill(courier="courier1", org_unit="EAST-1")["number"] for _ in range(2)]
    other_consignee = world.waybill(courier="courier1", org_unit="EAST-1", consignee={
        "name": "王强", "phone": "13911112222", "address": "上海市黄浦区南京东路1号"})["number"]
    not_mine = world.waybill(courier="courier2", org_unit="EAST-1")["number"]

    log_in(page, world)
    row(page, mine[0]).wait_for()
    assert page.get_by_test_id("waybill-row").count() == 3            # courier2's waybill is not listed
    assert row(page, not_mine).count() == 0
    phone.screenshot("courier-1-list")
    assert_accessible(page, "courier list")

    # Search narrows the list; the status filter finds nothing done yet.
    page.get_by_test_id("waybill-search").fill(other_consignee)
    expect(page.get_by_test_id("waybill-row")).to_have_count(1)
    page.get_by_test_id("waybill-search").fill("")
    expect(page.get_by_test_id("waybill-row")).to_have_count(3)

    # Two waybills of one consignee on one QR; the other consignee's greys out.
    for number in mine:
        row(page, number).get_by_test_id("waybill-select").check()
    assert row(page, other_consignee).get_by_test_id("waybill-select").is_disabled()
    assert row(page, other_consignee).get_by_test_id("row-why").inner_text() == "收货人不同，不能和已选运单一起签收"
    page.get_by_test_id("make-qr").click()

    qr = page.get_by_test_id("qr")
    qr.wait_for()
    expect(qr).to_have_js_property("complete", True)
    assert qr.evaluate("img => img.naturalWidth") > 0
    assert page.locator("#qr-numbers").inner_text().split() == mine
    assert "二维码剩余有效时间 14:" in page.get_by_test_id("qr-countdown").inner_text()
    phone.screenshot("courier-2-qr")
    assert page.get_by_test_id("assisted-hint").is_visible()
    assert_accessible(page, "courier QR")
    token = qr.get_attribute("data-token")

    link = world.get(f"/sign-links/{token}/status", who="courier1").get_json()
    assert link["state"] == "pending"
    for number in mine:
        assert world.get(f"/waybills/{number}").get_json()["status"] == "out_for_delivery"

    result = sign_via_api(world, token, signature, photo_jpeg)
    signed_at = time.monotonic()
    banner = page.get_by_test_id("signed-banner")
    banner.wait_for(timeout=2500)
    assert time.monotonic() - signed_at < 2.0
    assert banner.inner_text().splitlines()[0] == f"已签收 · {signature['signer_name']} · 家属"
    assert banner.get_attribute("data-receipt-id") == result["receipt_id"]
    phone.screenshot("courier-3-signed")
    assert_accessible(page, "courier signed")

    page.get_by_test_id("back-to-list").click()
    expect(page.get_by_test_id("waybill-row")).to_have_count(1)
    assert row(page, other_consignee).count() == 1                      # signed ones left the open list
    assert phone.offsite_requests() == []


@pytest.mark.parametrize("permitted", [True, False], ids=["location-granted", "location-denied"])
def test_courier_location_goes_with_the_link_when_permitted(request, permitted, world, signature, photo_jpeg):
    phone = request.getfixturevalue("phone" if permitted else "phone_no_location")
    page = phone.page
    number = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
    log_in(page, world)
    row(page, number).get_by_test_id("waybill-select").check()
    page.get_by_test_id("make-qr").click()
    page.get_by_test_id("qr").wait_for()
    token = page.get_by_test_id("qr").get_attribute("data-token")

    stored = world.get(f"/receipts/{sign_via_api(world, token, signature, photo_jpeg)['receipt_id']}").get_json()
    courier_at = stored["evidence"]["location"]["courier_at_link_time"]
    if permitted:
        assert courier_at["lat"] == pytest.approx(31.2304) and courier_at["coord_system"] == "wgs84"
    else:
        assert courier_at is None


def test_wrong_password_is_explained(phone, world):
    page = phone.page
    page.goto(f"/courier?tenant={world.slug}")
    assert_accessible(page, "courier login")
    page.get_by_test_id("login-username").fill("courier1")
    page.get_by_test_id("login-password").fill("wrong password")
    page.get_by_test_id("login-submit").click()
    error = page.locator("[data-testid=error]:visible")
    error.wait_for()
    assert error.inner_text() == "用户名或密码错误"


def test_one_consignees_waybills_sign_together_in_one_tap(phone, world):
    page = phone.page
    mine = [world.waybill(courier="courier1", org_unit="EAST-1")["number"] for _ in range(3)]
    other = world.waybill(courier="courier1", org_unit="EAST-1", consignee={
        "name": "王强", "phone": "13911112222", "address": "上海市黄浦区南京东路1号"})["number"]
    log_in(page, world)
    row(page, other).wait_for()
    groups = page.get_by_test_id("consignee-group")
    expect(groups).to_have_count(2)
    together = groups.filter(has=row(page, mine[0])).get_by_test_id("sign-together")
    expect(together).to_have_text("一起签收（3 单）")
    assert groups.filter(has=row(page, other)).get_by_test_id("sign-together").is_hidden()
    # The dock is opaque: nothing of the list shows through under the button.
    background = page.locator(".dock").evaluate("d => getComputedStyle(d).backgroundColor")
    assert background.startswith("rgb(") and "rgba" not in background
    phone.screenshot("courier-1b-groups")

    together.click()
    page.get_by_test_id("qr").wait_for()
    assert sorted(page.locator("#qr-numbers").inner_text().split()) == sorted(mine)


def test_the_courier_photographs_the_goods_before_the_qr(phone, world, signature, tmp_path):
    world.patch("/doc-types/default", {"policy": {"photos_by": "courier", "photos_min": 1}})
    page = phone.page
    number = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
    camera = tmp_path / "IMG_0001.jpg"
    camera.write_bytes(jpeg(scene(21, 4000, 3000), quality=92, exif=exif_bytes(
        orientation=6, datetime_original="2026:12:01 11:00:00", gps=(31.2304, 121.4737))))
    log_in(page, world)
    row(page, number).get_by_test_id("waybill-select").check()
    page.get_by_test_id("make-qr").click()

    panel = page.get_by_test_id("qr-photos")
    panel.wait_for()
    assert page.get_by_test_id("qr").is_hidden() and page.get_by_test_id("show-qr").is_disabled()
    assert_accessible(page, "courier photos first")
    with page.expect_request(lambda r: r.url.endswith("/photos") and r.method == "POST") as sent:
        page.get_by_test_id("courier-photo-input").set_input_files(str(camera))
    assert int(sent.value.all_headers()["content-length"]) <= 500 * 1024
    page.locator("[data-testid=courier-photo][data-status=done]").wait_for()
    phone.screenshot("courier-2b-photos")
    expect(page.get_by_test_id("show-qr")).to_be_enabled()
    page.get_by_test_id("show-qr").click()
    page.get_by_test_id("qr").wait_for()
    token = page.get_by_test_id("qr").get_attribute("data-token")

    body = {"submission_id": str(uuid.uuid4()), "outcome": "signed", "signer": {"name": "", "relation": "self"},
            "signature": {"strokes": signature["strokes"], "canvas": signature["canvas"]},
            "location": None, "photo_ids": [], "items": [], "client": {"platform": "h5"}}
    response = world.client.post(f"/api/v1/sign/{token}/submit", json=body)
    assert response.status_code == 201, response.get_json()
    page.get_by_test_id("signed-banner").wait_for()
    [photo] = world.get(f"/receipts/{response.get_json()['receipt_id']}").get_json()["evidence"]["photos"]
    assert photo["taken_by"] == {"party": "courier", "user": "courier1"}
    assert (photo["width"], photo["height"]) == (1440, 1920)
    assert photo["declared_by_client"]["taken_at"] == "2026:12:01 11:00:00"
