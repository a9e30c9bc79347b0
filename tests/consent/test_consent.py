"""Consent requests through HTTP: the SMS, the one answer, bad input, standing consent and revocation."""
import json
from datetime import timedelta

from sqlalchemy import select

from delivery_sign.consent.models import ConsentRequest, StandingConsent
from delivery_sign.consent.services import china_day
from delivery_sign.extensions import db

from .conftest import last_token, outbox


def test_request_sends_an_sms_and_is_answered_once(world, parcel):
    asked = parcel.ask(places={"station": "世纪大道菜鸟驿站"})
    assert asked.status_code == 201
    body = asked.get_json()
    assert set(body) == {"id", "expires_at", "channel", "sent_to"}
    assert body["channel"] == "sms" and body["sent_to"] == "138****8000"
    [sms] = outbox(world)
    assert sms["phone"] == "138****8000" and "放置方式" in sms["text"] and "取消" in sms["text"]
    token = last_token(world)
    assert token not in asked.get_data(as_text=True)   # the courier never holds the consignee's answer key

    view = world.client.get(f"/api/v1/consent/{token}")
    assert view.status_code == 200
    shown = view.get_json()
    assert shown["state"] == "open" and shown["options"] == ["locker", "station", "guard", "reschedule"]
    assert shown["places"] == {"station": "世纪大道菜鸟驿站"}
    assert shown["waybill"]["phone_masked"] == "138****8000" and shown["waybill"]["consignee_name_masked"] == "李*"
    assert parcel.number not in view.get_data(as_text=True) and "13800138000" not in view.get_data(as_text=True)

    answered = parcel.answer(token, choice="station")
    assert answered.status_code == 200
    assert answered.get_json()["answer"]["choice"] == "station"
    assert answered.get_json()["answer"]["place"] == "世纪大道菜鸟驿站"
    again = parcel.answer(token, choice="locker")
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    # The answer stands and the page says it is answered.
    assert world.client.get(f"/api/v1/consent/{token}").get_json()["answer"]["choice"] == "station"
    courier = world.get(f"/waybills/{parcel.number}/consent", who="courier1").get_json()
    assert courier["consent"]["kind"] == "one_off" and courier["consent"]["choice"] == "station"
    assert courier["latest_request"]["state"] == "answered"
    assert world.get("/audit/verify").get_json()["ok"] is True


def test_bad_answers_are_422_and_change_nothing(world, parcel):
    token = parcel.asked()
    for body, code in (({"choice": "door"}, "one_of"), ({"choice": "teleport"}, "one_of"),
                       ({"choice": "reschedule"}, "day_required"),
                       ({"choice": "reschedule", "day": (china_day() + timedelta(days=30)).isoformat()},
                        "day_out_of_range"),
                       ({"choice": "reschedule", "day": (china_day() - timedelta(days=1)).isoformat()},
                        "day_out_of_range"),
                       ({"choice": "guard", "day": china_day().isoformat()}, "day_not_allowed"),
                       ({"choice": "reschedule", "day": china_day().isoformat(), "standing": True},
                        "standing_not_allowed"),
                       ({"choice": "guard", "place": "x" * 101}, None),
                       ({"choice": "guard", "extra": 1}, None)):
        response = parcel.answer(token, **body)
        assert response.status_code == 422, (body, response.get_json())
        if code:
            assert code in {e["code"] for e in response.get_json()["errors"]}, body
    assert world.client.post(f"/api/v1/consent/{token}", data="not json",
                             content_type="application/json").status_code == 400
    assert world.client.get(f"/api/v1/consent/{token}").get_json()["state"] == "open"
    ok = parcel.answer(token, choice="reschedule", day=(china_day() + timedelta(days=2)).isoformat())
    assert ok.status_code == 200
    # A reschedule is no consent to drop.
    assert world.get(f"/waybills/{parcel.number}/consent", who="courier1").get_json()["consent"] is None


def test_unknown_and_expired_links(app, world, parcel):
    assert world.client.get("/api/v1/consent/nope").status_code == 404
    assert world.client.post("/api/v1/consent/" + "x" * 200, json={"choice": "guard"}).status_code == 404
    token = parcel.asked()
    with app.app_context():
        request = db.session.execute(select(ConsentRequest).order_by(ConsentRequest.id.desc())).scalars().first()
        request.expires_at = request.created_at - timedelta(seconds=1)
        db.session.commit()
    assert world.client.get(f"/api/v1/consent/{token}").status_code == 410
    late = parcel.answer(token, choice="guard")
    assert late.status_code == 410 and late.get_json()["type"].endswith("consent-expired")
    assert world.get(f"/waybills/{parcel.number}/consent", who="courier1").get_json()["consent"] is None


def test_consent_for_a_cancelled_waybill_is_refused(world, parcel, make_parcel):
    token = parcel.asked()
    assert world.post(f"/waybills/{parcel.number}/cancel", {"reason": "客户取消"}).status_code == 200
    assert parcel.ask().status_code == 409
    assert parcel.answer(token, choice="guard").status_code == 409


def test_requests_are_tenant_and_courier_scoped(world, other_world, parcel):
    assert other_world.post(f"/waybills/{parcel.number}/consent-requests", {"options": ["guard"]}).status_code == 404
    assert parcel.ask(who="courier2").status_code == 404
    assert parcel.ask(who="disp_west").status_code == 404
    assert world.client.post(f"/api/v1/waybills/{parcel.number}/consent-requests",
                             json={"options": ["guard"]}).status_code == 401
    assert parcel.ask(options=[]).status_code == 422
    assert parcel.ask(options=["roof"]).status_code == 422
    bad_place = parcel.ask(options=["guard"], places={"guard": "x"})
    assert bad_place.status_code == 422
    assert parcel.ask(options=["guard"], places={"locker": "丰巢"}).status_code == 422
    # The business system may ask too, with its API key.
    assert parcel.ask(who="api").status_code == 201


def test_request_limits_per_waybill(world, parcel):
    assert parcel.ask().status_code == 201
    again = parcel.ask()
    assert again.status_code == 429 and again.get_json()["code"] == "ask_too_soon"
    assert 1 <= int(again.headers["Retry-After"]) <= 60
    assert len(outbox(world)) == 1


def test_request_limits_per_waybill_hour_and_per_phone(world, make_parcel, monkeypatch):
    from delivery_sign.consent import services

    monkeypatch.setattr(services, "REQUEST_LIMITS_WAYBILL", "10 per minute;1 per hour")
    monkeypatch.setattr(services, "REQUEST_LIMITS_PHONE", "2 per hour")
    first = make_parcel()
    assert first.ask().status_code == 201
    again = first.ask()
    assert again.status_code == 429 and again.get_json()["code"] == "ask_waybill_limit"
    assert 3000 < int(again.headers["Retry-After"]) <= 3600
    assert make_parcel().ask().status_code == 201            # the same consignee's phone, another waybill
    third = make_parcel().ask()
    assert third.status_code == 429 and third.get_json()["code"] == "ask_phone_limit"
    assert "phone" in third.get_json()["detail"] and 3000 < int(third.headers["Retry-After"]) <= 3600


def test_sms_failure_leaves_no_request(app, world, parcel, http_sms):
    http_sms(fail_with=500)
    failed = parcel.ask()
    assert failed.status_code == 503 and failed.headers["Retry-After"]
    with app.app_context():
        assert db.session.query(ConsentRequest).filter_by(tenant_id=world.tenant_id).count() == 0
    assert world.get(f"/waybills/{parcel.number}/consent", who="courier1").get_json()["latest_request"] is None
    # The failure did not use up the waybill's budget.
    provider = http_sms()
    assert parcel.ask().status_code == 201 and len(provider.requests) == 1


def test_standing_consent_covers_later_parcels_until_revoked(app, world, parcel, make_parcel):
    token = parcel.asked(options=["guard", "locker"])
    answered = parcel.answer(token, choice="guard", standing=True)
    assert answered.status_code == 200
    assert [s["choice"] for s in answered.get_json()["standing"]] == ["guard"]

    # The same consignee and address, written a little differently: covered.
    later = make_parcel(consignee={"name": "李娜", "phone": "13800138000", "address": "上海市浦东新区 世纪大道１００号",
                                   "location": {"lat": 31.2304, "lng": 121.4737, "coord_system": "gcj02"}})
    shown = world.get(f"/waybills/{later.number}/consent", who="courier1").get_json()
    assert shown["consent"]["kind"] == "standing" and shown["consent"]["choice"] == "guard"
    dropped = later.drop(place="guard")
    assert dropped.status_code == 201, dropped.get_json()
    assert dropped.get_json()["consent"]["kind"] == "standing"

    # Another address of the same consignee is not.
    elsewhere = make_parcel(consignee={"name": "李娜", "phone": "13800138000", "address": "上海市徐汇区漕溪北路1号"})
    assert world.get(f"/waybills/{elsewhere.number}/consent", who="courier1").get_json()["consent"] is None

    # Revoked from the link of the SMS, even though that question was answered long ago.
    revoked = world.client.post(f"/api/v1/consent/{token}/standing/revoke")
    assert revoked.status_code == 200 and revoked.get_json() == {"revoked": 1}
    third = make_parcel()
    refused = third.drop(place="guard")
    assert refused.status_code == 409 and refused.get_json()["errors"][0]["code"] == "consent_required"
    assert world.client.post(f"/api/v1/consent/{token}/standing/revoke").get_json() == {"revoked": 0}


def test_standing_consent_expires(app, world, parcel, make_parcel):
    token = parcel.asked(options=["guard"])
    assert parcel.answer(token, choice="guard", standing=True).status_code == 200
    with app.app_context():
        standing = db.session.execute(select(StandingConsent).where(
            StandingConsent.tenant_id == world.tenant_id)).scalar_one()
        # Kept for CONSENT_STANDING_DAYS (default 180) ...
        assert (standing.expires_at - standing.created_at).days == 180
        standing.expires_at = standing.created_at
        db.session.commit()
    # ... and after that a new parcel needs a new answer.
    assert make_parcel().drop(place="guard").status_code == 409


def test_standing_consent_is_per_tenant(world, other_world, parcel, photo_jpeg):
    from .conftest import Parcel

    token = parcel.asked(options=["guard"])
    parcel.answer(token, choice="guard", standing=True)
    stranger = Parcel(other_world, photo_jpeg)
    assert other_world.get(f"/waybills/{stranger.number}/consent", who="courier1").get_json()["consent"] is None


def test_the_answer_records_the_page_that_gave_it(app, world, parcel, make_parcel):
    from delivery_sign.core.audit import AuditEvent

    token = parcel.asked()
    assert parcel.answer(token, choice="station", client={"platform": "fax"}).status_code == 422
    assert parcel.answer(token, choice="station", client={"user_agent": "x" * 501}).status_code == 422
    client = {"platform": "miniprogram", "user_agent": "WeChat/8.0.50 iOS 17.5 iPhone15,2 SDK/3.5.0",
              "time": "2026-12-01T10:02:00.000Z"}
    assert parcel.answer(token, choice="station", client=client).status_code == 200

    # In the audit chain, with its network (the row keeps the address for its days); in the
    # drop's evidence, the page only.
    with app.app_context():
        event = db.session.query(AuditEvent).filter_by(tenant_id=world.tenant_id, event_type="consent.answered").one()
        assert event.data["client"] == {**client, "ip": "127.0.0.*"}
    shown = world.get(f"/waybills/{parcel.number}/consent", who="courier1").get_json()["consent"]
    assert shown["client"] == {"platform": "miniprogram", "user_agent": client["user_agent"]}
    dropped = parcel.drop(place="station")
    assert dropped.status_code == 201 and dropped.get_json()["consent"]["client"]["platform"] == "miniprogram"
    evidence = world.get(f"/receipts/{dropped.get_json()['receipt_id']}").get_json()["evidence"]
    assert evidence["consent"]["client"] == shown["client"] and "127.0.0.1" not in json.dumps(evidence["consent"])

    # A page from before the field says nothing of itself: its User-Agent header stands in.
    older = make_parcel()
    token = older.asked()
    assert world.client.post(f"/api/v1/consent/{token}", json={"choice": "guard"},
                             headers={"User-Agent": "Mozilla/5.0 (old page)"}).status_code == 200
    shown = world.get(f"/waybills/{older.number}/consent", who="courier1").get_json()["consent"]
    assert shown["client"] == {"platform": None, "user_agent": "Mozilla/5.0 (old page)"}
    assert world.get("/audit/verify").get_json()["ok"] is True
