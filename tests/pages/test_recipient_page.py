"""The recipient's sign page in a phone browser: what the person at the door does, and
what the server stored as evidence."""
import hashlib
import re

import pytest

from .phone import draw

pytestmark = pytest.mark.browser

SCRIBBLE = [[[10 + i * 1.5, 20 + (i % 3), i * 12, 0.5] for i in range(12)]]   # a short dash


@pytest.fixture
def sign_link(world, site):
    """A waybill for courier1 and its sign link, made the way the courier app makes it."""
    def make(**waybill):
        number = world.waybill(courier="courier1", org_unit="EAST-1", **waybill)["number"]
        response = world.post("/sign-links", {"waybills": [number]}, who="courier1")
        assert response.status_code == 201, response.get_json()
        link = response.get_json()
        assert link["url"].startswith(site + "/s/")
        return number, link
    return make


@pytest.fixture
def photo_file(tmp_path, photo_jpeg):
    path = tmp_path / "goods.jpg"
    path.write_bytes(photo_jpeg)
    return path


def visible(page, testid):
    return page.locator(f"[data-testid={testid}]:visible")


def next_step(page):
    visible(page, "next").click()


def fill_signer(page, name, relation="self"):
    page.get_by_test_id("signer-name").fill(name)
    page.locator(f"[data-testid=signer-relation] input[value={relation}]").check()
    next_step(page)


def add_photo(page, path):
    page.get_by_test_id("photo-input").set_input_files(str(path))
    thumb = page.get_by_test_id("photo-thumb").last
    thumb.and_(page.locator("[data-status=done]")).wait_for()


def receipt_of(page):
    done = page.get_by_test_id("done")
    done.wait_for()
    receipt_id = done.get_attribute("data-receipt-id")
    assert receipt_id and done.inner_text() == receipt_id
    return receipt_id


def evidence(world, receipt_id):
    response = world.get(f"/receipts/{receipt_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["evidence"]


def assert_strokes_recorded(stored, drawn):
    """Every stroke drawn arrives, each point with wall-clock time that never goes back."""
    strokes = stored["signature"]["strokes"]
    assert len(strokes) == len(drawn)
    times = [p["time"] for s in strokes for p in s["points"]]
    assert all(b >= a for a, b in zip(times, times[1:]))
    assert times[-1] > times[0]
    assert 1.6e12 < times[0] < 4e12                     # epoch milliseconds, not page-relative
    assert all(0 <= p["pressure"] <= 1 for s in strokes for p in s["points"])
    # No thinning: at least as many points as touch events were sent.
    assert sum(len(s["points"]) for s in strokes) >= sum(len(s) for s in drawn)


def test_happy_path(phone, world, sign_link, signature, photo_file, photo_jpeg):
    page = phone.page
    number, link = sign_link()
    page.goto(link["url"])
    rows = page.get_by_test_id("item-row")
    rows.first.wait_for()
    assert rows.count() == 2
    assert "三人位沙发" in rows.first.inner_text()
    assert number in page.locator(".waybill h2").inner_text()
    phone.screenshot("recipient-1-items")
    page.get_by_test_id("items-confirm").click()

    page.get_by_test_id("signer-name").fill(signature["signer_name"])
    page.locator("[data-testid=signer-relation] input[value=self]").check()
    phone.screenshot("recipient-2-signer")
    next_step(page)

    add_photo(page, photo_file)
    phone.screenshot("recipient-3-photos")
    next_step(page)

    draw(page, signature["strokes"])
    phone.screenshot("recipient-4-signature")
    next_step(page)

    page.get_by_test_id("location-allow").click()
    page.locator("#location-status", has_text=re.compile("12")).wait_for()
    phone.screenshot("recipient-5-location")
    page.get_by_test_id("submit").click()
    receipt_id = receipt_of(page)
    phone.screenshot("recipient-6-done")

    stored = evidence(world, receipt_id)
    assert stored["outcome"] == "signed"
    assert stored["signer"] == {**stored["signer"], "name": signature["signer_name"], "relation": "self"}
    assert_strokes_recorded(stored, signature["strokes"])
    assert stored["signature"]["canvas"]["dpr"] == 3
    assert [p["sha256"] for p in stored["photos"]] == [hashlib.sha256(photo_jpeg).hexdigest()]
    assert stored["location"]["raw"]["lat"] == pytest.approx(31.2304)
    assert stored["location"]["raw"]["coord_system"] == "wgs84"
    assert stored["client"]["platform"] == "h5"
    assert world.get(f"/waybills/{number}").get_json()["status"] == "signed"
    assert phone.offsite_requests() == []
