"""Checking a receipt PDF someone hands us: is it ours, whole, and does it carry the evidence?

A receipt PDF verifies when its last signature covers the entire file, is
cryptographically intact, was made with one of the tenant's certificates, the file is
the one we stored (its SHA-256 is the receipt's ``pdf_sha256``), and the
embedded ``evidence.json`` hashes to the evidence hash stored for the receipt it names.
"""
import hashlib
import json
import logging

from sqlalchemy import select

from ..core.masking import mask_name
from ..extensions import db
from .certificates import tenant_certificates_der
from .models import Receipt
from .pdf import EVIDENCE_ATTACHMENT

log = logging.getLogger(__name__)


def _attachment(reader) -> bytes | None:
    """The bytes of ``evidence.json`` from the document's EmbeddedFiles name tree (one level)."""
    root = reader.root
    if "/Names" not in root or "/EmbeddedFiles" not in root["/Names"]:
        return None
    tree = root["/Names"]["/EmbeddedFiles"]
    entries = list(tree["/Names"]) if "/Names" in tree else []
    for name, spec in zip(entries[0::2], entries[1::2]):
        if str(name) == EVIDENCE_ATTACHMENT:
            return spec.get_object()["/EF"]["/F"].data
    return None


def verify_pdf(data: bytes) -> dict:
    """``{pdf_signature_valid, evidence_hash_matches, receipt_id}`` for an uploaded PDF."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext
    from asn1crypto import x509

    result = {"pdf_signature_valid": False, "evidence_hash_matches": False, "receipt_id": None}
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        evidence_bytes = _attachment(reader)
        signatures = reader.embedded_signatures
    except Exception as exc:  # noqa: BLE001 - a damaged upload is "not valid", not a server error
        log.info("unreadable PDF on verify: %r", exc)
        return result
    receipt = None
    if evidence_bytes is not None:
        try:
            receipt_id = json.loads(evidence_bytes).get("receipt_id")
        except (ValueError, AttributeError):
            receipt_id = None
        if isinstance(receipt_id, str):
            receipt = db.session.execute(select(Receipt).where(Receipt.public_id == receipt_id)).scalar_one_or_none()
    if receipt is None:
        return result
    result["receipt_id"] = receipt.public_id
    result["evidence_hash_matches"] = hashlib.sha256(evidence_bytes).hexdigest() == receipt.evidence_hash
    if not signatures:
        return result
    ders = tenant_certificates_der(receipt.tenant_id)
    fingerprints = {hashlib.sha256(der).hexdigest() for der in ders}
    try:
        embedded = signatures[-1]
        context = ValidationContext(trust_roots=[x509.Certificate.load(der) for der in ders], allow_fetching=False)
        status = validate_pdf_signature(embedded, context)
        signer_fingerprint = hashlib.sha256(status.signing_cert.dump()).hexdigest()
        # The byte-for-byte comparison also catches edits pyHanko tolerates, such as the
        # zero padding of the signature's /Contents placeholder.
        result["pdf_signature_valid"] = bool(
            status.intact and status.valid and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
            and signer_fingerprint in fingerprints and hashlib.sha256(data).hexdigest() == receipt.pdf_sha256)
    except Exception as exc:  # noqa: BLE001 - a corrupted signature is a failed check
        log.info("signature validation failed on verify: %r", exc)
    return result


def public_view(public_id: str) -> dict | None:
    """What anyone holding the QR may see: enough to match a paper copy, no personal data."""
    receipt = db.session.execute(select(Receipt).where(Receipt.public_id == public_id)).scalar_one_or_none()
    if receipt is None:
        return None
    ev = receipt.evidence
    return {
        "receipt_id": receipt.public_id,
        "tenant": ev["tenant"]["name"],
        "doc_type": ev["doc_type"]["name"],
        "waybills": [w["number"] for w in ev["waybills"]],
        "outcome": receipt.outcome,
        "signer": mask_name(receipt.signer_name),
        "relation": receipt.signer_relation,
        "signed_at": ev["times"]["submitted_at"],
        "evidence_hash": receipt.evidence_hash,
        "pdf_sha256": receipt.pdf_sha256,
        "anomaly_count": len(receipt.anomalies),
    }
