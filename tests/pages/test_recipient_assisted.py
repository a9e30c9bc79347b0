"""The sign page on an assisted link (issue 14), on the courier's phone: the person receiving
has the code sent to their own phone ("验证码发到我的手机"), sees it only masked, reads the
hourly limit of that phone in plain words (not the delivery's), and signs; the code is read from the SMS outbox backend."""
import re

import pytest
from playwright.sync_api import expect

from .axe import assert_accessible
from .phone import draw
from .test_recipient_page import choose, evidence, receipt_of, to_sign

pytestmark = pytest.mark.browser

LIMITED, OWN = "13700001111", "13912345678"


def outbox(world):
    return world.get("/dev/sms-outbox").get_json()["items"]


def assisted_link(world):
    number = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
    response = world.post("/sign-links", {"waybills": [number], "assisted": True}, who="courier1")
    assert response.status_code == 201, response.get_json()
    return number, response.get_json()


def test_the_receiver_gets_the_code_on_their_own_phone(phone, world, signature):
    world.patch("/doc-types/default", {"policy": {"photos_by": "courier", "photos_min": 0}})
    # Another phone has had its five codes this hour, from other deliveries.
    for _ in range(5):
        _, other = assisted_link(world)
        sent = world.client.post(f"/api/v1/sign/{other['token']}/otp", json={"phone": LIMITED})
        assert sent.status_code == 200, sent.get_json()
    number, link = assisted_link(world)
    page = phone.page
    page.goto(link["url"])
    field = page.get_by_test_id("otp-phone")
    expect(field).to_be_visible()
    expect(page.get_by_text("验证码发到我的手机")).to_be_visible()
    assert_accessible(page, "assisted confirm")

    field.fill(LIMITED)
    page.get_by_test_id("otp-send").click()
    signer_error = page.locator("[data-testid=error][data-for=signer]")
    expect(signer_error).to_have_text("这个手机号一小时内已收到 5 条验证码，不能再发了。请换一个手机号，或一小时后再试")
    assert len(outbox(world)) == 5                              # nothing more went out
    expect(signer_error).to_be_in_viewport(ratio=1)             # shown where it is read, not below the fold
    phone.screenshot("recipient-assisted-phone-limit")
    assert_accessible(page, "assisted phone limit")

    field.fill("12345")
    page.get_by_test_id("otp-send").click()
    expect(signer_error).to_have_text("手机号不正确，请输入 11 位手机号")

    field.fill(OWN)
    page.get_by_test_id("otp-send").click()
    expect(page.get_by_test_id("otp-hint")).to_have_text("验证码已发送至 139****5678")
    expect(field).to_be_hidden()
    assert signer_error.is_hidden()
    assert OWN not in page.content()                            # masked once sent
    [sms] = [m for m in outbox(world) if m["phone"] == "139****5678"]
    code = re.search(r"\b(\d{6})\b", sms["text"]).group(1)
    page.get_by_test_id("otp-code").fill(code)
    page.get_by_test_id("otp-verify").click()
    expect(page.locator("#otp-ok")).to_be_visible()
    phone.screenshot("recipient-assisted-verified")
    assert_accessible(page, "assisted verified")

    choose(page, "guard", "刘洋")
    to_sign(page)
    draw(page, signature["strokes"])
    page.get_by_test_id("submit").click()
    stored = evidence(world, receipt_of(page))
    assert stored["assisted"] == {"declared": True, "otp_to": "receiver", "otp_phone_masked": "139****5678"}
    assert world.get(f"/waybills/{number}").get_json()["status"] == "signed"
