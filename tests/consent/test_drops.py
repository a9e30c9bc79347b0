"""Drops through HTTP: refused without consent, accepted with it, the receipt, PDF, webhook and the race."""
import io
import json
import re
import threading
import time

from pypdf import PdfReader
from sqlalchemy import select

from delivery_sign.extensions import db
from delivery_sign.receipts.models import Photo, Receipt
from tests.webhooks.receiver import Receiver

from .conftest import FAR, Parcel, drain


def _consented(parcel, choice="station", **answer):
    token = parcel.asked(places={"station": "世纪大道菜鸟驿站"})
    assert parcel.answer(token, choice=choice, **answer).status_code == 200
    return token


def test_drop_without_consent_is_409_and_changes_nothing(app, world, parcel):
    before = parcel.status()
    refused = parcel.drop(place="locker")
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["errors"][0]["code"] == "consent_required"
    assert parcel.status() == before
    with app.app_context():
        assert db.session.query(Receipt).filter_by(tenant_id=world.tenant_id).count() == 0


def test_drop_with_consent_is_a_receipt_and_final(world, parcel):
    _consented(parcel)
    photo_id = parcel.photo_id()
    dropped = parcel.drop(place="station", photo_ids=[photo_id], place_code="A3-12")
    assert dropped.status_code == 201, dropped.get_json()
    body = dropped.get_json()
    assert body["status"] == "dropped" and body["outcome"] == "dropped" and body["anomalies"] == []
    assert body["consent"]["kind"] == "one_off" and body["consent"]["choice"] == "station"
    waybill = world.get(f"/waybills/{parcel.number}").get_json()
    assert waybill["status"] == "dropped" and waybill["receipt"]["id"] == body["receipt_id"]
    assert [w["number"] for w in world.get("/waybills?status=dropped").get_json()["items"]] == [parcel.number]

    evidence = world.get(f"/receipts/{body['receipt_id']}").get_json()["evidence"]
    assert evidence["outcome"] == "dropped" and evidence["signature"] is None
    assert evidence["consent"]["request"] == body["consent"]["request"]
    assert evidence["consent"]["sent_to"] == "138****8000"
    assert [p["photo_id"] for p in evidence["photos"]] == [photo_id]
    line = evidence["drop"]["consent_line"]
    assert re.fullmatch(r"放置于世纪大道菜鸟驿站（取件码 A3-12），经收货人同意（短信确认 \d\d-\d\d \d\d:\d\d）", line), line
    assert "13800138000" not in json.dumps(evidence)
    # Nobody signed: the signature views say so instead of failing.
    assert world.get(f"/receipts/{body['receipt_id']}/signature.png").status_code == 404

    # Final: no more photos, no second drop, no new QR.
    assert world.post(f"/waybills/{parcel.number}/drop-photos", who="courier1",
                      data={"file": (io.BytesIO(parcel.photo), "p.jpg"), "kind": "scene"},
                      content_type="multipart/form-data").status_code == 409
    assert parcel.drop(place="station", photo_ids=[photo_id]).status_code == 409
    assert world.post("/sign-links", {"waybills": [parcel.number]}, who="courier1").status_code == 409
    assert world.get("/audit/verify").get_json()["ok"] is True


def test_drop_must_go_where_the_consignee_agreed(world, parcel):
    _consented(parcel, choice="guard")
    wrong = parcel.drop(place="locker")
    assert wrong.status_code == 409 and "guard" in wrong.get_json()["detail"]
    assert parcel.drop(place="guard").status_code == 201


def test_record_policy_drops_with_an_anomaly(world, parcel):
    assert world.patch("/doc-types/default", {"policy": {"drop_without_consent": "record"}}).status_code == 200
    dropped = parcel.drop(place="door")
    assert dropped.status_code == 201
    assert dropped.get_json()["anomalies"] == ["dropped_without_consent"] and dropped.get_json()["consent"] is None
    flagged = world.get("/waybills?anomaly=dropped_without_consent").get_json()["items"]
    assert [w["number"] for w in flagged] == [parcel.number]
    assert world.patch("/doc-types/default", {"policy": {"drop_without_consent": "maybe"}}).status_code == 422


def test_far_drop_is_outside_geofence(world, parcel):
    _consented(parcel)
    dropped = parcel.drop(place="station", location=FAR)
    assert dropped.status_code == 201 and "outside_geofence" in dropped.get_json()["anomalies"]


def test_drop_without_location_is_no_location(world, parcel):
    _consented(parcel)
    dropped = parcel.drop(place="station", location=None)
    assert dropped.status_code == 201 and dropped.get_json()["anomalies"] == ["no_location"]


def test_bad_drop_input(app, world, parcel, make_parcel):
    _consented(parcel)
    garbage = world.post(f"/waybills/{parcel.number}/drop-photos", who="courier1",
                         data={"file": (io.BytesIO(b"GIF89a not a photo"), "x.jpg"), "kind": "scene"},
                         content_type="multipart/form-data")
    assert garbage.status_code == 422 and garbage.get_json()["errors"][0]["code"] == "photo_invalid"
    no_file = world.post(f"/waybills/{parcel.number}/drop-photos", who="courier1", data={"kind": "scene"},
                         content_type="multipart/form-data")
    assert no_file.status_code == 422
    bad_kind = world.post(f"/waybills/{parcel.number}/drop-photos", who="courier1",
                          data={"file": (io.BytesIO(parcel.photo), "x.jpg"), "kind": "selfie"},
                          content_type="multipart/form-data")
    assert bad_kind.status_code == 422
    assert world.post(f"/waybills/{parcel.number}/drop-photos", {"file": "x"}, who="courier1").status_code == 415
    assert parcel.drop(place="station", photo_ids=[]).get_json()["errors"][0]["code"] == "photos_missing"
    assert parcel.drop(place="station", photo_ids=["nope"]).get_json()["errors"][0]["code"] == "photo_invalid"
    assert parcel.drop(place="roof").status_code == 422
    assert parcel.drop(place="station", location={"lat": 999, "lng": 0}).status_code == 422
    assert world.post(f"/waybills/{parcel.number}/drop", {"place": "station"}, who="courier1").status_code == 422
    # Another courier's, or another waybill's photo, is not this drop's.
    assert world.post(f"/waybills/{parcel.number}/drop", {"place": "station", "photo_ids": [], "location": None},
                      who="courier2").status_code == 404
    other = make_parcel()
    foreign_photo = other.photo_id()
    assert parcel.drop(place="station", photo_ids=[foreign_photo]).status_code == 422
    assert parcel.status() == "assigned"
    with app.app_context():
        assert db.session.query(Receipt).filter_by(tenant_id=world.tenant_id).count() == 0


def test_pdf_and_webhook_of_a_drop(world, parcel):
    receiver = Receiver()
    try:
        hook = world.post("/webhooks", {"url": receiver.url, "events": ["waybill.dropped"]}).get_json()
        _consented(parcel)
        receipt_id = parcel.drop(place="station", place_code="A3-12").get_json()["receipt_id"]
        drain(world)
        deadline = time.monotonic() + 10
        while not receiver.accepted and time.monotonic() < deadline:
            drain(world)
            time.sleep(0.05)
        [event] = receiver.accepted
        assert event["type"] == "waybill.dropped"
        assert event["data"]["number"] == parcel.number and event["data"]["receipt_id"] == receipt_id
        assert event["data"]["consent"]["choice"] == "station" and event["data"]["place_code"] == "A3-12"
        assert world.get(f"/webhooks/{hook['id']}/deliveries").get_json()["items"][0]["status"] == "succeeded"
    finally:
        receiver.close()
    pdf = world.get(f"/receipts/{receipt_id}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    compact = re.sub(r"\s+", "", text)
    assert "放置于世纪大道菜鸟驿站" in compact and "经收货人同意（短信确认" in compact, compact[:600]
    assert "手写签名" not in compact
    verified = world.client.post("/api/v1/verify", data=pdf.data, content_type="application/pdf").get_json()
    assert verified["pdf_signature_valid"] and verified["evidence_hash_matches"]


def test_drop_racing_a_sign_off_has_one_winner(app, world, door):
    parcel_like = Parcel(world, door.photo, number=door.number)
    token = parcel_like.asked()
    assert parcel_like.answer(token, choice="guard").status_code == 200
    drop_photo = parcel_like.photo_id()
    sign_body = door.body()
    results, lock = {}, threading.Lock()
    barrier = threading.Barrier(2)

    def sign():
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/api/v1/sign/{door.token}/submit", json=sign_body)
        with lock:
            results["sign"] = response.status_code

    def drop():
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/api/v1/waybills/{door.number}/drop", headers=world.auth("courier1"),
                               json={"place": "guard", "photo_ids": [drop_photo], "location": None})
        with lock:
            results["drop"] = response.status_code

    threads = [threading.Thread(target=sign), threading.Thread(target=drop)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # The loser is told the waybill is final: a drop gets 409, a sign-off the sign page's 410.
    loser = "drop" if results["sign"] == 201 else "sign"
    assert results[loser] == (409 if loser == "drop" else 410) and 201 in results.values(), results
    status = world.get(f"/waybills/{door.number}").get_json()["status"]
    assert status == ("signed" if results["sign"] == 201 else "dropped")
    with app.app_context():
        receipts = db.session.execute(select(Receipt).where(Receipt.tenant_id == world.tenant_id)).scalars().all()
        assert len(receipts) == 1 and receipts[0].outcome == ("signed" if results["sign"] == 201 else "dropped")


def test_a_sign_off_after_a_drop_is_410_completed(world, door):
    parcel_like = Parcel(world, door.photo, number=door.number)
    token = parcel_like.asked()
    parcel_like.answer(token, choice="guard")
    body = door.body()
    assert parcel_like.drop(place="guard").status_code == 201
    late = door.submit(body)
    assert late.status_code == 410 and late.get_json()["type"].endswith("waybill-completed")


def test_a_drop_closes_the_waybills_open_sign_links(app, world, door, make_door):
    from delivery_sign.core.audit import AuditEvent

    def status(token):
        return world.get(f"/sign-links/{token}/status", who="courier1").get_json()

    other = make_door()                     # another parcel of the round: its link stays as it was
    assert status(door.token)["state"] == "pending" and status(door.token)["closed"] is None
    parcel_like = Parcel(world, door.photo, number=door.number)
    parcel_like.answer(parcel_like.asked(), choice="guard")
    assert parcel_like.drop(place="guard").status_code == 201

    # The courier's QR screen: no longer pending, and it says why.
    closed = status(door.token)
    assert closed["state"] == "expired" and closed["closed"] == "dropped" and closed["receipt_id"] is None
    assert status(other.token)["state"] == "pending" and status(other.token)["closed"] is None
    gone = door.view()
    assert gone.status_code == 410 and gone.get_json()["type"].endswith("waybill-completed")
    with app.app_context():
        [event] = db.session.query(AuditEvent).filter_by(tenant_id=world.tenant_id, event_type="link.revoked").all()
        assert event.data == {"reason": "waybill_dropped", "waybill": door.number}
    assert world.get("/audit/verify").get_json()["ok"] is True


def test_photos_of_a_drop_never_made_are_swept(app, world, parcel):
    from datetime import timedelta

    from delivery_sign.core.clock import utcnow
    from delivery_sign.core.storage import get_storage

    parcel.photo_id()
    with app.app_context():
        photo = db.session.execute(select(Photo).where(Photo.tenant_id == world.tenant_id)).scalar_one()
        key = photo.storage_key
        assert get_storage().exists(key)
    drain(world, now=utcnow() + timedelta(hours=13))
    with app.app_context():
        assert db.session.execute(select(Photo).where(Photo.tenant_id == world.tenant_id)).first() is None
        assert not get_storage().exists(key)


def test_a_drop_receipt_goes_through_retention_and_still_verifies(world, parcel, runner):
    # A drop has no signer and no strokes: the retention purge (issue 19) must pass over
    # the strokes part and purge the rest, with the chain still whole.
    from datetime import timedelta

    from delivery_sign.core.clock import utcnow

    _consented(parcel)
    dropped = parcel.drop(place="station", photo_ids=[parcel.photo_id()])
    assert dropped.status_code == 201, dropped.get_json()
    receipt_id = dropped.get_json()["receipt_id"]
    as_of = (utcnow() + timedelta(days=1096)).strftime("%Y-%m-%dT%H:%M:%S")
    result = runner.invoke(args=["retention-purge", "--as-of", as_of])
    assert result.exit_code == 0, result.output
    evidence = world.get(f"/receipts/{receipt_id}").get_json()["evidence"]
    assert evidence["signature"] is None and "photos" in evidence["retention"]["purged"]
    assert world.get("/audit/verify").get_json()["ok"] is True
    # And at the end of the receipt's own retention it expires like any other.
    as_of = (utcnow() + timedelta(days=3651)).strftime("%Y-%m-%dT%H:%M:%S")
    result = runner.invoke(args=["retention-purge", "--as-of", as_of])
    assert result.exit_code == 0, result.output
    assert world.get(f"/receipts/{receipt_id}").get_json()["evidence"]["signer"] is None
    assert world.get("/audit/verify").get_json()["ok"] is True


def test_a_drop_photo_is_stored_and_filed_as_a_sign_links_photo_is(app, world, parcel):
    """One owner for photos (receipts.photos): a drop's upload keeps the thumbnail its decode
    made beside the original, files the hash chunks and names the courier who took it."""
    from delivery_sign.core.storage import get_storage
    from delivery_sign.receipts.models import PhotoHashChunk
    from delivery_sign.receipts.services import derivative_key

    photo_id = parcel.photo_id()
    with app.app_context():
        photo = db.session.execute(select(Photo).where(Photo.public_id == photo_id)).scalar_one()
        storage = get_storage()
        assert storage.exists(photo.storage_key)
        assert storage.exists(derivative_key(photo.tenant_id, photo.sha256, "thumb"))
        chunks = db.session.execute(select(PhotoHashChunk).where(PhotoHashChunk.photo_id == photo.id)).scalars().all()
        assert len(chunks) == 4
        assert (photo.taken_by, photo.taken_by_user) == ("courier", "courier1")
