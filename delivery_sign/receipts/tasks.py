"""Receipt jobs: render, sign and store the receipt PDF after a sign-off."""
import functools
import hashlib

from flask import current_app
from sqlalchemy import select

from ..core import audit
from ..core.audit import canonical_json
from ..core.clock import isoformat, utcnow
from ..core.jobs import handler
from ..core.storage import get_storage
from ..extensions import db
from ..signing.models import SignLinkWaybill
from ..waybills.models import Waybill
from . import pdf
from .certificates import TenantSeal, active_certificate, signer_for
from .models import Receipt
from .services import photo_bytes, signature_of

RENDER_PDF = "receipt.render_pdf"


def document_of(receipt: Receipt, base_url: str) -> pdf.ReceiptDocument:
    """Gather what the PDF shows: evidence, signature picture, thumbnails, seal, originals."""
    from ..evidence.signature_render import render_png

    storage = get_storage()
    evidence = receipt.evidence
    seal_png = None
    if evidence["policy"].get("auto_seal"):
        seal = db.session.get(TenantSeal, receipt.tenant_id)
        seal_png = _seal_bytes(seal.storage_key) if seal else None
    originals = [storage.get(key) for key in db.session.execute(
        select(Waybill.document_key).join(SignLinkWaybill, SignLinkWaybill.waybill_id == Waybill.id)
        .where(SignLinkWaybill.link_id == receipt.link_id, Waybill.document_key.is_not(None))
        .order_by(Waybill.id)).scalars()]
    return pdf.ReceiptDocument(
        receipt_id=receipt.public_id, evidence=evidence, evidence_json=canonical_json(evidence),
        evidence_hash=receipt.evidence_hash, verify_url=f"{base_url}/v/{receipt.public_id}",
        signature_png=render_png(signature_of(receipt)),
        thumbnails=[photo_bytes(receipt, photo["photo_id"], "thumb")[0] for photo in evidence["photos"]],
        seal_png=seal_png, auto_seal=bool(evidence["policy"].get("auto_seal")), originals=originals)


@functools.lru_cache(maxsize=64)
def _seal_bytes(key: str) -> bytes:
    # Seal keys are content-addressed: a new upload is a new key.
    return get_storage().get(key)


@functools.lru_cache(maxsize=4)
def _timestamper(url: str):
    from pyhanko.sign.timestamps import HTTPTimeStamper

    return HTTPTimeStamper(url, timeout=10)


@handler(RENDER_PDF, max_attempts=8, backoff_s=10)
def render_receipt_pdf(ctx):
    config = current_app.config
    receipt = db.session.get(Receipt, ctx.payload["receipt"])
    if receipt is None or receipt.pdf_key is not None:
        return
    doc = document_of(receipt, config["PUBLIC_BASE_URL"])
    certificate = active_certificate(receipt.tenant_id)
    signer = signer_for(certificate, config["SECRET_KEY"])
    fingerprint, receipt_pk = certificate.fingerprint, receipt.id
    # Sign outside any transaction: on SQLite an open one holds the write lock.
    db.session.commit()
    timestamper = _timestamper(config["TSA_URL"]) if config["TSA_URL"] else None
    data = pdf.sign(doc, signer, timestamper)
    digest = hashlib.sha256(data).hexdigest()
    key = f"receipts/{ctx.tenant_id}/{doc.receipt_id}-{digest[:16]}.pdf"
    get_storage().put(key, data, "application/pdf")

    receipt = db.session.get(Receipt, receipt_pk)
    if receipt.pdf_key is not None:
        return   # another worker finished first (a lease that ran out mid-render)
    receipt.pdf_key, receipt.pdf_sha256, receipt.pdf_rendered_at = key, digest, utcnow()
    audit.record(receipt.tenant_id, "receipt.pdf_rendered", "system", f"receipt:{receipt.public_id}",
                 {"sha256": digest, "size": len(data), "certificate": fingerprint, "timestamped": bool(timestamper)})
    from ..webhooks.services import emit

    numbers = [w["number"] for w in receipt.evidence["waybills"]]
    emit(receipt.tenant_id, "receipt.pdf_ready", {
        "receipt_id": receipt.public_id, "waybills": numbers, "pdf_sha256": digest,
        "rendered_at": isoformat(receipt.pdf_rendered_at), "evidence_hash": receipt.evidence_hash,
        "receipt_pdf": f"{config['PUBLIC_BASE_URL']}/api/v1/receipts/{receipt.public_id}/pdf",
    }, waybill_number=numbers[0])
