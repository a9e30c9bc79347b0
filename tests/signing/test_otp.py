"""One-time codes to the consignee's phone: sending limits, verification, the lock."""
import re
from datetime import timedelta

from delivery_sign.core.clock import utcnow
from delivery_sign.extensions import db
from delivery_sign.signing.models import OtpCode


def _otp_door(world, make_door):
    world.patch("/doc-types/default", {"policy": {"otp": "required"}})
    return make_door()


def _last_code(world):
    text = world.get("/dev/sms-outbox").get_json()["items"][0]["text"]
    return re.search(r"\b(\d{6})\b", text).group(1)


def test_otp_required_then_verified(world, make_door):
    door = _otp_door(world, make_door)
    assert "otp_required" in {e["code"] for e in door.submit().get_json()["errors"]}
    sent = door.client.post(f"/api/v1/sign/{door.token}/otp")
    assert sent.status_code == 200
    assert sent.get_json() == {"sent_to": "138****8000", "expires_in": 300, "resend_after": 60}
    outbox = world.get("/dev/sms-outbox").get_json()["items"]
    assert outbox[0]["phone"] == "138****8000" and "验证码" in outbox[0]["text"]
    verify = door.client.post(f"/api/v1/sign/{door.token}/otp/verify", json={"code": _last_code(world)})
    assert verify.status_code == 200
    assert door.view().get_json()["otp_verified"] is True
    assert door.submit().status_code == 201


def test_otp_is_stored_hashed(world, make_door, app):
    door = _otp_door(world, make_door)
    door.client.post(f"/api/v1/sign/{door.token}/otp")
    code = _last_code(world)
    with app.app_context():
        stored = db.session.query(OtpCode).order_by(OtpCode.id.desc()).first()
        assert code not in stored.code_hash and len(stored.code_hash) == 64


def test_resend_limits(world, make_door, app):
    door = _otp_door(world, make_door)
    assert door.client.post(f"/api/v1/sign/{door.token}/otp").status_code == 200
    again = door.client.post(f"/api/v1/sign/{door.token}/otp")
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0
    assert again.get_json()["code"] == "otp_too_soon"
    for _ in range(4):
        with app.app_context():   # pretend a minute passed since the last code
            for code in db.session.query(OtpCode).all():
                code.created_at -= timedelta(seconds=61)
            db.session.commit()
        assert door.client.post(f"/api/v1/sign/{door.token}/otp").status_code == 200
    with app.app_context():
        for code in db.session.query(OtpCode).all():
            code.created_at -= timedelta(seconds=61)
        db.session.commit()
    sixth = door.client.post(f"/api/v1/sign/{door.token}/otp")
    assert sixth.status_code == 429 and "hour" in sixth.get_json()["detail"]
    # Its own code, beside the type every 429 shares: the page words it apart from the phone's limit.
    problem = sixth.get_json()
    assert problem["code"] == "otp_link_limit" and problem["type"].endswith("/too-many-requests")


def test_five_wrong_codes_lock_the_link(world, make_door):
    door = _otp_door(world, make_door)
    door.client.post(f"/api/v1/sign/{door.token}/otp")
    right = _last_code(world)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        response = door.client.post(f"/api/v1/sign/{door.token}/otp/verify", json={"code": wrong})
        assert response.status_code == 400
    locked = door.client.post(f"/api/v1/sign/{door.token}/otp/verify", json={"code": right})
    assert locked.status_code == 423
    assert door.view().status_code == 423
    assert door.submit(door.body(photo_ids=[])).status_code == 423


def test_expired_code_is_refused(world, make_door, app):
    door = _otp_door(world, make_door)
    door.client.post(f"/api/v1/sign/{door.token}/otp")
    with app.app_context():
        code = db.session.query(OtpCode).order_by(OtpCode.id.desc()).first()
        code.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert door.client.post(f"/api/v1/sign/{door.token}/otp/verify",
                            json={"code": _last_code(world)}).status_code == 400


def test_otp_when_not_required_and_bad_code_format(door):
    assert door.client.post(f"/api/v1/sign/{door.token}/otp").status_code == 409
    assert door.client.post(f"/api/v1/sign/{door.token}/otp/verify", json={"code": "12ab"}).status_code == 422


def test_outbox_endpoint_is_admin_only(world):
    assert world.get("/dev/sms-outbox", who="disp_east").status_code == 403
