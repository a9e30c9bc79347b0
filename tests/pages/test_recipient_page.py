"""The recipient's sign page in a phone browser: what the person at the door does, and
what the server stored as evidence."""
import hashlib
import re

from playwright.sync_api import expect

import pytest

from .phone import draw

pytestmark = pytest.mark.browser

# A hasty zigzag, written small: a real hand's timing, but no signature.
SCRIBBLE = [[[10 + i * 2, 20 + (i % 4) * 3, i * 17 + (i % 3), 0.4 + (i % 5) / 20] for i in range(30)]]


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


@pytest.fixture(scope="module")
def quick_signature(genuine):
    """A genuine three-character name of ~100 points: real dynamics, quick to replay."""
    return min((s for s in genuine if len(s["signer_name"]) == 3 and sum(map(len, s["strokes"])) >= 100),
               key=lambda s: sum(map(len, s["strokes"])))


def sign_to_location(page, name, strokes, photo, relation="self"):
    """From the signer step to the location step: name, relation, a photo, the signature."""
    fill_signer(page, name, relation)
    add_photo(page, photo)
    next_step(page)
    draw(page, strokes)
    next_step(page)


def test_partial_delivery_without_location(phone_no_location, world, sign_link, quick_signature, photo_file):
    page = phone_no_location.page
    number, link = sign_link()
    page.goto(link["url"])
    page.get_by_test_id("report-short").click()
    sofa, chairs = page.get_by_test_id("item-row").all()
    sofa.get_by_test_id("item-damaged").fill("1")
    sofa.get_by_test_id("item-note").fill("扶手划伤")
    chairs.get_by_test_id("item-received").fill("3")
    phone_no_location.screenshot("recipient-1b-partial")
    next_step(page)
    sign_to_location(page, quick_signature["signer_name"], quick_signature["strokes"], photo_file, "family")

    page.get_by_test_id("location-allow").click()
    error = visible(page, "error")
    assert "未获得位置权限" in error.inner_text()
    page.get_by_test_id("location-skip").click()
    page.get_by_test_id("submit").click()
    receipt_id = receipt_of(page)
    assert "部分签收" in page.locator("#done-title").inner_text()

    stored = evidence(world, receipt_id)
    assert stored["outcome"] == "partial"
    items = {i["sku"]: i for i in stored["waybills"][0]["items"]}
    assert (items["SOFA-3"]["received_qty"], items["SOFA-3"]["damaged_qty"], items["SOFA-3"]["note"]) == (1, 1, "扶手划伤")
    assert (items["CHR-01"]["received_qty"], items["CHR-01"]["damaged_qty"]) == (3, 0)
    assert stored["signer"]["relation"] == "family"
    assert stored["location"]["raw"] is None
    assert {"partial_delivery", "no_location", "signer_not_consignee"} <= set(stored["anomalies"])
    assert world.get(f"/waybills/{number}").get_json()["status"] == "partially_signed"


def test_refused_needs_a_reason(phone, world, sign_link, quick_signature, photo_file):
    page = phone.page
    number, link = sign_link()
    page.goto(link["url"])
    page.get_by_test_id("refuse").click()
    next_step(page)
    assert visible(page, "error").inner_text() == "请填写拒收原因"
    page.get_by_test_id("refuse-reason").fill("外包装破损，货物受潮")
    next_step(page)
    sign_to_location(page, quick_signature["signer_name"], quick_signature["strokes"], photo_file)
    page.get_by_test_id("location-allow").click()
    page.get_by_test_id("submit").click()
    receipt_id = receipt_of(page)

    stored = evidence(world, receipt_id)
    assert (stored["outcome"], stored["refuse_reason"]) == ("refused", "外包装破损，货物受潮")
    assert all(i["received_qty"] == 0 for i in stored["waybills"][0]["items"])
    assert world.get(f"/waybills/{number}").get_json()["status"] == "refused"


def test_rejected_signature_is_explained_and_fixed_on_the_page(phone, world, sign_link, quick_signature, photo_file):
    page = phone.page
    number, link = sign_link()
    page.goto(link["url"])
    page.get_by_test_id("items-confirm").click()
    fill_signer(page, quick_signature["signer_name"])
    add_photo(page, photo_file)
    next_step(page)
    draw(page, SCRIBBLE, box_fraction=0.12)
    next_step(page)
    page.get_by_test_id("location-allow").click()
    page.get_by_test_id("submit").click()

    # The server's 422 sends the recipient back to the signature, in words.
    error = page.locator("[data-testid=error][data-for=signature]")
    error.wait_for()
    assert page.get_by_test_id("signature-pad").is_visible()
    assert "写全名" in error.inner_text()
    assert "signature_" in error.get_attribute("data-codes")
    phone.screenshot("recipient-4b-signature-rejected")
    assert world.get(f"/waybills/{number}").get_json()["status"] == "out_for_delivery"

    page.get_by_test_id("signature-clear").click()
    draw(page, quick_signature["strokes"])
    page.get_by_test_id("signature-undo").click()                       # a slip of the finger…
    draw(page, quick_signature["strokes"][-1:], frame=quick_signature["strokes"])   # …written again
    next_step(page)
    page.get_by_test_id("submit").click()
    receipt_id = receipt_of(page)

    stored = evidence(world, receipt_id)
    assert_strokes_recorded(stored, quick_signature["strokes"])
    assert stored["photos"][0]["sha256"] == hashlib.sha256(photo_file.read_bytes()).hexdigest()


def test_reload_keeps_entries_and_a_lost_answer_is_retried_with_the_same_submission(
        phone, world, sign_link, quick_signature, photo_file):
    page = phone.page
    number, link = sign_link()
    page.goto(link["url"])
    page.get_by_test_id("items-confirm").click()
    sign_to_location(page, quick_signature["signer_name"], quick_signature["strokes"], photo_file, "colleague")

    page.reload()
    page.get_by_test_id("location-allow").wait_for()
    page.locator("[data-back]:visible").click()                         # back to the signature: still there
    saved = "() => JSON.parse(sessionStorage.getItem('ds:sign:' + location.pathname.slice(3)))"
    assert len(page.evaluate(saved)["strokes"]) == len(quick_signature["strokes"])
    page.locator("[data-back]:visible").click()
    assert page.get_by_test_id("photo-thumb").get_attribute("data-status") == "done"
    page.locator("[data-back]:visible").click()
    assert page.get_by_test_id("signer-name").input_value() == quick_signature["signer_name"]
    assert page.locator("[data-testid=signer-relation] input[value=colleague]").is_checked()
    next_step(page)
    next_step(page)
    next_step(page)
    submission_id = page.evaluate(saved)["submissionId"]

    # The first submit reaches the server but its answer is lost; the page tries again.
    lost = []

    def lose_answer(route):
        if not lost:
            lost.append(route.fetch().status)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/submit", lose_answer)
    page.get_by_test_id("location-allow").click()
    page.get_by_test_id("submit").click()
    receipt_id = receipt_of(page)
    assert lost == [201]

    stored = evidence(world, receipt_id)
    assert stored["submission_id"] == submission_id
    assert stored["signer"]["relation"] == "colleague"
    assert_strokes_recorded(stored, quick_signature["strokes"])
    assert page.evaluate("() => sessionStorage.length") == 0             # nothing kept after success


def test_expired_and_unknown_links_show_a_clear_page(phone, world, sign_link):
    page = phone.page
    number, old = sign_link()
    page.goto(old["url"])
    page.get_by_test_id("items-confirm").click()

    # The courier makes a new QR: the open page's link dies, and says so at the next call.
    world.post("/sign-links", {"waybills": [number]}, who="courier1")
    fill_signer(page, "李娜")
    page.get_by_test_id("photo-input").set_input_files(
        files=[{"name": "x.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff"}])
    state = page.get_by_test_id("link-state")
    state.wait_for()
    assert state.get_attribute("data-state") == "expired"
    assert "二维码已过期" in state.inner_text()

    response = page.goto(old["url"])
    assert response.status == 410
    assert page.get_by_test_id("link-state").get_attribute("data-state") == "expired"
    phone.screenshot("recipient-7-expired")
    page.get_by_test_id("lang-switch").click()
    assert "QR code expired" in page.get_by_test_id("link-state").inner_text()
    page.get_by_test_id("lang-switch").click()

    response = page.goto("/s/not-a-real-token")
    assert response.status == 404
    assert "链接无效" in page.get_by_test_id("link-state").inner_text()


def test_english_switch(phone, sign_link):
    page = phone.page
    _, link = sign_link()
    page.goto(link["url"])
    page.get_by_test_id("item-row").first.wait_for()
    page.get_by_test_id("lang-switch").click()
    assert page.locator("h1:visible").inner_text() == "Check the goods"
    assert "1 件 shipped" in page.get_by_test_id("item-row").first.inner_text()
    assert page.evaluate("() => document.documentElement.lang") == "en"
    page.get_by_test_id("lang-switch").click()
    assert page.locator("h1:visible").inner_text() == "核对货物"


def test_strict_policy_otp_and_a_flaky_upload(phone, world, sign_link, quick_signature, photo_file):
    """Consignee only, OTP to the consignee's phone, location required; the first photo
    upload dies on the network and is retried by the page."""
    world.patch("/doc-types/default", {"policy": {"otp": "required", "signer": "consignee_only",
                                                  "location": "required"}})
    page = phone.page
    _, link = sign_link()
    page.goto(link["url"])
    page.get_by_test_id("items-confirm").click()

    page.get_by_test_id("signer-name").fill(quick_signature["signer_name"])
    page.locator("[data-testid=signer-relation] input[value=family]").check()
    next_step(page)
    error = page.locator("[data-testid=error][data-for=signer]")
    assert error.get_attribute("data-codes") == "consignee_only otp_required"
    assert "本次送货须由收货人本人签收" in error.inner_text()
    page.locator("[data-testid=signer-relation] input[value=self]").check()

    page.get_by_test_id("otp-send").click()
    expect(page.locator("#otp-hint")).to_have_text("验证码已发送至 138****8000")
    sms = world.get("/dev/sms-outbox").get_json()["items"][0]["text"]
    page.get_by_test_id("otp-code").fill(re.search(r"\b(\d{6})\b", sms).group(1))
    page.get_by_test_id("otp-verify").click()
    page.locator("#otp-ok").wait_for()
    next_step(page)

    dropped = []
    page.route("**/photos", lambda route: (dropped.append(1), route.abort("connectionreset")) if not dropped
               else route.continue_())
    add_photo(page, photo_file)
    assert dropped == [1]
    next_step(page)
    draw(page, quick_signature["strokes"])
    next_step(page)
    assert page.get_by_test_id("location-skip").is_hidden()
    page.get_by_test_id("location-allow").click()
    page.get_by_test_id("submit").click()
    stored = evidence(world, receipt_of(page))
    assert stored["checks"]["otp_verified"] is True
    assert stored["signer"]["relation"] == "self"
    assert len(stored["photos"]) == 1
