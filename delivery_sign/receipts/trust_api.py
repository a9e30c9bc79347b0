"""Handlers for the tenant's signing certificate and seal, and public PDF verification."""
from flask import request
from marshmallow import fields

from ..core.auth import current, require
from ..core.content import accepts
from ..core.errors import NotFound, ValidationFailed, field_error
from ..core.schema import StrictSchema, UtcDateTime
from ..extensions import limiter
from . import certificates
from .blueprint import blp
from .verification import verify_pdf


class CertificateOutSchema(StrictSchema):
    subject = fields.String()
    fingerprint_sha256 = fields.String()
    source = fields.String()
    not_after = UtcDateTime()
    created_at = UtcDateTime()
    certificate_pem = fields.String()


class SealOutSchema(StrictSchema):
    sha256 = fields.String()
    uploaded_at = UtcDateTime()


class VerifyOutSchema(StrictSchema):
    pdf_signature_valid = fields.Boolean()
    evidence_hash_matches = fields.Boolean()
    receipt_id = fields.String(allow_none=True)
    # What a person needs to understand a failure (additive; the three above decide).
    signature_intact = fields.Boolean(metadata={"description": "the last signature is cryptographically intact, "
                                                               "covers the whole file and uses the tenant's certificate"})
    file_matches = fields.Boolean(metadata={"description": "the upload is byte for byte the PDF that was issued"})
    signed_by = fields.String(allow_none=True, metadata={"description": "the signing certificate's subject"})
    signing_time = UtcDateTime(allow_none=True, metadata={"description": "when the PDF was signed (signer's clock, "
                                                                         "or the TSA's when timestamped)"})


@blp.route("/tenant/certificate", methods=["GET"])
@require("admin", "dispatcher", "system")
@blp.response(200, CertificateOutSchema)
def get_certificate():
    """The certificate receipts are signed with (made on the first receipt when none was uploaded)."""
    row = certificates.current_certificate(current().tenant_id)
    if row is None:
        raise NotFound("No certificate yet: one is generated with the first receipt, or upload a PKCS#12.")
    return certificates.certificate_view(row)


@blp.route("/tenant/certificate", methods=["PUT"])
@accepts("multipart/form-data", "application/x-pkcs12", form={"password": {"type": "string"}})
@require("admin")
@blp.response(200, CertificateOutSchema)
def put_certificate():
    """Sign receipts with a PKCS#12 (multipart ``file`` + ``password``, or an ``application/x-pkcs12``
    body with the password in ``X-Certificate-Password``)."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed([field_error("file", "required", "Attach the PKCS#12 file as 'file'.")])
        data, password = upload.read(), request.form.get("password")
    else:
        data, password = request.get_data(cache=False), request.headers.get("X-Certificate-Password")
    return certificates.certificate_view(certificates.upload_pkcs12(current(), data, password))


@blp.route("/tenant/seal", methods=["PUT"])
@accepts("image/png")
@require("admin")
@blp.response(200, SealOutSchema)
def put_seal():
    """The company seal stamped on receipts of doc types with ``auto_seal`` (a PNG, transparent background)."""
    return certificates.upload_seal(current(), request.get_data(cache=False))


@blp.route("/verify", methods=["POST"])
@accepts("multipart/form-data", "application/pdf")
@limiter.limit("60 per minute", scope="verify")
@blp.response(200, VerifyOutSchema)
def verify():
    """Upload a receipt PDF (multipart ``file`` or an ``application/pdf`` body): is it intact and ours?"""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed([field_error("file", "required", "Attach the PDF as 'file'.")])
        data = upload.read()
    else:
        data = request.get_data(cache=False)
    if not data.startswith(b"%PDF-"):
        raise ValidationFailed([field_error("file", "not_pdf", "The upload is not a PDF document.")])
    return verify_pdf(data)
