"""Retention with a moved clock (issue 19.2): raw parts purged, receipts still verifiable."""
import hashlib
import io
import json
from datetime import timedelta

from PIL import Image

from delivery_sign.core.clock import utcnow


def _purge(runner, days):
    as_of = (utcnow() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")
    result = runner.invoke(args=["retention-purge", "--as-of", as_of])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def _evidence(world, receipt_id):
    return world.get(f"/receipts/{receipt_id}").get_json()["evidence"]


def test_nothing_is_purged_before_its_days(world, runner, signed):
    receipt_id, _, photo_ids = signed
    before = _evidence(world, receipt_id)
    _purge(runner, 1094)
    assert _evidence(world, receipt_id) == before
    assert world.get(f"/receipts/{receipt_id}/signature.png").status_code == 200
    assert world.get(f"/receipts/{receipt_id}/photos/{photo_ids[0]}").status_code == 200


def test_expired_raw_parts_are_purged_and_the_receipt_still_verifies(world, client, runner, signed):
    receipt_id, pdf, photo_ids = signed
    before_hash = world.get(f"/receipts/{receipt_id}").get_json()["evidence_hash"]
    before = _evidence(world, receipt_id)
    assert before["client"]["ip"] and before["location"]["raw"] is not None
    report = _purge(runner, 1096)
    assert report["purged"] >= 1

    after = _evidence(world, receipt_id)
    assert after["signature"]["strokes"] is None and len(after["signature"]["strokes_sha256"]) == 64
    assert after["location"]["raw"] is None and after["location"]["courier_at_link_time"] is None
    assert after["checks"]["location"]["signer_wgs84"] is None
    with world.app.app_context():
        from delivery_sign.extensions import db
        from delivery_sign.receipts.models import Receipt
        from delivery_sign.signing.models import SignLink

        row = db.session.query(Receipt).filter_by(public_id=receipt_id).one()
        assert row.response["checks"]["location"]["signer_wgs84"] is None
        assert db.session.get(SignLink, row.link_id).courier_location is None
    assert after["location"]["distance_to_consignee_m"] == before["location"]["distance_to_consignee_m"]
    assert after["client"]["ip"].endswith("*") and after["client"]["ip"] != before["client"]["ip"]
    # Nothing kept gives the address back: no digest of any address of the masked /24.
    prefix = after["client"]["ip"].rsplit(".", 1)[0]
    kept = json.dumps(after)
    for last in range(256):
        address = f"{prefix}.{last}"
        for form in (address, json.dumps(address)):
            assert hashlib.sha256(form.encode()).hexdigest() not in kept, address
    assert [p["sha256"] for p in after["photos"]] == [p["sha256"] for p in before["photos"]]
    assert all(p["exif"].get("gps") is None for p in after["photos"])
    assert set(after["retention"]["purged"]) == {"strokes", "photos", "location", "ip"}

    # The purged parts answer 410; the display copies (no EXIF) stay.
    for path in ("signature.png", "signature.svg", f"photos/{photo_ids[0]}"):
        response = world.get(f"/receipts/{receipt_id}/{path}")
        assert response.status_code == 410 and response.mimetype == "application/problem+json", path
    display = world.get(f"/receipts/{receipt_id}/photos/{photo_ids[0]}?variant=display")
    assert display.status_code == 200 and not Image.open(io.BytesIO(display.data)).getexif()

    # The chain holds, the purge is in it, and the PDF handed out earlier still verifies.
    verdict = world.get("/audit/verify").get_json()
    assert verdict["ok"] is True and verdict["bad_receipt_count"] == 0
    assert world.get(f"/receipts/{receipt_id}/pdf").status_code == 200
    checked = client.post("/api/v1/verify", data=pdf, content_type="application/pdf").get_json()
    assert checked["receipt_id"] == receipt_id and checked["file_matches"] is True
    assert checked["pdf_signature_valid"] is True and checked["evidence_hash_matches"] is True
    assert after["retention"]["original_evidence_hash"] == before_hash
    with world.app.app_context():
        from delivery_sign.core.audit import events_of

        purged = [e for e in events_of(world.tenant_id, [f"receipt:{receipt_id}"]) if e.event_type == "evidence.purged"]
        assert len(purged) == 1 and purged[0].data["previous_evidence_hash"] == before_hash
        assert purged[0].data["evidence_hash"] == world.get(f"/receipts/{receipt_id}").get_json()["evidence_hash"]

    # A second run finds nothing more to do for this receipt.
    _purge(runner, 2000)
    assert _evidence(world, receipt_id) == after


def test_a_disputed_waybill_is_held_until_released(world, runner, signed):
    receipt_id, _, _ = signed
    number = _evidence(world, receipt_id)["waybills"][0]["number"]
    world.post(f"/waybills/{number}/reconcile", {"decision": "disputed", "note": "货物破损"}, who="disp_east")
    before = _evidence(world, receipt_id)
    assert _purge(runner, 1096)["held"] >= 1
    assert _evidence(world, receipt_id) == before
    assert world.get(f"/receipts/{receipt_id}/signature.png").status_code == 200
    world.post(f"/waybills/{number}/reconcile", {"decision": "accepted"}, who="disp_east")
    _purge(runner, 1096)
    assert _evidence(world, receipt_id)["signature"]["strokes"] is None
    assert world.get("/audit/verify").get_json()["ok"] is True


def test_retention_days_per_doc_type_purge_each_part_on_its_own_day(world, runner, door):
    assert world.patch("/doc-types/default", {"policy": {"retention_days": {"ip": 30, "strokes": 60}}}).status_code == 200
    receipt_id = door.submit().get_json()["receipt_id"]
    _purge(runner, 31)
    evidence = _evidence(world, receipt_id)
    assert set(evidence["retention"]["purged"]) == {"ip"} and evidence["signature"]["strokes"] is not None
    _purge(runner, 61)
    evidence = _evidence(world, receipt_id)
    assert set(evidence["retention"]["purged"]) == {"ip", "strokes"} and evidence["location"]["raw"] is not None
    assert world.get("/audit/verify").get_json()["ok"] is True


def test_bad_retention_days_are_422(world):
    for value in ({"ip": 0}, {"ip": "30"}, {"forever": 1}, {"receipt": 40_000}):
        assert world.patch("/doc-types/default", {"policy": {"retention_days": value}}).status_code == 422, value


def test_the_worker_runs_the_purge_periodically(app):
    from delivery_sign.core.jobs import _PERIODIC
    from delivery_sign.privacy.tasks import PURGE_EVERY_S, purge_expired

    assert any(task.fn is purge_expired and task.every_s == PURGE_EVERY_S for task in _PERIODIC)


def test_at_the_end_of_the_receipt_retention_the_pdf_goes_and_a_copy_still_verifies(world, client, runner, signed):
    receipt_id, pdf, photo_ids = signed
    before = _evidence(world, receipt_id)
    number, signer = before["waybills"][0]["number"], before["signer"]["name"]
    _purge(runner, 3649)
    assert world.get(f"/receipts/{receipt_id}/pdf").status_code == 200
    assert _purge(runner, 3651)["expired"] >= 1
    for path in ("pdf", f"photos/{photo_ids[0]}?variant=display", "signature.png"):
        assert world.get(f"/receipts/{receipt_id}/{path}").status_code == 410, path
    evidence = _evidence(world, receipt_id)
    assert evidence["waybills"] == [{"number": number}] and evidence["signer"]["name"] == signer[0] + "*" * (len(signer) - 1)
    assert "client" not in evidence and "location" not in evidence
    assert world.get("/audit/verify").get_json()["ok"] is True
    checked = client.post("/api/v1/verify", data=pdf, content_type="application/pdf").get_json()
    assert checked["receipt_id"] == receipt_id and checked["file_matches"] is True
    assert checked["pdf_signature_valid"] is True and checked["evidence_hash_matches"] is True
    assert client.get(f"/v/{receipt_id}").status_code == 200
