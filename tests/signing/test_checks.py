"""Policy enforcement, outcomes and anomalies of a sign-off."""
from datetime import timedelta

import pytest

from delivery_sign.core.clock import utcnow
from delivery_sign.extensions import db
from delivery_sign.signing.models import SignLink


def codes(response):
    return {e["code"] for e in response.get_json().get("errors", [])}


def test_422_keeps_the_link_usable_then_fix_and_resubmit(door):
    bad = door.body(signer={"name": "", "relation": None},
                    signature={"strokes": [], "canvas": door.signature["canvas"]}, photo_ids=[])
    response = door.submit(bad)
    assert response.status_code == 422
    assert codes(response) >= {"signer_name_required", "relation_required", "signature_empty", "photos_missing"}
    assert door.view().status_code == 200
    fixed = door.submit(door.body(submission_id=bad["submission_id"]))
    assert fixed.status_code == 201


@pytest.mark.parametrize("strokes, code", [
    ([[[100, 100, 0], [100.5, 100.5, 16], [101, 100, 33]] * 4], "signature_dot"),
    ([[[10 + i * 30, 100, i * 16] for i in range(11)]], "signature_line"),
    ([[[0, 0]] * 5], "signature_timing_invalid"),
])
def test_garbage_signatures_are_refused(door, strokes, code):
    response = door.submit(door.body(signature={"strokes": strokes, "canvas": {"width": 360, "height": 200, "dpr": 3}}))
    assert response.status_code == 422
    assert code in codes(response) or codes(response) & {"signature_too_few_points", "signature_timing_invalid"}


def test_too_many_points(door):
    strokes = [[[i % 300, (i // 300) % 200, i * 8, 0.5] for i in range(30_000)]]
    response = door.submit(door.body(signature={"strokes": strokes, "canvas": {"width": 360, "height": 200, "dpr": 3}}))
    assert response.status_code == 422 and "signature_too_many_points" in codes(response)


def test_strict_handwriting_wants_more_than_a_scribble(world, make_door, genuine):
    world.patch("/doc-types/default", {"policy": {"handwriting": "strict"}})
    door = make_door()
    short = next(s for s in genuine if len(s["signer_name"]) == 2)
    body = door.body(signer={"name": "欧阳娜娜娜", "relation": "self"},
                     signature={"strokes": short["strokes"][:2], "canvas": short["canvas"]})
    response = door.submit(body)
    assert response.status_code == 422
    assert codes(response) & {"signature_too_simple", "signature_too_small", "signature_too_few_points"}


def test_consignee_only_policy(world, make_door):
    world.patch("/doc-types/default", {"policy": {"signer": "consignee_only"}})
    door = make_door()
    response = door.submit(door.body(signer={"name": door.signature["signer_name"], "relation": "guard"}))
    assert response.status_code == 422 and "consignee_only" in codes(response)


def test_location_required_and_location_anomalies(world, make_door):
    world.patch("/doc-types/default", {"policy": {"location": "required"}})
    door = make_door()
    assert "location_required" in codes(door.submit(door.body(location=None)))
    far = door.submit(door.body(location={"lat": 31.30, "lng": 121.60, "accuracy": 20, "coord_system": "gcj02"}))
    assert far.status_code == 201
    assert "outside_geofence" in far.get_json()["anomalies"]


def test_no_location_is_an_anomaly_when_optional(door, world):
    response = door.submit(door.body(location=None, signer={"name": door.signature["signer_name"],
                                                            "relation": "guard"}))
    assert response.status_code == 201
    assert {"no_location", "signer_not_consignee"} <= set(response.get_json()["anomalies"])
    listed = world.get("/waybills", query_string={"anomaly": "no_location"}).get_json()["items"]
    assert door.number in [w["number"] for w in listed]


def test_courier_far_from_signer(world, signature, photo_jpeg):
    from tests.factories import Door

    door = Door(world, signature, photo_jpeg)
    far_link = world.post("/sign-links", {"waybills": [door.number], "courier_location": {
        "lat": 31.40, "lng": 121.80, "coord_system": "wgs84", "accuracy": 10}}, who="courier1").get_json()
    response = door.submit(door.body(photo_ids=[door.upload(token=far_link["token"]).get_json()["photo_id"]]),
                           token=far_link["token"])
    assert "courier_far_from_signer" in response.get_json()["anomalies"]


def test_partial_delivery(door, world):
    items = [{"number": door.number, "sku": "CHR-01", "received_qty": 3, "damaged_qty": 1, "note": "一把椅子腿断了"}]
    response = door.submit(door.body(outcome="partial", items=items))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "partially_signed"
    assert "partial_delivery" in response.get_json()["anomalies"]
    assert world.get(f"/waybills/{door.number}").get_json()["status"] == "partially_signed"
    evidence = world.get(f"/receipts/{response.get_json()['receipt_id']}").get_json()["evidence"]
    chairs = evidence["waybills"][0]["items"][1]
    assert (chairs["received_qty"], chairs["damaged_qty"], chairs["note"]) == (3, 1, "一把椅子腿断了")


@pytest.mark.parametrize("items, field", [
    ([{"number": "SF-NOT-HERE", "sku": "CHR-01", "received_qty": 1}], "items.0"),
    ([{"number": "{number}", "sku": "CHR-01", "received_qty": 5}], "items.0.received_qty"),
    ([{"number": "{number}", "sku": "CHR-01", "received_qty": 2, "damaged_qty": 3}], "items.0.damaged_qty"),
    ([{"number": "{number}", "sku": "CHR-01", "received_qty": 4}], "items"),
])
def test_partial_items_are_checked(door, items, field):
    for item in items:
        item["number"] = item["number"].replace("{number}", door.number)
    response = door.submit(door.body(outcome="partial", items=items))
    assert response.status_code == 422
    assert any(e["field"] == field and e["code"] == "items_invalid" for e in response.get_json()["errors"])


def test_signed_with_short_items_must_be_partial(door):
    items = [{"number": door.number, "sku": "CHR-01", "received_qty": 3}]
    assert "items_invalid" in codes(door.submit(door.body(items=items)))


def test_refusal(door, world):
    assert "refuse_reason_required" in codes(door.submit(door.body(outcome="refused")))
    response = door.submit(door.body(outcome="refused", refuse_reason="外包装破损严重"))
    assert response.status_code == 201
    assert response.get_json()["status"] == "refused" and "refused" in response.get_json()["anomalies"]
    assert world.get(f"/waybills/{door.number}").get_json()["status"] == "refused"


def test_policy_can_forbid_partial_and_refusal(world, make_door):
    world.patch("/doc-types/default", {"policy": {"allow_partial": False, "allow_refuse": False}})
    door = make_door()
    assert "refuse_not_allowed" in codes(door.submit(door.body(outcome="refused", refuse_reason="x")))
    items = [{"number": door.number, "sku": "CHR-01", "received_qty": 3}]
    assert "partial_not_allowed" in codes(door.submit(door.body(outcome="partial", items=items)))


def test_expired_link_is_410(door, app):
    with app.app_context():
        link = db.session.query(SignLink).order_by(SignLink.id.desc()).first()
        link.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert door.view().status_code == 410
    response = door.submit(door.body(photo_ids=[]))
    assert response.status_code == 410 and response.get_json()["type"].endswith("link-expired")


def test_late_signature(make_door):
    door = make_door(deadline="2020-01-01T00:00:00Z")
    assert "late_signature" in door.submit().get_json()["anomalies"]


def test_replayed_signature_is_flagged_same_person_is_not(make_door, genuine):
    first = make_door()
    assert "replayed_signature" not in first.submit().get_json()["anomalies"]
    shifted = [[[x + 17, y - 9, t + 86_400_000] + rest for x, y, t, *rest in stroke]
               for stroke in first.signature["strokes"]]
    second = make_door()
    replay = second.submit(second.body(signature={"strokes": shifted, "canvas": first.signature["canvas"]}))
    assert "replayed_signature" in replay.get_json()["anomalies"]
    same_person = next(s for s in genuine if s["person"] == first.signature["person"] and s["id"] != first.signature["id"])
    third = make_door()
    honest = third.submit(third.body(signer={"name": same_person["signer_name"], "relation": "self"},
                                     signature={"strokes": same_person["strokes"], "canvas": same_person["canvas"]}))
    assert honest.status_code == 201
    assert "replayed_signature" not in honest.get_json()["anomalies"]


def test_duplicate_photo_across_sign_offs(make_door):
    first = make_door()
    first.submit()
    second = make_door()
    upload = second.upload()
    assert "duplicate_photo" in upload.get_json()["checks"]["anomalies"]
    response = second.submit(second.body(photo_ids=[upload.get_json()["photo_id"]]))
    assert "duplicate_photo" in response.get_json()["anomalies"]


# Bits flipped per 16-bit chunk (chunk 0 the low bits): at the duplicate distance of 12,
# every way the probe keys split it (radius 3 for chunk 0, 2 for the others), and one more.
@pytest.mark.parametrize("flips, found", [
    ((0, 0, 0, 0), True), ((3, 3, 3, 3), True), ((12, 0, 0, 0), True), ((0, 0, 0, 12), True),
    ((4, 3, 3, 2), True), ((4, 4, 4, 0), True), ((0, 4, 4, 4), True), ((1, 3, 4, 4), True), ((2, 4, 3, 3), True),
    ((4, 3, 3, 3), False), ((0, 4, 4, 5), False), ((13, 0, 0, 0), False),
])
# The hash with its top bit clear and set (a negative BIGINT in the database).
@pytest.mark.parametrize("top", [0, 1 << 63], ids=["positive", "negative"])
def test_a_near_duplicate_photo_is_found_up_to_the_distance_however_its_bits_split(app, make_door, world, flips,
                                                                                found, top):
    from types import SimpleNamespace

    from delivery_sign.evidence.photo_hash import stored_chunks
    from delivery_sign.receipts.models import Photo, PhotoHashChunk
    from delivery_sign.receipts.photos import near_photo, signed64

    first = make_door()
    assert first.submit().status_code == 201
    stored = top | 0x5A5A_F00F_1234_C3C3
    near = stored
    for no, count in enumerate(flips):
        for bit in range(count):
            near ^= 1 << (16 * no + bit)
    with app.app_context():
        photo = db.session.execute(db.select(Photo).where(Photo.tenant_id == world.tenant_id)).scalar_one()
        photo.phash = signed64(stored)
        rows = db.session.execute(db.select(PhotoHashChunk).where(PhotoHashChunk.photo_id == photo.id)
                                  .order_by(PhotoHashChunk.chunk)).scalars().all()
        for row, chunk in zip(rows, stored_chunks(stored)):
            row.chunk, row.phash = chunk, signed64(stored)
        db.session.flush()
        another_sign_off = SimpleNamespace(id=-1, tenant_id=world.tenant_id)
        assert near_photo(another_sign_off, near) == (photo.public_id if found else None)
        db.session.rollback()


def test_html_in_names_is_kept_as_text(door, world):
    name = "<img src=x onerror=alert(1)>"
    response = door.submit(door.body(signer={"name": name, "relation": "family"}))
    assert response.status_code == 201
    evidence = world.get(f"/receipts/{response.get_json()['receipt_id']}").get_json()["evidence"]
    assert evidence["signer"]["name"] == name
