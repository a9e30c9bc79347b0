"""Receipt read shapes."""
from marshmallow import fields, validate

from ..core.schema import StrictSchema, UtcDateTime
from .services import PHOTO_VARIANTS


class EvidenceOutSchema(StrictSchema):
    receipt_id = fields.String()
    evidence = fields.Dict()
    evidence_hash = fields.String()
    audit_seq = fields.Integer()
    created_at = UtcDateTime()
    pdf = fields.Dict()


class PhotoQuerySchema(StrictSchema):
    variant = fields.String(load_default="original", validate=validate.OneOf(PHOTO_VARIANTS))
