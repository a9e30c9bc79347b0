"""Issue 12 over HTTP: courier photos and ``photos_by``, photo quality, client-declared
EXIF, the consignee's name by default, and the receipt code a person reads out."""
import json
import re

import pytest

from delivery_sign.extensions import db
from delivery_sign.receipts.models import CROCKFORD, Photo
from tests.evidence.photo_fixtures import darkened, jpeg, scene
from tests.factories import photo_file


def courier_upload(world, door, data=None, who="courier1", token=None, **form):
    return world.post(f"/sign-links/{token or door.token}/photos", who=who,
                      data={"file": photo_file(data or door.photo), "kind": "goods", **form},
                      content_type="multipart/form-data")


def set_policy(world, **policy):
    response = world.patch("/doc-types/default", {"policy": policy})
    assert response.status_code == 200, response.get_json()


def codes(response):
    return [e["code"] for e in response.get_json().get("errors", [])]


def test_courier_photos_count_under_the_default_policy(world, make_door):
    set_policy(world, photos_by="courier")
    door = make_door()
    assert door.view().get_json()["policy"]["photos_by"] == "courier"

    # The recipient is quick: their own photo does not count, the courier's is missing.
    early = door.submit(door.body())
    assert early.status_code == 422
    error = next(e for e in early.get_json()["errors"] if e["code"] == "photos_missing")
    assert "courier has not photographed the goods yet" in error["message"]

    upload = courier_upload(world, door)
    assert upload.status_code == 201, upload.get_json()
    photo = upload.get_json()
    assert photo["taken_by"] == "courier" and photo["retake"] is False and photo["taken_at"].endswith("Z")
    assert door.view().get_json()["courier_photos"] == 1

    response = door.submit(door.body(photo_ids=[]))
    assert response.status_code == 201, response.get_json()
    evidence = world.get(f"/receipts/{response.get_json()['receipt_id']}").get_json()["evidence"]
    [stored] = evidence["photos"]
    assert stored["photo_id"] == photo["photo_id"]
    assert stored["taken_by"] == {"party": "courier", "user": "courier1"}
    assert stored["taken_at"] == photo["taken_at"]


def test_photos_by_recipient_and_either(world, make_door):
    set_policy(world, photos_by="recipient")
    door = make_door()
    courier_upload(world, door)
    assert codes(door.submit(door.body(photo_ids=[]))) == ["photos_missing"]   # the courier's does not count
    assert door.submit(door.body()).status_code == 201

    set_policy(world, photos_by="either", photos_min=2)
    door = make_door()
    assert courier_upload(world, door).status_code == 201
    response = door.submit(door.body())          # one by the courier, one by the recipient
    assert response.status_code == 201, response.get_json()
    parties = [p["taken_by"]["party"] for p in
               world.get(f"/receipts/{response.get_json()['receipt_id']}").get_json()["evidence"]["photos"]]
    assert sorted(parties) == ["courier", "recipient"]


def test_courier_photo_route_is_staff_only_and_in_reach(world, make_door, client, other_world):
    door = make_door()
    assert client.post(f"/api/v1/sign-links/{door.token}/photos", data={"file": photo_file(door.photo)},
                       content_type="multipart/form-data").status_code == 401
    assert courier_upload(world, door, who="courier2").status_code == 404       # not his link
    assert courier_upload(world, door, who="disp_west").status_code == 404      # another unit
    foreign = other_world.post(f"/sign-links/{door.token}/photos", who="admin",
                               data={"file": photo_file(door.photo)}, content_type="multipart/form-data")
    assert foreign.status_code == 404
    assert courier_upload(world, door, who="disp_east").status_code == 201
    assert courier_upload(world, door, data=b"not a photo").get_json()["errors"][0]["code"] == "photo_invalid"
    with world.app.app_context():
        assert db.session.query(Photo).filter(Photo.tenant_id == world.tenant_id,
                                              Photo.taken_by == "courier").count() == 1


def test_courier_retake_withdraws_the_earlier_photo(world, make_door):
    set_policy(world, photos_by="courier")
    door = make_door()
    first = courier_upload(world, door).get_json()["photo_id"]
    assert world.delete(f"/sign-links/{door.token}/photos/{first}", who="courier1").status_code == 204
    assert world.delete(f"/sign-links/{door.token}/photos/{first}", who="courier1").status_code == 404
    assert door.view().get_json()["courier_photos"] == 0
    assert codes(door.submit(door.body(photo_ids=[]))) == ["photos_missing"]
    second = courier_upload(world, door).get_json()["photo_id"]
    response = door.submit(door.body(photo_ids=[]))
    assert response.status_code == 201
    photos = world.get(f"/receipts/{response.get_json()['receipt_id']}").get_json()["evidence"]["photos"]
    assert [p["photo_id"] for p in photos] == [second]


def test_courier_photo_on_a_used_link_is_gone(world, make_door):
    door = make_door()
    assert door.submit().status_code == 201
    assert courier_upload(world, door).status_code == 410


@pytest.mark.parametrize("quality, expected", [("warn", 201), ("block", 422)])
def test_a_dark_photo_is_flagged_at_once_and_blocks_only_under_block(world, make_door, quality, expected):
    set_policy(world, photo_quality=quality)
    door = make_door()
    upload = door.upload(jpeg(darkened(scene(31), 0.08)))
    assert upload.status_code == 201
    body = upload.get_json()
    assert "dark_photo" in body["checks"]["anomalies"]
    assert body["retake"] is True and body["blocks_submit"] is (quality == "block")
    response = door.submit(door.body(photo_ids=[body["photo_id"]]))
    assert response.status_code == expected, response.get_json()
    if quality == "block":
        assert codes(response) == ["photo_flagged"]
        assert "dark" in response.get_json()["errors"][0]["message"]
        # Retaken: the good photo goes through on the same link.
        good = door.upload().get_json()["photo_id"]
        assert door.submit(door.body(photo_ids=[good])).status_code == 201
    else:
        assert "dark_photo" in response.get_json()["anomalies"]


def test_client_declared_exif_is_stored_as_declared(world, door):
    declared = {"taken_at": "2026:12:01 10:02:03", "offset": "+08:00", "gps": {"lat": 31.2304, "lng": 121.4737},
                "make": "Apple", "model": "iPhone 15", "orientation": 6,
                "original": {"width": 4032, "height": 3024, "bytes": 3_100_000, "mime": "image/jpeg"},
                "resized": True}
    upload = door.client.post(f"/api/v1/sign/{door.token}/photos", content_type="multipart/form-data",
                              data={"file": photo_file(door.photo), "kind": "goods",
                                    "client_exif": json.dumps(declared)})
    assert upload.status_code == 201, upload.get_json()
    response = door.submit(door.body(photo_ids=[upload.get_json()["photo_id"]]))
    [photo] = world.get(f"/receipts/{response.get_json()['receipt_id']}").get_json()["evidence"]["photos"]
    assert photo["declared_by_client"] == {**declared, "gps": {**declared["gps"], "altitude": None}}
    assert photo["taken_by"] == {"party": "recipient", "user": None}


@pytest.mark.parametrize("value, field", [
    ("{not json", "client_exif"), ("[1, 2]", "client_exif"), (json.dumps({"shutter": 1}), "client_exif.shutter"),
    (json.dumps({"gps": {"lat": 123, "lng": 0}}), "client_exif.gps.lat"), ("x" * 5000, "client_exif"),
])
def test_bad_client_exif_is_a_422_and_stores_nothing(door, app, value, field):
    response = door.client.post(f"/api/v1/sign/{door.token}/photos", content_type="multipart/form-data",
                                data={"file": photo_file(door.photo), "client_exif": value})
    assert response.status_code == 422
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.get_json()["errors"][0]["field"] == field
    with app.app_context():
        assert db.session.query(Photo).filter(Photo.tenant_id == door.world.tenant_id).count() == 0


def test_consignee_signing_for_themself_needs_no_typed_name(world, door, make_door):
    view = door.view().get_json()
    assert view["name_needed_for_self"] is False
    body = door.body(signer={"name": "", "relation": "self"})
    response = door.submit(body)
    assert response.status_code == 201, response.get_json()
    evidence = world.get(f"/receipts/{response.get_json()['receipt_id']}").get_json()["evidence"]
    assert evidence["signer"]["name"] == "李娜" and evidence["signer"]["name_from"] == "consignee"

    other = make_door()
    assert codes(other.submit(other.body(signer={"name": " ", "relation": "family"}))) == ["signer_name_required"]
    typed = other.submit(other.body(signer={"name": "王芳", "relation": "family"}))
    assert world.get(f"/receipts/{typed.get_json()['receipt_id']}").get_json()["evidence"]["signer"]["name_from"] == "typed"

    set_policy(world, handwriting="strict")
    strict = make_door()
    assert strict.view().get_json()["name_needed_for_self"] is True
    assert "signer_name_required" in codes(strict.submit(strict.body(signer={"name": "", "relation": "self"})))


def test_receipt_code_is_returned_stored_and_findable(world, other_world, door, make_door):
    first = door.submit().get_json()
    code = first["receipt_code"]
    assert re.fullmatch(f"[{CROCKFORD}]{{8}}", code)
    assert first["verify_url"] == f"http://testserver/v/{first['receipt_id']}"
    second = make_door()
    assert second.submit().get_json()["receipt_code"] != code

    for typed in (code, code.lower(), code[:4] + "-" + code[4:]):
        found = world.get(f"/waybills?q={typed}").get_json()["items"]
        assert [w["number"] for w in found] == [door.number], typed
    assert other_world.get(f"/waybills?q={code}").get_json()["items"] == []     # tenant isolation
    assert world.get("/waybills?q=ZZZZZZZZ").get_json()["items"] == []


def test_receipt_code_replayed_with_the_submission(make_door):
    door = make_door()
    body = door.body()
    first = door.submit(body)
    again = door.submit(body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["receipt_code"] == first.get_json()["receipt_code"]


def test_view_carries_the_pad_limits_the_server_checks(door):
    from delivery_sign.evidence import strokes

    limits = door.view().get_json()["signature_limits"]
    assert limits["min_points"] == strokes.MIN_POINTS and limits["dot_max_px"] == strokes.DOT_MAX_EXTENT_PX


def test_links_made_before_issue_12_keep_todays_photo_rules(world, make_door, app):
    """A link's stored policy without the new keys means the recipient takes the photos."""
    from delivery_sign.signing.models import SignLink

    set_policy(world, photos_by="courier")
    door = make_door()
    with app.app_context():
        link = db.session.query(SignLink).order_by(SignLink.id.desc()).first()
        link.policy = {k: v for k, v in link.policy.items() if k not in ("photos_by", "photo_upload", "photo_quality")}
        db.session.commit()
    assert door.view().get_json()["policy"]["photos_by"] == "recipient"
    assert door.submit().status_code == 201


def test_openapi_documents_the_new_route_and_fields(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    route = spec["paths"]["/api/v1/sign-links/{token}/photos"]["post"]
    assert "client_exif" in route["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    schemas = spec["components"]["schemas"]
    assert {"receipt_code", "verify_url"} <= set(schemas["SubmitResult"]["properties"])
    assert {"taken_by", "retake", "blocks_submit"} <= set(schemas["PhotoOut"]["properties"])
    assert {"photos_by", "photo_upload", "photo_quality"} <= set(schemas["Policy"]["properties"])


def test_pdf_says_who_took_each_photo(world, make_door):
    import io

    from pypdf import PdfReader

    from delivery_sign.core import jobs

    set_policy(world, photos_by="either", photos_min=1)
    door = make_door()
    courier_upload(world, door, client_exif=json.dumps({"taken_at": "2026:12:01 10:02:03", "resized": True}))
    receipt_id = door.submit(door.body()).get_json()["receipt_id"]
    jobs.run_due(world.app, tenant_id=world.tenant_id)
    pdf = world.get(f"/receipts/{receipt_id}/pdf")
    assert pdf.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "拍摄：快递员 courier1" in text and "拍摄：签收人" in text
    assert "2026:12:01 10:02:03" in text and "客户端声明" in text


def test_the_courier_screen_learns_the_photo_rules(world, make_door):
    set_policy(world, photos_by="courier", photos_min=2, photo_quality="block")
    door = make_door()
    assert door.link["photos"] == {"photos_by": "courier", "photos_min": 2, "photos_max": 9,
                                   "photo_upload": "resized", "photo_quality": "block", "courier_photos": 0}
    courier_upload(world, door)
    status = world.get(f"/sign-links/{door.token}/status", who="courier1").get_json()
    assert status["photos"]["courier_photos"] == 1
