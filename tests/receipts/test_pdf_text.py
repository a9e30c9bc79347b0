"""What a reader of the receipt PDF sees: every glyph there, words instead of codes, times
in the tenant's zone with the zone named, who took each photo."""
import io
from datetime import datetime, timedelta

from pypdf import PdfReader

from delivery_sign.receipts.pdf import _gb_text

from .conftest import drain


def _text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _gb2312_or_ascii(ch):
    """STSong-Light (UniGB-UCS2-H) draws the GB 2312 repertoire; Courier draws ASCII."""
    try:
        ch.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return ch.isascii()


def test_no_missing_glyphs_in_the_receipt(signed):
    _, data, _ = signed
    text = _text(data)
    assert "\ufffd" not in text
    assert "电子签收回执" in text.splitlines()[2]                    # the title line, with its separator
    missing = sorted({ch for ch in text if not ch.isspace() and not _gb2312_or_ascii(ch)})
    assert missing == [], missing
    assert "\ufffd" not in PdfReader(io.BytesIO(data)).metadata.title


def test_marks_without_a_glyph_are_swapped_for_their_gb2312_forms():
    assert _gb_text("送货签收单 · 电子签收回执 — ok •") == "送货签收单 ・ 电子签收回执 ― ok ●"
    for ch in _gb_text("·—•–−"):
        ch.encode("gb2312")


def test_times_are_in_the_tenants_zone_and_say_which(world, signed):
    receipt_id, data, _ = signed
    text = _text(data)
    submitted = world.get(f"/receipts/{receipt_id}").get_json()["evidence"]["times"]["submitted_at"]
    utc = datetime.fromisoformat(submitted.replace("Z", "")).replace(microsecond=0)
    china = (utc + timedelta(hours=8)).isoformat(sep=" ")
    assert f"服务器签收时间 {china}" in text
    assert "Asia/Shanghai, UTC+08:00" in text
    assert "(UTC)" not in text and submitted not in text


def test_a_tenant_in_another_zone_gets_its_own_times(world, door):
    assert world.patch("/tenant", {"timezone": "America/New_York"}).status_code == 200
    receipt_id = door.submit().get_json()["receipt_id"]
    drain(world)
    text = _text(world.get(f"/receipts/{receipt_id}/pdf").data)
    assert "America/New_York, UTC-05:00" in text
    submitted = world.get(f"/receipts/{receipt_id}").get_json()["evidence"]["times"]["submitted_at"]
    utc = datetime.fromisoformat(submitted.replace("Z", "")).replace(microsecond=0)
    assert (utc - timedelta(hours=5)).isoformat(sep=" ") in text


def test_photo_kinds_are_words_and_say_who_took_them(signed):
    _, data, _ = signed
    text = _text(data)
    assert "照片 1：货物照片" in text and "照片 2：现场照片" in text
    assert "goods" not in text and "scene" not in text
    assert text.count("拍摄：签收人") == 2


def test_courier_photos_name_the_courier(world, make_door):
    from tests.factories import photo_file

    assert world.patch("/doc-types/default", {"policy": {"photos_by": "courier"}}).status_code == 200
    door = make_door()
    uploaded = world.post(f"/sign-links/{door.token}/photos", who="courier1",
                          data={"file": photo_file(door.photo), "kind": "goods"}, content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.get_json()
    response = door.submit(door.body(photo_ids=[]))
    assert response.status_code == 201, response.get_json()
    drain(world)
    text = _text(world.get(f"/receipts/{response.get_json()['receipt_id']}/pdf").data)
    assert "拍摄：快递员 courier1" in text and "照片 1：货物照片" in text
