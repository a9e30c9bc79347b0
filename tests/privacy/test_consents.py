"""The notice at the door and the two consents at submit (issue 19.1), through HTTP."""
import io

from pypdf import PdfReader

from tests.receipts.conftest import drain

CONSENTED = {"notice_version": 0, "handwriting": True, "location": True}


def _codes(response):
    return {e["code"] for e in response.get_json()["errors"]}


def test_sign_view_carries_the_notice_with_the_tenant_as_handler(world, door):
    privacy = door.view().get_json()["privacy"]
    assert privacy["version"] == 0 and privacy["handler"].startswith("测试物流")
    assert privacy["handler"] in privacy["text"] and "1095" in privacy["text"]
    assert privacy["retention"]["raw_days"] == 1095 and privacy["retention"]["receipt_days"] == 3650
    assert set(privacy["collected"]) == {"handwriting", "photos", "location", "device"}


def test_a_published_notice_is_shown_and_versioned(world, door):
    text = "{handler} 仅为本次签收收集您的签名与位置，保存 {days} 天。如有疑问请致电客服。"
    first = world.post("/privacy/notice", {"text": text})
    assert first.status_code == 201 and first.get_json()["version"] == 1
    second = world.post("/privacy/notice", {"text": text + "（修订）"})
    assert second.get_json()["version"] == 2
    privacy = door.view().get_json()["privacy"]
    assert privacy["version"] == 2 and privacy["text"].endswith("（修订）") and "{handler}" not in privacy["text"]
    listed = world.get("/privacy/notice").get_json()
    assert listed["current"]["version"] == 2 and [n["version"] for n in listed["history"]] == [2, 1]
    # A recipient who loaded the page before the edit still signs under the version they saw.
    response = door.submit(door.body(consents={**CONSENTED, "notice_version": 1}))
    assert response.status_code == 201


def test_only_an_admin_edits_the_notice(world):
    assert world.post("/privacy/notice", {"text": "x" * 30}, who="disp_east").status_code == 403
    assert world.post("/privacy/notice", {"text": "short"}).status_code == 422


def test_signature_without_handwriting_consent_is_422_and_leaves_the_link_usable(world, door):
    body = door.body(consents={**CONSENTED, "handwriting": False})
    response = door.submit(body)
    assert response.status_code == 422 and "handwriting_consent_required" in _codes(response)
    assert door.view().status_code == 200
    assert door.submit(door.body(consents=CONSENTED)).status_code == 201


def test_unknown_notice_version_is_422(world, door):
    response = door.submit(door.body(consents={**CONSENTED, "notice_version": 7}))
    assert response.status_code == 422 and "notice_version_unknown" in _codes(response)


def test_location_without_consent_is_dropped_and_noted(world, door):
    response = door.submit(door.body(consents={**CONSENTED, "location": False}))
    assert response.status_code == 201
    assert "no_location" in response.get_json()["anomalies"]
    evidence = world.get(f"/receipts/{response.get_json()['receipt_id']}").get_json()["evidence"]
    assert evidence["location"]["raw"] is None and evidence["location"]["wgs84"] is None
    assert evidence["consents"] == {"recorded": True, "notice_version": 0, "handwriting": True,
                                    "location": False, "location_dropped": True}


def test_declined_location_where_policy_requires_it_is_422(world, make_door):
    world.patch("/doc-types/default", {"policy": {"location": "required"}})
    door = make_door()
    response = door.submit(door.body(consents={**CONSENTED, "location": False}))
    assert response.status_code == 422 and "location_required" in _codes(response)


def test_old_clients_without_consents_still_sign_unless_the_policy_requires_them(world, make_door):
    door = make_door()
    response = door.submit(door.body())
    assert response.status_code == 201
    evidence = world.get(f"/receipts/{response.get_json()['receipt_id']}").get_json()["evidence"]
    assert evidence["consents"] == {"recorded": False}
    world.patch("/doc-types/default", {"policy": {"consents": "required"}})
    door = make_door()
    response = door.submit(door.body())
    assert response.status_code == 422 and "handwriting_consent_required" in _codes(response)
    assert door.submit(door.body(consents=CONSENTED)).status_code == 201


def test_evidence_and_pdf_carry_the_consent(world, door):
    response = door.submit(door.body(consents=CONSENTED))
    receipt_id = response.get_json()["receipt_id"]
    evidence = world.get(f"/receipts/{receipt_id}").get_json()["evidence"]
    assert evidence["consents"]["handwriting"] is True and evidence["consents"]["notice_version"] == 0
    drain(world)
    pdf = world.get(f"/receipts/{receipt_id}/pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "告知版本 0" in text and "手写签名采集：同意" in text and "位置采集：同意" in text


def test_malformed_consents_are_422(world, door):
    for consents in ({"notice_version": 0}, {"notice_version": "0", "handwriting": True, "location": True},
                     {**CONSENTED, "extra": 1}, "yes"):
        response = door.submit(door.body(consents=consents))
        assert response.status_code == 422, consents
