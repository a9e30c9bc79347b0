"""Receipt read shapes."""
from marshmallow import EXCLUDE, RAISE, fields, validate

from ..core.schema import StrictSchema, UtcDateTime
from .evidence_doc import openapi_schema
from .services import PHOTO_VARIANTS


class ReceiptPdfSchema(StrictSchema):
    ready = fields.Boolean(metadata={"description": "false until the worker has rendered it."})
    url = fields.String()
    sha256 = fields.String(allow_none=True)


class EvidenceOutSchema(StrictSchema):
    receipt_id = fields.String()
    evidence = fields.Dict(metadata={**openapi_schema(), "description": (
        "The evidence document as sealed (receipts/evidence_doc.py); a courier sees it without the "
        "photos' GPS and the IP address.")})
    evidence_hash = fields.String()
    audit_seq = fields.Integer()
    created_at = UtcDateTime()
    pdf = fields.Nested(ReceiptPdfSchema)


class SignedLinkQuerySchema(StrictSchema):
    """A link from GET /receipts/<id>/links or a webhook payload: valid without a bearer."""
    expires = fields.String(metadata={"description": "Unix time the link stops working (signed links only)."})
    signature = fields.String(metadata={"description": "HMAC of the path, query and expiry (signed links only)."})

    class Meta:
        unknown = EXCLUDE   # the PDF and signature routes ignored their query before; they still do


class PhotoQuerySchema(SignedLinkQuerySchema):
    variant = fields.String(load_default="original", validate=validate.OneOf(PHOTO_VARIANTS))

    class Meta:
        unknown = RAISE


class PhotoLinksSchema(StrictSchema):
    photo_id = fields.String()
    kind = fields.String()
    thumb = fields.String()
    display = fields.String()


class ReceiptLinksSchema(StrictSchema):
    """Signed, expiring links to a receipt's files (SIGNED_URL_TTL_S), fetchable without a bearer."""
    receipt_id = fields.String()
    expires_at = UtcDateTime()
    pdf = fields.String(metadata={"description": "202 with Retry-After until the PDF is rendered."})
    signature_png = fields.String()
    signature_svg = fields.String()
    photos = fields.List(fields.Nested(PhotoLinksSchema))
