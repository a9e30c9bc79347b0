"""Requests by phone number (issue 19.3): lookup, export (JSON and PDF), erasure."""
import io

from pypdf import PdfReader
from sqlalchemy import event

from tests.factories import waybill_payload

PHONE = "13800138000"     # the factories' consignee phone


def _own_phone(world, phone):
    """A waybill of ``world`` with a consignee phone no other test uses."""
    response = world.post("/waybills", waybill_payload(
        courier="courier1", org_unit="EAST-1",
        consignee={"name": "王芳", "phone": phone, "address": "北京市朝阳区建国路88号"}))
    assert response.status_code == 201
    return response.get_json()["number"]


def test_lookup_finds_waybills_and_receipts_by_phone_in_any_spelling(world, door):
    receipt_id = door.submit().get_json()["receipt_id"]
    other = _own_phone(world, "13912345678")
    for spelling in ("13800138000", "+86 138-0013-8000", "138 0013 8000"):
        found = world.get(f"/privacy/subjects?phone={spelling}").get_json()
        assert found["phone_masked"] == "138****8000"
        numbers = {w["number"] for w in found["waybills"]}
        assert door.number in numbers and other not in numbers
        assert receipt_id in {r["receipt_id"] for r in found["receipts"]}
        assert "13800138000" not in str(found)


def test_a_signer_who_typed_the_number_is_found_too(world, door):
    body = door.body()
    body["signer"] = {"name": "张伟", "relation": "family", "phone": "13711112222"}
    receipt_id = door.submit(body).get_json()["receipt_id"]
    found = world.get("/privacy/subjects?phone=13711112222").get_json()
    assert found["waybills"] == [] and [(r["receipt_id"], r["role"]) for r in found["receipts"]] == [
        (receipt_id, "signer")]


def test_lookup_is_an_index_probe_not_a_scan(world, app, door):
    from delivery_sign.extensions import db

    statements = []
    with app.app_context():
        engine = db.engine

    def capture(conn, cursor, statement, params, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        world.get(f"/privacy/subjects?phone={PHONE}")
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    lookups = [s for s in statements if "phone_key" in s]
    assert lookups and not any("consignee_phone " in s.split("WHERE", 1)[-1] for s in lookups)
    with app.app_context():
        plan = db.session.execute(db.text(
            "EXPLAIN QUERY PLAN SELECT id FROM waybills WHERE tenant_id = 1 AND consignee_phone_key = 'x'")).all() \
            if db.engine.dialect.name == "sqlite" else None
    if plan is not None:
        assert "ix_waybills_tenant_phone_key" in str(plan)


def test_lookup_is_per_tenant_and_admin_only(world, other_world, door):
    door.submit()
    assert other_world.get(f"/privacy/subjects?phone={PHONE}").get_json()["waybills"] == []
    assert world.get(f"/privacy/subjects?phone={PHONE}", who="disp_east").status_code == 403
    assert world.get(f"/privacy/subjects?phone={PHONE}", who="courier1").status_code == 403
    assert world.get("/privacy/subjects?phone=abc").status_code == 422
    assert world.get("/privacy/subjects").status_code == 422


def test_export_json_holds_everything_with_the_ip_masked(world, door):
    receipt_id = door.submit().get_json()["receipt_id"]
    export = world.post("/privacy/subjects/export", {"phone": PHONE}).get_json()
    waybill = next(w for w in export["waybills"] if w["number"] == door.number)
    assert waybill["consignee"]["phone"] == PHONE and waybill["items"]
    receipt = next(r for r in export["receipts"] if r["receipt_id"] == receipt_id)
    ip = receipt["evidence"]["client"]["ip"]
    assert ip.endswith("*") and receipt["parts"] == {"strokes": "kept", "photos": "kept", "location": "kept",
                                                     "ip": "kept"}
    assert receipt["retention_days"]["strokes"] == 1095


def test_export_pdf_is_readable(world, door):
    door.submit()
    response = world.post("/privacy/subjects/export", {"phone": PHONE, "format": "pdf"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "138****8000" in text and door.number in text and "原始笔迹" in text


def test_erase_anonymises_what_no_hold_keeps(world, door, make_door):
    signed_receipt = door.submit().get_json()["receipt_id"]
    disputed = make_door()
    disputed_receipt = disputed.submit().get_json()["receipt_id"]
    world.post(f"/waybills/{disputed.number}/reconcile", {"decision": "disputed", "note": "少件"}, who="disp_east")
    pending = _own_phone(world, PHONE)

    result = world.post("/privacy/subjects/erase", {"phone": PHONE})
    assert result.status_code == 200
    body = result.get_json()
    assert {"waybill": door.number} in body["erased"] and {"receipt": signed_receipt} in body["erased"]
    assert {"waybill": disputed.number, "reason": "disputed"} in body["kept"]
    assert {"waybill": pending, "reason": "in_delivery"} in body["kept"]

    waybill = world.get(f"/waybills/{door.number}?reveal=phone").get_json()
    assert waybill["consignee"]["phone"] == "138****8000" and waybill["consignee"]["name"] == "李*"
    evidence = world.get(f"/receipts/{signed_receipt}").get_json()["evidence"]
    assert evidence["signature"]["strokes"] is None and evidence["waybills"][0]["consignee"]["name"] == "李*"
    assert world.get(f"/receipts/{signed_receipt}/signature.png").status_code == 410
    # The held ones are untouched, and the erased waybill no longer answers to the number.
    assert world.get(f"/receipts/{disputed_receipt}").get_json()["evidence"]["signature"]["strokes"] is not None
    found = world.get(f"/privacy/subjects?phone={PHONE}").get_json()
    assert door.number not in {w["number"] for w in found["waybills"]}
    assert {disputed.number, pending} <= {w["number"] for w in found["waybills"]}
    assert world.get("/audit/verify").get_json()["ok"] is True


def test_a_standing_consent_is_exported_and_ended_by_the_erasure(world):
    from tests.consent.conftest import last_token

    number = world.waybill(courier="courier1", org_unit="EAST-1")["number"]     # the factories' consignee
    assert world.post(f"/waybills/{number}/consent-requests", {"options": ["guard"]}).status_code == 201
    answered = world.client.post(f"/api/v1/consent/{last_token(world)}", json={"choice": "guard", "standing": True})
    assert answered.status_code == 200
    [standing] = world.post("/privacy/subjects/export", {"phone": PHONE}).get_json()["standing_consents"]
    assert standing["choice"] == "guard" and standing["revoked_at"] is None
    assert standing["address"] == "上海市浦东新区世纪大道100号"
    pdf = world.post("/privacy/subjects/export", {"phone": PHONE, "format": "pdf"})
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "长期放置授权（1）" in text and "门卫" in text

    body = world.post("/privacy/subjects/erase", {"phone": PHONE}).get_json()
    assert {"standing_consent": standing["id"]} in body["erased"]
    [after] = world.post("/privacy/subjects/export", {"phone": PHONE}).get_json()["standing_consents"]
    assert after["revoked_at"] is not None and after["address"] == "上海市浦东新区***"
    # No longer in force: a later parcel to that door needs the consignee's answer again.
    later = world.waybill(courier="courier1", org_unit="EAST-1")["number"]
    assert world.get(f"/waybills/{later}/consent", who="courier1").get_json()["consent"] is None
    assert world.get("/audit/verify").get_json()["ok"] is True


def test_each_request_is_an_audit_event(world, door):
    door.submit()
    world.get(f"/privacy/subjects?phone={PHONE}")
    world.post("/privacy/subjects/export", {"phone": PHONE})
    world.post("/privacy/subjects/erase", {"phone": PHONE})
    with world.app.app_context():
        from delivery_sign.core.audit import events_of

        types = [e.event_type for e in events_of(world.tenant_id, ["privacy:subject"])]
    assert types == ["privacy.subject_looked_up", "privacy.subject_exported", "privacy.subject_erased"]


def test_scoped_api_keys_need_the_privacy_scopes(world):
    read_key = world.post("/api-keys", {"name": "dpo", "scopes": ["privacy:read"]}).get_json()["key"]
    headers = {"Authorization": f"Bearer {read_key}"}
    client = world.client
    assert client.get(f"/api/v1/privacy/subjects?phone={PHONE}", headers=headers).status_code == 200
    assert client.post("/api/v1/privacy/subjects/export", json={"phone": PHONE}, headers=headers).status_code == 200
    assert client.post("/api/v1/privacy/subjects/erase", json={"phone": PHONE}, headers=headers).status_code == 403
    other = world.post("/api-keys", {"name": "tms2", "scopes": ["waybills:read"]}).get_json()["key"]
    assert client.get(f"/api/v1/privacy/subjects?phone={PHONE}",
                      headers={"Authorization": f"Bearer {other}"}).status_code == 403


def test_malformed_requests_are_422_and_change_nothing(world, door):
    door.submit()
    for path, body in (("/privacy/subjects/export", {"phone": PHONE, "format": "xml"}),
                       ("/privacy/subjects/export", {}), ("/privacy/subjects/erase", {"phone": "1" * 40}),
                       ("/privacy/subjects/erase", {"phone": PHONE, "also": "everything"}),
                       ("/privacy/notice", {"text": "合法的文本但是带有\u0000空字符的告知内容"})):
        response = world.post(path, body)
        assert response.status_code == 422 and response.mimetype == "application/problem+json", (path, body)
    assert world.get(f"/waybills/{door.number}?reveal=phone").get_json()["consignee"]["phone"] == PHONE


def test_another_tenant_cannot_erase_or_see_views(world, other_world, door):
    receipt_id = door.submit().get_json()["receipt_id"]
    assert other_world.post("/privacy/subjects/erase", {"phone": PHONE}).get_json()["erased"] == []
    assert other_world.get(f"/receipts/{receipt_id}/views").status_code == 404
    assert world.get(f"/waybills/{door.number}?reveal=phone").get_json()["consignee"]["phone"] == PHONE
