"""Shapes of the privacy API (issue 19)."""
from marshmallow import fields, validate

from ..accounts.schemas import RetentionDaysSchema
from ..core.schema import StrictSchema, UtcDateTime
from ..receipts.evidence_doc import openapi_schema

PHONE = validate.Regexp(r"^\+?[0-9 -]{5,20}$", error="format: A phone number of 5–20 digits.")


class NoticeInSchema(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(20, 4000), metadata={
        "description": "Plain words; {handler} becomes the tenant's name and {days} the raw-data retention."})


class NoticeOutSchema(StrictSchema):
    version = fields.Integer(metadata={"description": "0: the product's default text (no version published)."})
    text = fields.String()
    created_at = UtcDateTime(allow_none=True)
    created_by = fields.String(allow_none=True)


class NoticesOutSchema(StrictSchema):
    current = fields.Nested(NoticeOutSchema)
    history = fields.List(fields.Nested(NoticeOutSchema))


class PhoneQuerySchema(StrictSchema):
    phone = fields.String(required=True, validate=PHONE)


class ExportInSchema(StrictSchema):
    phone = fields.String(required=True, validate=PHONE)
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "pdf")),
                           metadata={"description": "json (this schema) or pdf (a readable report)."})


class EraseInSchema(StrictSchema):
    phone = fields.String(required=True, validate=PHONE)


class PartsSchema(StrictSchema):
    strokes = fields.String(metadata={"description": "kept | purged"})
    photos = fields.String()
    location = fields.String()
    ip = fields.String()


class SubjectWaybillSchema(StrictSchema):
    number = fields.String()
    status = fields.String()
    consignee_name_masked = fields.String()
    created_at = UtcDateTime()
    receipt_id = fields.String(allow_none=True)
    hold = fields.String(allow_none=True, metadata={"description": "disputed | in_delivery: not erasable now."})


class SubjectReceiptSchema(StrictSchema):
    receipt_id = fields.String()
    created_at = UtcDateTime()
    outcome = fields.String()
    role = fields.String(metadata={"description": "consignee | signer (the number was typed as the signer's)."})
    parts = fields.Nested(PartsSchema)


class SubjectSchema(StrictSchema):
    phone_masked = fields.String()
    waybills = fields.List(fields.Nested(SubjectWaybillSchema))
    receipts = fields.List(fields.Nested(SubjectReceiptSchema))


class ExportConsigneeSchema(StrictSchema):
    name = fields.String()
    phone = fields.String()
    address = fields.String()


class ExportItemSchema(StrictSchema):
    sku = fields.String(allow_none=True)
    name = fields.String()
    qty = fields.Float()
    unit = fields.String(allow_none=True)


class ExportWaybillSchema(StrictSchema):
    number = fields.String()
    status = fields.String()
    created_at = UtcDateTime()
    consignee = fields.Nested(ExportConsigneeSchema)
    items = fields.List(fields.Nested(ExportItemSchema))
    receipt_id = fields.String(allow_none=True)
    hold = fields.String(allow_none=True)


class ExportReceiptSchema(StrictSchema):
    receipt_id = fields.String()
    created_at = UtcDateTime()
    evidence_hash = fields.String()
    parts = fields.Nested(PartsSchema)
    retention_days = fields.Nested(RetentionDaysSchema)
    evidence = fields.Dict(metadata={**openapi_schema(),
                                     "description": "The evidence document, IP address masked."})


class ExportStandingSchema(StrictSchema):
    id = fields.String()
    address = fields.String(metadata={"description": "The address it covers (only its district after an erasure)."})
    choice = fields.String()
    place = fields.String(allow_none=True)
    created_at = UtcDateTime()
    expires_at = UtcDateTime()
    revoked_at = UtcDateTime(allow_none=True)


class ExportSchema(StrictSchema):
    phone_masked = fields.String()
    exported_at = UtcDateTime()
    waybills = fields.List(fields.Nested(ExportWaybillSchema))
    receipts = fields.List(fields.Nested(ExportReceiptSchema))
    standing_consents = fields.List(fields.Nested(ExportStandingSchema),
                                    metadata={"description": "\"以后都放门卫\": the phone's standing consents, in force or not."})


class ErasedSchema(StrictSchema):
    waybill = fields.String()
    receipt = fields.String()
    standing_consent = fields.String(metadata={"description": "A standing consent ended, its address masked."})


class KeptSchema(StrictSchema):
    waybill = fields.String()
    receipt = fields.String()
    reason = fields.String(metadata={"description": "disputed | in_delivery"})


class EraseOutSchema(StrictSchema):
    phone_masked = fields.String()
    erased = fields.List(fields.Nested(ErasedSchema))
    kept = fields.List(fields.Nested(KeptSchema))


class ViewRecordSchema(StrictSchema):
    seq = fields.Integer()
    actor = fields.String()
    what = fields.String(metadata={"description": "evidence | signature.png | signature.svg | photo | pdf | phone"})
    photo_id = fields.String(allow_none=True)
    variant = fields.String(allow_none=True)
    at = UtcDateTime()
