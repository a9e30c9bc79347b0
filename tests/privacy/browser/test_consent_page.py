"""The notice and both consents on the recipient's page, in Chromium (issue 19.1)."""
import pytest
from playwright.sync_api import expect

from tests.pages.axe import assert_accessible
from tests.pages.phone import draw

pytestmark = pytest.mark.browser


@pytest.fixture
def open_link(world, site):
    def make(**policy):
        world.patch("/doc-types/default", {"policy": {"photos_by": "courier", "photos_min": 0, **policy}})
        number = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
        link = world.post("/sign-links", {"waybills": [number]}, who="courier1").get_json()
        return number, link["url"]
    return make


@pytest.fixture(scope="module")
def quick_signature(genuine):
    return min((s for s in genuine if len(s["signer_name"]) == 3 and sum(map(len, s["strokes"])) >= 100),
               key=lambda s: sum(map(len, s["strokes"])))


def _to_pad(page):
    page.locator("[data-testid=signer-relation] input[value=self]").check()
    page.get_by_test_id("next").click()
    page.get_by_test_id("signature-pad").wait_for()


def _evidence(world, receipt_id):
    return world.get(f"/receipts/{receipt_id}").get_json()["evidence"]


def test_notice_shows_the_tenant_and_nothing_is_asked_before_consent(phone, world, open_link, quick_signature):
    page = phone.page
    geolocation_calls = []
    page.expose_function("noteGeolocation", lambda: geolocation_calls.append(1))
    page.add_init_script("""(() => { const real = navigator.geolocation.getCurrentPosition.bind(navigator.geolocation);
        navigator.geolocation.getCurrentPosition = (...a) => { window.noteGeolocation(); return real(...a); }; })()""")
    _, url = open_link()
    page.goto(url)
    page.get_by_test_id("item-row").first.wait_for()
    notice = page.get_by_test_id("privacy-notice")
    expect(notice).to_contain_text("测试物流")
    notice.locator("summary").click()
    expect(page.get_by_test_id("privacy-text")).to_contain_text("1095 天")
    assert not page.get_by_test_id("consent-location").is_checked()
    _to_pad(page)
    assert not page.get_by_test_id("consent-handwriting").is_checked()
    assert geolocation_calls == []      # the permission is granted, yet nobody asked
    page.get_by_test_id("back").click()
    page.get_by_test_id("consent-location").check()
    expect(page.get_by_test_id("location-status")).to_contain_text("12")
    assert geolocation_calls == [1]


def test_the_consent_screens_are_accessible(phone, open_link):
    page = phone.page
    _, url = open_link()
    page.goto(url)
    page.get_by_test_id("item-row").first.wait_for()
    page.get_by_test_id("privacy-notice").locator("summary").click()
    assert_accessible(page, "confirm with notice")
    _to_pad(page)
    assert_accessible(page, "sign with consent")


def test_declined_handwriting_sends_nothing_and_says_what_else_can_be_done(phone, world, open_link, quick_signature):
    page = phone.page
    number, url = open_link()
    page.goto(url)
    page.get_by_test_id("item-row").first.wait_for()
    _to_pad(page)
    draw(page, quick_signature["strokes"])
    page.get_by_test_id("submit").click()
    box = page.locator("[data-testid=error][data-for=signature]")
    expect(box).to_contain_text("快递员")
    assert box.get_attribute("data-codes") == "handwriting_consent_required"
    assert not [u for u in phone.requests if u.endswith("/submit")]
    assert world.get(f"/waybills/{number}").get_json()["status"] != "signed"
    # Agreeing afterwards clears the message and signs.
    page.get_by_test_id("consent-handwriting").check()
    assert box.is_hidden()
    page.get_by_test_id("submit").click()
    page.get_by_test_id("done").wait_for()
    receipt_id = page.get_by_test_id("done").get_attribute("data-receipt-id")
    consents = _evidence(world, receipt_id)["consents"]
    assert consents == {"recorded": True, "notice_version": 0, "handwriting": True, "location": False,
                        "location_dropped": False}


def test_declined_location_is_never_asked_and_the_receipt_says_so(phone, world, open_link, quick_signature):
    page = phone.page
    _, url = open_link()
    page.goto(url)
    page.get_by_test_id("item-row").first.wait_for()
    _to_pad(page)
    expect(page.get_by_test_id("location-status")).to_have_text("未提供位置")
    page.get_by_test_id("consent-handwriting").check()
    draw(page, quick_signature["strokes"])
    page.get_by_test_id("submit").click()
    page.get_by_test_id("done").wait_for()
    receipt_id = page.get_by_test_id("done").get_attribute("data-receipt-id")
    stored = _evidence(world, receipt_id)
    assert stored["location"]["raw"] is None and "no_location" in stored["anomalies"]
    assert stored["consents"]["location"] is False and stored["consents"]["handwriting"] is True


def test_location_consent_asks_the_phone_and_the_position_is_kept(phone, world, open_link, quick_signature):
    page = phone.page
    _, url = open_link()
    page.goto(url)
    page.get_by_test_id("item-row").first.wait_for()
    page.get_by_test_id("consent-location").check()
    _to_pad(page)
    expect(page.get_by_test_id("location-status")).to_contain_text("12")
    page.get_by_test_id("consent-handwriting").check()
    draw(page, quick_signature["strokes"])
    page.get_by_test_id("submit").click()
    page.get_by_test_id("done").wait_for()
    stored = _evidence(world, page.get_by_test_id("done").get_attribute("data-receipt-id"))
    assert stored["location"]["raw"]["lat"] == pytest.approx(31.2304)
    assert stored["consents"] == {"recorded": True, "notice_version": 0, "handwriting": True, "location": True,
                                  "location_dropped": False}


def test_required_location_without_consent_is_explained(phone, world, open_link, quick_signature):
    page = phone.page
    _, url = open_link(location="required")
    page.goto(url)
    page.get_by_test_id("item-row").first.wait_for()
    expect(page.locator("#consent-location-text")).to_contain_text("本次签收需要")
    _to_pad(page)
    page.get_by_test_id("consent-handwriting").check()
    draw(page, quick_signature["strokes"])
    page.get_by_test_id("submit").click()
    box = page.locator("[data-testid=error][data-for=submit]")
    expect(box).to_contain_text("同意记录签收位置")
    assert not [u for u in phone.requests if u.endswith("/submit")]
