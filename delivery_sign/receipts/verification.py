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
    """``{pdf_signature_valid, evidence_hash_matches, receipt_id}`` for an uploaded PDF, with
    the parts a person reads a failure by: ``signature_intact`` (crypto, coverage, our
    certificate), ``file_matches`` (the very file issued), ``signed_by`` and ``signing_time``."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext
    from asn1crypto import x509

    result = {"pdf_signature_valid": False, "evidence_hash_matches": False, "receipt_id": None,
              "signature_intact": False, "file_matches": False, "signed_by": None, "signing_time": None}
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
    # After a retention purge (issue 19) the stored evidence is the purged one; the PDF's is
    # the original, whose hash the purged evidence keeps (and the sign-off event recorded).
    digest = hashlib.sha256(evidence_bytes).hexdigest()
    original = ((receipt.evidence or {}).get("retention") or {}).get("original_evidence_hash")
    result["evidence_hash_matches"] = digest in (receipt.evidence_hash, original)
    result["file_matches"] = hashlib.sha256(data).hexdigest() == receipt.pdf_sha256
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
        result["signature_intact"] = bool(
            status.intact and status.valid and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
            and signer_fingerprint in fingerprints)
        result["pdf_signature_valid"] = result["signature_intact"] and result["file_matches"]
        subject = status.signing_cert.subject
        result["signed_by"] = subject.native.get("common_name") or subject.human_friendly
        timestamp = getattr(status, "timestamp_validity", None)
        result["signing_time"] = (timestamp.timestamp if timestamp is not None else status.signer_reported_dt)
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
        "timezone": _tenant_zone(receipt.tenant_id),
    }


def _tenant_zone(tenant_id: int) -> str:
    from ..accounts.models import Tenant

    return db.session.execute(select(Tenant.timezone).where(Tenant.id == tenant_id)).scalar_one()


def check_receipts_against_chain(tenant_id: int, limit_bad: int = 20) -> dict:
    """Every receipt of a tenant re-hashed (issue 15.6): its evidence must hash to its
    ``evidence_hash``, that hash must be the one its latest ``receipt:<id>`` audit event
    carrying an ``evidence_hash`` recorded (the sign-off, or a later event that legitimately
    rewrote the evidence), and the columns shown on pages (signer, relation, outcome) must
    say what the evidence says. The chain is keyed, so the events cannot be forged to match."""
    from ..core.audit import AuditEvent, canonical_json

    count, bad_count, bad = 0, 0, []
    query = (select(Receipt).where(Receipt.tenant_id == tenant_id).order_by(Receipt.id)
             .execution_options(yield_per=500))
    result = db.session.execute(query).scalars()
    try:
        for batch in result.partitions(500):
            recorded = {}
            subjects = [f"receipt:{r.public_id}" for r in batch]
            for subject, data in db.session.execute(
                    select(AuditEvent.subject, AuditEvent.data)
                    .where(AuditEvent.tenant_id == tenant_id, AuditEvent.subject.in_(subjects))
                    .order_by(AuditEvent.seq)):
                if isinstance(data, dict) and data.get("evidence_hash"):
                    recorded[subject] = data["evidence_hash"]
            for receipt in batch:
                count += 1
                if not _receipt_consistent(receipt, recorded.get(f"receipt:{receipt.public_id}"), canonical_json):
                    bad_count += 1
                    if len(bad) < limit_bad:
                        bad.append(receipt.public_id)
    finally:
        result.close()
    return {"receipts": count, "bad_receipts": bad, "bad_receipt_count": bad_count}


def _receipt_consistent(receipt: Receipt, recorded_hash: str | None, canonical_json) -> bool:
    evidence = receipt.evidence if isinstance(receipt.evidence, dict) else None
    if evidence is None or recorded_hash is None:
        return False
    if hashlib.sha256(canonical_json(evidence)).hexdigest() != receipt.evidence_hash:
        return False
    if receipt.evidence_hash != recorded_hash:
        return False
    # A consented drop has no signer: its columns say so with an empty name and "none".
    signer = evidence.get("signer") or {"name": "", "relation": "none"}
    return (evidence.get("receipt_id") == receipt.public_id and evidence.get("outcome") == receipt.outcome
            and signer.get("name") == receipt.signer_name and signer.get("relation") == receipt.signer_relation)
