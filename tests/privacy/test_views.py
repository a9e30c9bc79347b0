"""Who looked (issue 19.4) and the minimum a courier gets (issue 19.5)."""
import io

from PIL import Image

from tests.evidence.photo_fixtures import jpeg, scene


def _gps_jpeg():
    """A phone photo with a GPS tag (Shanghai), as a camera app writes it."""
    image = Image.open(io.BytesIO(jpeg(scene(5, 1200, 900), quality=85)))
    exif = Image.Exif()
    gps = {1: "N", 2: (31.0, 13.0, 49.0), 3: "E", 4: (121.0, 28.0, 25.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def _views(world, receipt_id):
    response = world.get(f"/receipts/{receipt_id}/views")
    assert response.status_code == 200
    return response.get_json()


def test_every_view_of_personal_data_is_recorded_with_who_and_what(world, signed):
    receipt_id, _, photo_ids = signed      # the fixture read the PDF once, as admin
    world.get(f"/receipts/{receipt_id}", who="disp_east")
    world.get(f"/receipts/{receipt_id}/signature.png", who="api")
    world.get(f"/receipts/{receipt_id}/photos/{photo_ids[0]}?variant=display", who="disp_east")
    number = world.get(f"/receipts/{receipt_id}").get_json()["evidence"]["waybills"][0]["number"]
    world.get(f"/waybills/{number}?reveal=phone", who="disp_east")
    records = _views(world, receipt_id)
    seen = [(r["actor"], r["what"]) for r in reversed(records)]
    assert seen[0] == ("user:admin", "pdf")
    assert ("user:disp_east", "evidence") in seen and ("user:disp_east", "photo") in seen
    assert ("user:disp_east", "phone") in seen
    assert any(what == "signature.png" and actor.startswith("api_key:") for actor, what in seen)
    photo = next(r for r in records if r["what"] == "photo")
    assert photo["photo_id"] == photo_ids[0] and photo["variant"] == "display" and photo["at"]


def test_a_failed_view_is_not_recorded_and_couriers_cannot_list_views(world, signed):
    receipt_id, _, _ = signed
    before = len(_views(world, receipt_id))
    assert world.get(f"/receipts/{receipt_id}/photos/nope").status_code == 404
    assert len(_views(world, receipt_id)) == before
    assert world.get(f"/receipts/{receipt_id}/views", who="courier1").status_code == 403
    assert world.get("/receipts/nope/views").status_code == 404


def test_signed_link_views_are_recorded_too(world, client, signed):
    receipt_id, _, _ = signed
    links = world.get(f"/receipts/{receipt_id}/links").get_json()
    assert client.get(links["pdf"].replace("http://testserver", "")).status_code == 200
    latest = _views(world, receipt_id)[0]
    assert (latest["actor"], latest["what"]) == ("signed_link", "pdf")


def test_couriers_get_stripped_photos_and_no_gps_or_ip(world, door):
    photo_id = door.upload(_gps_jpeg()).get_json()["photo_id"]
    receipt_id = door.submit(door.body(photo_ids=[photo_id])).get_json()["receipt_id"]
    admin_copy = world.get(f"/receipts/{receipt_id}/photos/{photo_id}")
    assert admin_copy.headers["X-Photo-Variant"] == "original"
    assert Image.open(io.BytesIO(admin_copy.data)).getexif().get_ifd(0x8825)
    courier_copy = world.get(f"/receipts/{receipt_id}/photos/{photo_id}", who="courier1")
    assert courier_copy.status_code == 200 and courier_copy.headers["X-Photo-Variant"] == "display"
    assert not Image.open(io.BytesIO(courier_copy.data)).getexif()
    evidence = world.get(f"/receipts/{receipt_id}", who="courier1").get_json()["evidence"]
    assert evidence["photos"][0]["exif"]["gps"] is None and evidence["client"]["ip"] is None
    assert world.get(f"/receipts/{receipt_id}").get_json()["evidence"]["photos"][0]["exif"]["gps"] is not None


def test_the_courier_app_never_gets_a_full_phone(world, door):
    assert world.get(f"/waybills/{door.number}?reveal=phone", who="courier1").status_code == 403
    listed = world.get("/waybills", who="courier1").get_json()
    assert "13800138000" not in str(listed) and "13800138000" not in str(door.view().get_json())
