"""The sign-off end to end over HTTP: link, view, photo, submit, receipt."""
import cv2
import numpy as np

from delivery_sign.core.audit import AuditEvent
from delivery_sign.extensions import db


def test_link_moves_waybill_out_for_delivery(door, world):
    link = door.link
    assert link["url"] == f"http://testserver/s/{door.token}"
    assert len(door.token) >= 22 and link["waybills"] == [door.number]
    assert link["qr_png"].endswith(f"/sign-links/{door.token}/qr.png")
    assert world.get(f"/waybills/{door.number}").get_json()["status"] == "out_for_delivery"
    status = world.get(f"/sign-links/{door.token}/status", who="courier1").get_json()
    assert status["state"] == "pending" and status["receipt_id"] is None


def test_token_is_stored_hashed(door, app):
    from delivery_sign.signing.models import SignLink

    with app.app_context():
        hashes = [l.token_hash for l in db.session.query(SignLink).all()]
    assert door.token not in hashes and len(hashes[-1]) == 64


def test_qr_png_decodes_to_the_url(door, client):
    response = client.get(f"/api/v1/sign-links/{door.token}/qr.png?size=400")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "max-age" in response.headers["Cache-Control"]
    image = cv2.imdecode(np.frombuffer(response.data, np.uint8), cv2.IMREAD_GRAYSCALE)
    # OpenCV's ArUco-based detector: the classic QRCodeDetector misses ~4 % of clean codes.
    decoded, _, _ = cv2.QRCodeDetectorAruco().detectAndDecode(image)
    assert decoded == door.link["url"]
    svg = client.get(f"/api/v1/sign-links/{door.token}/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert client.get(f"/api/v1/sign-links/{door.token}/qr.png?size=5000").status_code == 422


def test_recipient_view_is_masked(door, world):
    view = door.view()
    assert view.status_code == 200
    body = view.get_json()
    waybill = body["waybills"][0]
    assert waybill["number"] == door.number
    assert waybill["consignee"] == {"name_masked": "李*", "phone_masked": "138****8000",
                                    "address": "上海市浦东新区世纪大道100号"}
    assert [i["name"] for i in waybill["items"]] == ["三人位沙发", "餐椅"]
    assert body["policy"]["photos_min"] == 1 and body["tenant"]["name"].startswith("测试物流")
    assert "13800138000" not in view.get_data(as_text=True)
    assert world.get(f"/sign-links/{door.token}/status", who="courier1").get_json()["state"] == "opened"


def test_happy_path(door, world, app):
    photo = door.upload()
    assert photo.status_code == 201
    photo_body = photo.get_json()
    assert photo_body["width"] == 1600 and len(photo_body["sha256"]) == 64
    body = door.body(photo_ids=[photo_body["photo_id"]])
    response = door.submit(body)
    assert response.status_code == 201, response.get_json()
    result = response.get_json()
    assert result["status"] == "signed"
    assert result["receipt_pdf"].endswith(f"/receipts/{result['receipt_id']}/pdf")
    assert result["anomalies"] == []
    waybill = world.get(f"/waybills/{door.number}").get_json()
    assert waybill["status"] == "signed" and waybill["signed_at"]
    status = world.get(f"/sign-links/{door.token}/status", who="courier1").get_json()
    assert status["state"] == "signed" and status["receipt_id"] == result["receipt_id"]
    assert status["signer"] == {"name": door.signature["signer_name"], "relation": "self"}

    evidence = world.get(f"/receipts/{result['receipt_id']}").get_json()
    assert evidence["evidence"]["signature"]["strokes"] == door.signature["strokes"]
    assert evidence["evidence"]["photos"][0]["sha256"] == photo_body["sha256"]
    assert evidence["evidence"]["location"]["raw"]["coord_system"] == "gcj02"
    assert evidence["evidence"]["location"]["distance_to_consignee_m"] < 1
    assert evidence["evidence"]["waybills"][0]["consignee"]["phone_masked"] == "138****8000"
    from delivery_sign.core.audit import canonical_json
    import hashlib
    assert hashlib.sha256(canonical_json(evidence["evidence"])).hexdigest() == evidence["evidence_hash"]
    with app.app_context():
        event = db.session.query(AuditEvent).filter_by(tenant_id=world.tenant_id, seq=evidence["audit_seq"]).one()
        assert event.event_type == "signoff.submitted" and event.data["evidence_hash"] == evidence["evidence_hash"]
    assert world.get("/audit/verify").get_json()["ok"] is True


def test_same_submission_again_is_200_other_is_409(door):
    body = door.body()
    first = door.submit(body)
    assert first.status_code == 201
    again = door.submit(body)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    other = door.submit(door.body(photo_ids=[]))
    assert other.status_code in (409, 410)
    assert door.view().status_code == 410


def test_receipt_files(door, world):
    photo_id = door.upload().get_json()["photo_id"]
    receipt_id = door.submit(door.body(photo_ids=[photo_id])).get_json()["receipt_id"]
    png = world.get(f"/receipts/{receipt_id}/signature.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    svg = world.get(f"/receipts/{receipt_id}/signature.svg")
    assert svg.status_code == 200 and b"<path" in svg.data
    original = world.get(f"/receipts/{receipt_id}/photos/{photo_id}")
    assert original.data == door.photo
    thumb = world.get(f"/receipts/{receipt_id}/photos/{photo_id}?variant=thumb")
    assert thumb.mimetype == "image/jpeg" and len(thumb.data) < len(door.photo)
    pdf = world.get(f"/receipts/{receipt_id}/pdf")
    assert pdf.status_code == 202 and pdf.headers["Retry-After"]
    assert world.get(f"/receipts/{receipt_id}", who="disp_west").status_code == 404
    assert world.get(f"/receipts/{receipt_id}", who="courier2").status_code == 404
    assert world.get(f"/receipts/{receipt_id}", who="api").status_code == 200


def test_other_tenant_cannot_read_receipt_or_status(door, other_world):
    receipt_id = door.submit().get_json()["receipt_id"]
    assert other_world.get(f"/receipts/{receipt_id}").status_code == 404
    assert other_world.get(f"/receipts/{receipt_id}/signature.png").status_code == 404
    assert other_world.get(f"/sign-links/{door.token}/status").status_code == 404


def test_a_new_link_retires_the_old_one(door, world):
    newer = world.post("/sign-links", {"waybills": [door.number]}, who="courier1").get_json()
    assert door.view().status_code == 410
    assert door.client.get(f"/api/v1/sign/{newer['token']}").status_code == 200


def test_several_waybills_one_consignee(world, make_door, signature, photo_jpeg):
    a = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
    b = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
    link = world.post("/sign-links", {"waybills": [a, b]}, who="courier1").get_json()
    view = world.client.get(f"/api/v1/sign/{link['token']}").get_json()
    assert [w["number"] for w in view["waybills"]] == [a, b]
    other_phone = world.waybill(courier="courier1", org_unit="EAST-1",
                                consignee={"name": "王伟", "phone": "13912345678", "address": "x"})["number"]
    mixed = world.post("/sign-links", {"waybills": [a, other_phone]}, who="courier1")
    assert mixed.status_code == 422 and mixed.get_json()["errors"][0]["code"] == "consignee_mismatch"


def test_who_may_make_links(world):
    mine = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
    theirs = world.waybill(courier="courier2", org_unit="EAST-1")["number"]
    assert world.post("/sign-links", {"waybills": [theirs]}, who="courier1").status_code == 404
    assert world.post("/sign-links", {"waybills": [mine]}, who="disp_east").status_code == 201
    assert world.post("/sign-links", {"waybills": [mine]}, who="disp_west").status_code == 404
    assert world.post("/sign-links", {"waybills": [mine]}, who="api").status_code == 403
    cancelled = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
    world.post(f"/waybills/{cancelled}/cancel", {"reason": "x"})
    assert world.post("/sign-links", {"waybills": [cancelled]}, who="courier1").status_code == 409
    assert world.post("/sign-links", {"waybills": []}, who="courier1").status_code == 422
