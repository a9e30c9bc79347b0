"""The receipt PDF: rendered by a job, signed, self-describing, verifiable (SPEC §6)."""
import hashlib
import io
import json

from pypdf import PdfReader
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel

from delivery_sign.extensions import db
from delivery_sign.receipts.models import Receipt

from .conftest import drain
from .pki import TimestampAuthority, one_page_pdf, pkcs12_bytes, pyhanko_signer


def _validate(data):
    from pyhanko_certvalidator import ValidationContext

    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[-1]
    cert = sig.signer_cert
    return validate_pdf_signature(sig, ValidationContext(trust_roots=[cert], allow_fetching=False)), cert


def test_pdf_is_202_until_the_job_renders_it(world, door):
    receipt_id = door.submit().get_json()["receipt_id"]
    pending = world.get(f"/receipts/{receipt_id}/pdf")
    assert pending.status_code == 202 and pending.headers["Retry-After"]
    assert world.get(f"/receipts/{receipt_id}").get_json()["pdf"]["ready"] is False
    drain(world)
    ready = world.get(f"/receipts/{receipt_id}/pdf")
    assert ready.status_code == 200 and ready.data.startswith(b"%PDF-")
    view = world.get(f"/receipts/{receipt_id}").get_json()["pdf"]
    assert view["ready"] is True and view["sha256"] == hashlib.sha256(ready.data).hexdigest()


def test_pyhanko_accepts_the_signature_over_the_whole_file(world, signed):
    receipt_id, data, _ = signed
    status, cert = _validate(data)
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    fingerprint = hashlib.sha256(cert.dump()).hexdigest()
    assert world.get("/tenant/certificate").get_json()["fingerprint_sha256"] == fingerprint
    # A self-signed EC P-256 certificate in the tenant's name, made on first use.
    assert cert.public_key.algorithm == "ec" and world.slug in cert.subject.human_friendly


def test_pdf_carries_the_canonical_evidence_and_what_a_reader_needs(world, signed):
    receipt_id, data, photo_ids = signed
    reader = PdfReader(io.BytesIO(data))
    evidence_json = reader.attachments["evidence.json"][0]
    evidence = world.get(f"/receipts/{receipt_id}").get_json()
    assert hashlib.sha256(evidence_json).hexdigest() == evidence["evidence_hash"]
    assert json.loads(evidence_json)["receipt_id"] == receipt_id
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)   # A4
    text = "".join(page.extract_text() for page in reader.pages)
    number = evidence["evidence"]["waybills"][0]["number"]
    assert number in text and evidence["evidence_hash"] in text and receipt_id in text
    # The thumbnails are the stored JPEG bytes, not re-encoded.
    for photo_id in photo_ids:
        thumb = world.get(f"/receipts/{receipt_id}/photos/{photo_id}?variant=thumb").data
        assert thumb[:2] == b"\xff\xd8" and thumb in data
    assert b"13800138000" not in data and b"13800138000".decode() not in text


def test_rendering_is_audited(world, signed):
    receipt_id, data, _ = signed
    with world.app.app_context():
        from sqlalchemy import select

        from delivery_sign.core.audit import AuditEvent

        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.tenant_id == world.tenant_id, AuditEvent.event_type == "receipt.pdf_rendered")).scalar_one()
        assert event.subject == f"receipt:{receipt_id}"
        assert event.data["sha256"] == hashlib.sha256(data).hexdigest()
    assert world.get("/audit/verify").get_json()["ok"] is True


def test_rendering_twice_changes_nothing(world, signed):
    receipt_id, data, _ = signed
    from delivery_sign.receipts.tasks import render_receipt_pdf

    with world.app.app_context():
        pk = db.session.execute(db.select(Receipt.id).where(Receipt.public_id == receipt_id)).scalar_one()
        from delivery_sign.core.clock import utcnow
        from delivery_sign.core.jobs import JobContext

        render_receipt_pdf(JobContext(0, "receipt.render_pdf", {"receipt": pk}, world.tenant_id, 2, utcnow()))
        db.session.commit()
    assert world.get(f"/receipts/{receipt_id}/pdf").data == data


def test_receipt_is_appended_to_the_uploaded_delivery_note(world, make_door):
    door = make_door()
    original = one_page_pdf()
    response = world.put(f"/waybills/{door.number}/document", data=original, content_type="application/pdf")
    assert response.status_code == 200, response.get_json()
    receipt_id = door.submit().get_json()["receipt_id"]
    drain(world)
    data = world.get(f"/receipts/{receipt_id}/pdf").data
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 2
    assert "ORIGINAL DELIVERY NOTE" in reader.pages[0].extract_text()
    assert door.number in "".join(p.extract_text() for p in reader.pages[1:])
    status, _ = _validate(data)
    assert status.intact and status.valid and status.coverage == SignatureCoverageLevel.ENTIRE_FILE


def test_seal_uploaded_by_the_admin_is_stamped(world, make_door):
    from PIL import Image

    seal = io.BytesIO()
    Image.new("RGBA", (64, 64), (200, 20, 20, 128)).save(seal, "PNG")
    assert world.put("/tenant/seal", data=b"not a png", content_type="image/png").status_code == 422
    assert world.put("/tenant/seal", data=seal.getvalue(), content_type="image/png", who="disp_east").status_code == 403
    assert world.put("/tenant/seal", data=seal.getvalue(), content_type="image/png").status_code == 200
    door = make_door()
    receipt_id = door.submit().get_json()["receipt_id"]
    drain(world)
    reader = PdfReader(io.BytesIO(world.get(f"/receipts/{receipt_id}/pdf").data))
    images = [image for page in reader.pages for image in page.images]
    # signature, photo thumbnail and the 64×64 seal
    assert any(image.image.size == (64, 64) for image in images)


def test_uploaded_pkcs12_signs_new_receipts_and_old_ones_still_verify(world, client, signed, make_door):
    old_receipt, old_pdf, _ = signed
    data, cert = pkcs12_bytes()
    wrong = world.put("/tenant/certificate", data={"file": (io.BytesIO(data), "c.p12"), "password": "nope"},
                      content_type="multipart/form-data")
    assert wrong.status_code == 422 and wrong.get_json()["errors"][0]["code"] == "pkcs12_invalid"
    assert client.put("/api/v1/tenant/certificate", data=data, content_type="application/x-pkcs12",
                      headers={**world.auth("disp_east"), "X-Certificate-Password": "p12-pass"}).status_code == 403
    response = world.put("/tenant/certificate", data={"file": (io.BytesIO(data), "c.p12"), "password": "p12-pass"},
                         content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    from cryptography.hazmat.primitives import serialization

    fingerprint = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert response.get_json()["fingerprint_sha256"] == fingerprint and response.get_json()["source"] == "uploaded"

    door = make_door()
    receipt_id = door.submit().get_json()["receipt_id"]
    drain(world)
    new_pdf = world.get(f"/receipts/{receipt_id}/pdf").data
    status, signer_cert = _validate(new_pdf)
    assert status.intact and status.valid and hashlib.sha256(signer_cert.dump()).hexdigest() == fingerprint
    for pdf, rid in ((new_pdf, receipt_id), (old_pdf, old_receipt)):
        result = client.post("/api/v1/verify", data=pdf, content_type="application/pdf").get_json()
        assert (result["pdf_signature_valid"], result["evidence_hash_matches"], result["receipt_id"]) == (True, True, rid)


def test_timestamp_from_the_tsa_when_configured(app, world, make_door):
    tsa = TimestampAuthority()
    app.config["TSA_URL"] = tsa.url
    try:
        door = make_door()
        receipt_id = door.submit().get_json()["receipt_id"]
        drain(world)
    finally:
        app.config["TSA_URL"] = None
        tsa.close()
    data = world.get(f"/receipts/{receipt_id}/pdf").data
    assert tsa.requests >= 1   # pyHanko also asks once to size the signature
    status, _ = _validate(data)
    assert status.intact and status.valid and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.timestamp_validity is not None and status.timestamp_validity.intact
    assert status.timestamp_validity.valid


def test_unreachable_tsa_retries_the_job_instead_of_signing_without(app, world, make_door):
    from delivery_sign.core.jobs import Job

    app.config["TSA_URL"] = "http://127.0.0.1:9/tsa"
    try:
        door = make_door()
        receipt_id = door.submit().get_json()["receipt_id"]
        drain(world)
    finally:
        app.config["TSA_URL"] = None
    assert world.get(f"/receipts/{receipt_id}/pdf").status_code == 202
    with app.app_context():
        job = db.session.execute(db.select(Job).where(Job.tenant_id == world.tenant_id,
                                                      Job.kind == "receipt.render_pdf")).scalar_one()
        assert job.status == "pending" and job.attempts == 1 and job.last_error


def test_someone_elses_signature_on_our_receipt_is_refused(client, signed):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    receipt_id, data, _ = signed
    out = io.BytesIO()
    signers.PdfSigner(signers.PdfSignatureMetadata(field_name="Other"), signer=pyhanko_signer()).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(data)), output=out)
    result = client.post("/api/v1/verify", data=out.getvalue(), content_type="application/pdf").get_json()
    assert result["receipt_id"] == receipt_id and result["pdf_signature_valid"] is False


def test_the_pdf_job_holds_no_transaction_while_it_fetches_draws_and_signs(world, door, monkeypatch):
    from delivery_sign.receipts import pdf, tasks

    from .conftest import assert_no_transaction_open

    checked = []
    real_sign, real_photo = pdf.sign, tasks.stored_photo

    def sign(*args, **kwargs):
        assert_no_transaction_open(world.app)
        checked.append("sign")
        return real_sign(*args, **kwargs)

    def stored_photo(*args):
        assert_no_transaction_open(world.app)
        checked.append("photo")
        return real_photo(*args)

    monkeypatch.setattr(pdf, "sign", sign)
    monkeypatch.setattr(tasks, "stored_photo", stored_photo)
    receipt_id = door.submit(door.body(photo_ids=[door.upload().get_json()["photo_id"]])).get_json()["receipt_id"]
    drain(world)
    assert checked == ["photo", "sign"]
    assert world.get(f"/receipts/{receipt_id}").get_json()["pdf"]["ready"] is True


def test_signature_space_too_small_is_measured_again(world, signed):
    """The /Contents size is measured once per signer and reused; if a signature ever
    outgrows it (a timestamp authority's tokens grew), the receipt is signed anyway."""
    from delivery_sign.receipts import pdf, tasks
    from delivery_sign.receipts.certificates import active_certificate, signer_for

    receipt_id, _, _ = signed
    with world.app.app_context():
        receipt = db.session.execute(db.select(Receipt).where(Receipt.public_id == receipt_id)).scalar_one()
        doc = tasks._document(tasks._sources(receipt), "http://testserver")
        signer = signer_for(active_certificate(receipt.tenant_id), world.app.config["SECRET_KEY"])
        db.session.rollback()
    pdf._reserved[signer][None] = 64
    status, _ = _validate(pdf.sign(doc, signer))
    assert status.intact and status.valid and pdf._reserved[signer][None] > 64
