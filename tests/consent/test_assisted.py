"""The assisted sign-off on the courier's phone, the sign link sent by SMS, and WeChat's subscription message."""
import json
import re
import uuid

import pytest
from sqlalchemy import select

from delivery_sign.accounts.models import User
from delivery_sign.extensions import db
from tests.factories import Door
from tests.fakes import SubscribingWechat

from .conftest import last_token, outbox


@pytest.fixture
def fake_wechat(app):
    fake = SubscribingWechat()
    keys = ("WECHAT_APPID", "WECHAT_SECRET", "WECHAT_API_BASE", "WECHAT_CONSENT_TEMPLATE_ID")
    saved = {k: app.config[k] for k in keys}
    # An appid of its own: the process caches access_token per appid, and this fake issues its own.
    app.config.update(WECHAT_APPID=f"wx-consent-{uuid.uuid4().hex[:8]}", WECHAT_SECRET="wx-secret", WECHAT_API_BASE=fake.url,
                      WECHAT_CONSENT_TEMPLATE_ID="tmpl-consent")
    yield fake
    app.config.update(saved)
    fake.close()


def _assisted_door(world, signature, photo):
    door = Door.__new__(Door)
    door.world, door.client, door.signature, door.photo = world, world.client, signature, photo
    door.waybill = world.waybill(courier="courier1", org_unit="EAST-1")
    door.number = door.waybill["number"]
    response = world.post("/sign-links", {"waybills": [door.number], "assisted": True}, who="courier1")
    assert response.status_code == 201, response.get_json()
    door.link = response.get_json()
    door.token = door.link["token"]
    return door


def _code(world):
    return re.search(r"\b(\d{6})\b", outbox(world)[0]["text"]).group(1)


def _bind_courier_openid(app, world, openid):
    with app.app_context():
        user = db.session.execute(select(User).where(User.tenant_id == world.tenant_id,
                                                     User.username == "courier1")).scalar_one()
        user.wechat_openid = openid
        db.session.commit()


def test_assisted_link_needs_an_otp_and_records_whose_phone(app, world, signature, photo_jpeg, fake_wechat):
    door = _assisted_door(world, signature, photo_jpeg)
    assert door.link["assisted"] is True
    view = door.view().get_json()
    assert view["assisted"] is True and view["policy"]["otp"] == "required"
    assert "otp_required" in {e["code"] for e in door.submit().get_json()["errors"]}

    # The doorman receives: the code goes to the phone he gives, masked everywhere.
    sent = door.client.post(f"/api/v1/sign/{door.token}/otp", json={"phone": "139 1234 5678"})
    assert sent.status_code == 200 and sent.get_json()["sent_to"] == "139****5678"
    assert outbox(world)[0]["phone"] == "139****5678"
    assert door.client.post(f"/api/v1/sign/{door.token}/otp/verify", json={"code": _code(world)}).status_code == 200

    # Signed on the courier's own WeChat: declared and verified, so no finding.
    _bind_courier_openid(app, world, "openid-courier1")
    fake_wechat.openids["code-on-courier-phone"] = "openid-courier1"
    body = door.body(signer={"name": signature["signer_name"], "relation": "guard"},
                     wechat_code="code-on-courier-phone")
    signed = door.submit(body)
    assert signed.status_code == 201, signed.get_json()
    assert "signed_on_courier_device" not in signed.get_json()["anomalies"]
    evidence = world.get(f"/receipts/{signed.get_json()['receipt_id']}").get_json()["evidence"]
    assert evidence["assisted"] == {"declared": True, "otp_to": "receiver", "otp_phone_masked": "139****5678"}
    assert "13912345678" not in json.dumps(evidence)


def test_assisted_otp_to_the_consignee(world, signature, photo_jpeg):
    door = _assisted_door(world, signature, photo_jpeg)
    assert door.client.post(f"/api/v1/sign/{door.token}/otp").get_json()["sent_to"] == "138****8000"
    door.client.post(f"/api/v1/sign/{door.token}/otp/verify", json={"code": _code(world)})
    signed = door.submit()
    evidence = world.get(f"/receipts/{signed.get_json()['receipt_id']}").get_json()["evidence"]
    assert evidence["assisted"]["otp_to"] == "consignee"


def test_undeclared_sign_off_on_the_courier_device_is_still_flagged(app, world, door, fake_wechat):
    _bind_courier_openid(app, world, "openid-courier1")
    fake_wechat.openids["code-x"] = "openid-courier1"
    signed = door.submit(door.body(wechat_code="code-x"))
    assert "signed_on_courier_device" in signed.get_json()["anomalies"]
    assert "assisted" not in world.get(f"/receipts/{signed.get_json()['receipt_id']}").get_json()["evidence"]


def test_assisted_forbidden_by_policy_and_phone_only_on_assisted_links(world, door):
    assert world.patch("/doc-types/default", {"policy": {"assisted": "forbidden"}}).status_code == 200
    refused = world.post("/sign-links", {"waybills": [door.number], "assisted": True}, who="courier1")
    assert refused.status_code == 409 and refused.get_json()["errors"][0]["code"] == "assisted_forbidden"
    assert world.patch("/doc-types/default", {"policy": {"assisted": "sometimes"}}).status_code == 422
    world.patch("/doc-types/default", {"policy": {"otp": "required"}})
    plain = Door(world, door.signature, door.photo)
    other_phone = plain.client.post(f"/api/v1/sign/{plain.token}/otp", json={"phone": "13912345678"})
    assert other_phone.status_code == 422 and other_phone.get_json()["errors"][0]["code"] == "phone_not_allowed"
    assert plain.client.post(f"/api/v1/sign/{plain.token}/otp", json={"phone": "not a phone"}).status_code == 422


def test_codes_to_one_phone_are_limited_across_links(world, signature, photo_jpeg):
    for _ in range(5):
        door = _assisted_door(world, signature, photo_jpeg)
        assert door.client.post(f"/api/v1/sign/{door.token}/otp", json={"phone": "13912345678"}).status_code == 200
    door = _assisted_door(world, signature, photo_jpeg)
    limited = door.client.post(f"/api/v1/sign/{door.token}/otp", json={"phone": "13912345678"})
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    problem = limited.get_json()
    assert problem["code"] == "otp_phone_limit" and problem["type"].endswith("/too-many-requests")
    assert problem["title"] == "Too many requests" and problem["status"] == 429 and "phone" in problem["detail"]
    assert door.client.post(f"/api/v1/sign/{door.token}/otp").status_code == 200   # the consignee's own phone


def test_send_the_sign_link_by_sms_with_limits(world, door, make_door):
    sent = world.post(f"/sign-links/{door.token}/send", {}, who="courier1")
    assert sent.status_code == 200 and sent.get_json()["sent_to"] == "138****8000"
    [sms] = outbox(world)
    assert last_token(world, path="s") == door.token and "签收" in sms["text"]
    again = world.post(f"/sign-links/{door.token}/send", {}, who="courier1")
    assert again.status_code == 429 and again.get_json()["code"] == "send_too_soon"
    assert 1 <= int(again.headers["Retry-After"]) <= 60          # the minute's wait, not an hour
    # The neighbour's phone, for another delivery of the same consignee: its own budget.
    neighbour = make_door()
    assert world.post(f"/sign-links/{neighbour.token}/send", {"phone": "13912345678"},
                      who="disp_east").get_json()["sent_to"] == "139****5678"
    assert world.post(f"/sign-links/{neighbour.token}/send", {"phone": "12"}, who="courier1").status_code == 422
    assert world.post(f"/sign-links/{neighbour.token}/send", {}, who="courier2").status_code == 404
    assert world.post("/sign-links/nope/send", {}, who="courier1").status_code == 404
    # Five links to one phone an hour, whatever the link.
    for _ in range(5):
        other = make_door()
        assert world.post(f"/sign-links/{other.token}/send", {"phone": "13700001111"}, who="courier1").status_code == 200
    other = make_door()
    limited = world.post(f"/sign-links/{other.token}/send", {"phone": "13700001111"}, who="courier1")
    assert limited.status_code == 429 and limited.get_json()["code"] == "send_phone_limit"
    assert 3000 < int(limited.headers["Retry-After"]) <= 3600
    # A used link is not sent.
    assert door.submit().status_code == 201
    assert world.post(f"/sign-links/{door.token}/send", {}, who="courier1").status_code == 410


def test_consent_question_as_a_wechat_subscription_message(world, parcel, fake_wechat):
    fake_wechat.subscribed.add("openid-consignee")
    asked = parcel.ask(wechat_openid="openid-consignee")
    assert asked.status_code == 201 and asked.get_json()["channel"] == "wechat"
    [message] = fake_wechat.messages
    assert message["template_id"] == "tmpl-consent" and message["touser"] == "openid-consignee"
    token = message["page"].split("token=")[1]
    assert world.client.get(f"/api/v1/consent/{token}").get_json()["state"] == "open"
    assert outbox(world) == []
    # A consignee who did not subscribe: 409 (send an SMS), and no request is left behind.
    other = parcel.world.waybill(courier="courier1", org_unit="EAST-1")["number"]
    refused = world.post(f"/waybills/{other}/consent-requests", {"options": ["guard"], "wechat_openid": "openid-x"},
                         who="courier1")
    assert refused.status_code == 409 and refused.get_json()["type"].endswith("wechat-not-subscribed")
    assert world.get(f"/waybills/{other}/consent", who="courier1").get_json()["latest_request"] is None


def test_wechat_channel_needs_wechat_configured(world, parcel):
    assert parcel.ask(wechat_openid="openid-consignee").status_code == 409


def test_a_link_sent_to_sign_later_lives_a_day(app, world, door, move_clock):
    from datetime import timedelta

    from delivery_sign.core.audit import AuditEvent
    from delivery_sign.core.jobs import Job

    assert world.patch("/doc-types/default", {"policy": {"sign_later_ttl_s": 30}}).status_code == 422
    assert world.patch("/doc-types/default", {"policy": {"sign_later_ttl_s": 8 * 24 * 3600}}).status_code == 422
    assert world.patch("/doc-types/default", {"policy": {"sign_later_ttl_s": "1h"}}).status_code == 422
    before = door.link["expires_at"]
    sent = world.post(f"/sign-links/{door.token}/send", {}, who="courier1")
    assert sent.status_code == 200
    expires_at = sent.get_json()["expires_at"]
    assert expires_at > before
    with app.app_context():
        event = db.session.query(AuditEvent).filter_by(tenant_id=world.tenant_id, event_type="link.sent").one()
        assert event.data["expires_at"] == expires_at and event.data["extended_from"] == before
        sweeps = db.session.query(Job).filter(Job.dedupe_key.like("sweep-link:%")).all()
        assert any(job.run_after > event.created_at + timedelta(hours=24) for job in sweeps)
    assert "前有效" in outbox(world)[0]["text"]

    # That evening, long past the QR's 15 minutes, the link still opens and signs ...
    move_clock(timedelta(hours=8))
    assert door.view().status_code == 200
    status = world.get(f"/sign-links/{door.token}/status", who="courier1").get_json()
    assert status["state"] in ("pending", "opened") and status["expires_at"] == expires_at
    # ... and a day later it has expired (the courier's own session has too, by then).
    move_clock(timedelta(hours=24, minutes=1))
    expired = door.view()
    assert expired.status_code == 410 and expired.get_json()["type"].endswith("link-expired")


def test_sign_later_ttl_is_the_doc_types(world, door, move_clock):
    from datetime import timedelta

    assert world.patch("/doc-types/default", {"policy": {"sign_later_ttl_s": 3 * 3600}}).status_code == 200
    fresh = Door(world, door.signature, door.photo)     # the link keeps the policy it was made under
    assert world.post(f"/sign-links/{fresh.token}/send", {}, who="courier1").status_code == 200
    move_clock(timedelta(hours=2, minutes=50))
    assert fresh.view().status_code == 200
    move_clock(timedelta(hours=3, minutes=1))
    assert fresh.view().status_code == 410


def test_a_link_sent_too_often_this_hour_says_so(world, make_door, monkeypatch):
    from delivery_sign.consent import sign_later

    monkeypatch.setattr(sign_later, "LINK_LIMITS", "10 per minute;2 per hour")
    door = make_door()
    for _ in range(2):
        assert world.post(f"/sign-links/{door.token}/send", {}, who="courier1").status_code == 200
    limited = world.post(f"/sign-links/{door.token}/send", {}, who="courier1")
    assert limited.status_code == 429 and limited.get_json()["code"] == "send_link_limit"
    assert 3000 < int(limited.headers["Retry-After"]) <= 3600
