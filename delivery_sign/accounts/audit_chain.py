"""The tenant's audit chain as the audit endpoints show it: verified, signed head, anchored."""
from flask import current_app

from ..core import audit
from ..core.auth import Principal
from ..core.clock import utcnow


def verify_audit(principal: Principal) -> dict:
    """The audit chain recomputed and every receipt re-hashed against it: ``ok`` only when both hold."""
    from ..receipts.verification import check_receipts_against_chain

    from ..core.anchors import verify_anchors

    result = audit.verify_chain(principal.tenant_id)
    receipts = check_receipts_against_chain(principal.tenant_id)
    anchors = verify_anchors(principal.tenant_id)
    ok = result["ok"] and not receipts["bad_receipt_count"] and anchors["first_bad_anchor_seq"] is None
    return {**result, **receipts, **anchors, "ok": ok}


def signed_head(principal: Principal) -> dict:
    """The chain head signed with the tenant's certificate (a detached CMS signature over the
    head statement): anyone holding the certificate can check it without our database or key,
    which an HMAC could not offer. The latest RFC 3161 anchor comes with it."""
    import asyncio
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from ..core import anchors
    from ..receipts.certificates import active_certificate, signer_for

    row = active_certificate(principal.tenant_id)   # first (it may be made now, an event of its own)
    seq, head_hash = anchors.current_head(principal.tenant_id)
    statement = anchors.head_statement(principal.tenant_id, seq, head_hash)
    signer = signer_for(row, current_app.config["SECRET_KEY"])
    signature = asyncio.run(signer.async_sign_general_data(statement, "sha256", detached=True))
    certificate = x509.load_der_x509_certificate(row.cert_der).public_bytes(serialization.Encoding.PEM)
    latest = anchors.latest_anchor(principal.tenant_id)
    return {
        "tenant_id": principal.tenant_id, "seq": seq, "hash": head_hash, "alg": audit.ALG,
        "statement": statement.decode("utf-8"), "signed_at": utcnow(),
        "signature": base64.b64encode(signature.dump()).decode("ascii"),
        "certificate": certificate.decode("ascii"), "certificate_fingerprint": row.fingerprint,
        "anchor": anchors.anchor_view(latest) if latest else None,
    }


def anchor_now(principal: Principal) -> dict:
    from ..core import anchors

    anchor = anchors.anchor_head(principal.tenant_id)
    audit.record(principal.tenant_id, "audit.anchored", principal.actor, f"audit:{anchor.seq}",
                 {"seq": anchor.seq, "hash": anchor.hash, "tsa_url": anchor.tsa_url})
    return anchors.anchor_view(anchor)
