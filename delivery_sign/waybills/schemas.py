"""Waybill request/response shapes (SPEC §4). Phones are masked in every dump."""
import json
from decimal import Decimal, InvalidOperation

from marshmallow import Schema, fields, validate, validates

from ..core.dump import CompiledDump
from ..core.masking import mask_phone
from ..core.schema import (CodeSchema, FieldErrorSchema, FromColumns, Instant, LocationSchema, Phone, StrictSchema,
                           UtcDateTime, coded)
from ..receipts.urls import receipt_url
from .models import STATUSES

NUMBER = validate.Regexp(r"^[A-Za-z0-9-]{4,40}$", error="format: Waybill numbers are 4–40 letters, digits or -.")
CODE = validate.Regexp(r"^[A-Za-z0-9_-]{1,40}$", error="Use 1–40 letters, digits, _ or -")
MAX_ITEMS = 200
MAX_METADATA_BYTES = 4096
MAX_METADATA_DEPTH = 4
MAX_QTY = Decimal("999999999.999")


class Quantity(fields.Field):
    """A positive quantity with at most 3 decimals, kept exact as ``Decimal``."""

    def __init__(self, *, allow_zero=False, **kwargs):
        kwargs["metadata"] = {"type": "number", **kwargs.get("metadata", {})}   # for the OpenAPI document
        super().__init__(**kwargs)
        self.allow_zero = allow_zero

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise coded("invalid_type", "Must be a number.")
        try:
            qty = Decimal(str(value))
        except InvalidOperation:
            raise coded("invalid_type", "Must be a number.") from None
        if not qty.is_finite() or qty < 0 or (qty == 0 and not self.allow_zero) or qty > MAX_QTY:
            raise coded("range", "Must be a zero or positive quantity." if self.allow_zero else
                        "Must be a positive quantity.")
        if qty.as_tuple().exponent < -3:
            raise coded("precision", "At most 3 decimals.")
        return qty

    def _serialize(self, value, attr, obj, **kwargs):
        return number_out(value)


def number_out(qty):
    if qty is None:
        return None
    qty = Decimal(qty)
    return int(qty) if qty == qty.to_integral_value() else float(qty)


class ItemInSchema(StrictSchema):
    sku = fields.String(load_default=None, validate=validate.Length(max=64))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    qty = Quantity(required=True)
    unit = fields.String(load_default=None, validate=validate.Length(max=20))


class ConsigneeInSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, 100))
    phone = Phone(required=True)
    address = fields.String(required=True, validate=validate.Length(1, 300))
    location = fields.Nested(LocationSchema, load_default=None, allow_none=True)


class WaybillInSchema(StrictSchema):
    number = fields.String(required=True, validate=NUMBER)
    doc_type = fields.String(load_default="default", validate=CODE)
    org_unit = fields.String(load_default=None, validate=CODE)
    courier = fields.String(load_default=None, validate=validate.Length(1, 64))
    consignee = fields.Nested(ConsigneeInSchema, required=True)
    items = fields.List(fields.Nested(ItemInSchema), required=True,
                        validate=validate.Length(1, MAX_ITEMS, error="length: 1–200 item lines."))
    deadline = Instant(load_default=None)
    external_ref = fields.String(load_default=None, validate=validate.Length(max=100))
    metadata = fields.Dict(load_default=None, allow_none=True)

    @validates("metadata")
    def _metadata_size(self, value, **kwargs):
        if value is not None and len(json.dumps(value, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
            raise coded("too_large", f"metadata is limited to {MAX_METADATA_BYTES} bytes of JSON.")
        if value is not None and _depth(value) > MAX_METADATA_DEPTH:
            raise coded("too_deep", f"metadata may nest objects and lists at most {MAX_METADATA_DEPTH} levels deep.")


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


class BatchInSchema(StrictSchema):
    # Items are validated one by one in the service so one bad waybill cannot sink the rest.
    checked_later = frozenset({"waybills"})
    waybills = fields.List(fields.Raw(), required=True,
                           validate=validate.Length(1, 1000, error="length: 1–1000 waybills per batch."))


class BatchItemResultSchema(StrictSchema):
    number = fields.String()
    status = fields.String(metadata={"description": "created | exists | error"})
    errors = fields.List(fields.Nested(FieldErrorSchema), metadata={"description": "Only with status error."})


class BatchResultSchema(StrictSchema):
    results = fields.List(fields.Nested(BatchItemResultSchema))


class ImportErrorSchema(StrictSchema):
    row = fields.Integer(metadata={"description": "The row of the file the error is on."})
    field = fields.String(allow_none=True)
    message = fields.String()


class ImportResultSchema(StrictSchema):
    created = fields.Integer()
    exists = fields.Integer()
    errors = fields.List(fields.Nested(ImportErrorSchema))


class WaybillQuerySchema(StrictSchema):
    status = fields.String(load_default=None)
    courier = fields.String(load_default=None)
    org_unit = fields.String(load_default=None)
    doc_type = fields.String(load_default=None)
    q = fields.String(load_default=None, validate=validate.Length(1, 100))
    created_from = Instant(load_default=None)
    created_to = Instant(load_default=None)
    signed_from = Instant(load_default=None)
    signed_to = Instant(load_default=None)
    anomaly = fields.String(load_default=None, validate=validate.Length(1, 40))
    reconciled = fields.Boolean(load_default=None)
    signer_relation = fields.String(load_default=None, validate=validate.OneOf(
        ("self", "others", "family", "colleague", "guard", "locker", "other")))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    cursor = fields.String(load_default=None)

    @validates("status")
    def _statuses(self, value, **kwargs):
        if value is not None:
            unknown = [s for s in value.split(",") if s not in STATUSES]
            if unknown:
                raise coded("one_of", f"Unknown status {unknown[0]!r}; use one of {', '.join(STATUSES)}.")


class RevealQuerySchema(StrictSchema):
    reveal = fields.String(load_default=None, validate=validate.OneOf(("phone",)))


class AssignSchema(StrictSchema):
    courier = fields.String(required=True, validate=validate.Length(1, 64))


class CancelSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(1, 500))


class ItemOutSchema(StrictSchema):
    sku = fields.String(allow_none=True)
    name = fields.String()
    qty = Quantity()
    unit = fields.String(allow_none=True)


class MaskedPhone(fields.String):
    """The consignee's phone, masked unless ``reveal_phone`` was set on the waybill by an audited reveal."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value if getattr(obj, "reveal_phone", False) else mask_phone(value)


class ReceiptLink(fields.String):
    """The receipt's API URL (and a file under it) from the receipt's public id."""

    def __init__(self, *parts, **kwargs):
        super().__init__(dump_only=True, **kwargs)   # several read the same id: output only
        self.parts = parts

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else receipt_url(value, *self.parts)


class ConsigneeLocationOutSchema(StrictSchema):
    lat = fields.Float(attribute="consignee_lat")
    lng = fields.Float(attribute="consignee_lng")
    coord_system = fields.String(attribute="consignee_coord_system")


class ConsigneeOutSchema(StrictSchema):
    name = fields.String(attribute="consignee_name")
    phone = MaskedPhone(attribute="consignee_phone", metadata={"description": "Masked unless ?reveal=phone."})
    address = fields.String(attribute="consignee_address")
    location = FromColumns(ConsigneeLocationOutSchema, present="consignee_lat", allow_none=True)


class DocumentOutSchema(StrictSchema):
    """The original delivery note (PUT /waybills/<number>/document)."""
    sha256 = fields.String(attribute="document_sha256")
    size = fields.Integer(attribute="document_size")


class ReconciliationOutSchema(StrictSchema):
    decision = fields.String(attribute="reconcile_decision", metadata={"description": "accepted | disputed"})
    note = fields.String(attribute="reconcile_note", allow_none=True)
    at = UtcDateTime(attribute="reconciled_at")
    by = fields.String(attribute="reconciled_by")


class WaybillReceiptOutSchema(StrictSchema):
    id = fields.String(attribute="receipt_public_id")
    url = ReceiptLink(attribute="receipt_public_id")
    pdf = ReceiptLink("pdf", attribute="receipt_public_id")
    signer_relation = fields.String(allow_none=True)


class UsernameSchema(Schema):
    username = fields.String()


class WaybillOutSchema(CompiledDump, StrictSchema):
    """A waybill as every response shows it. Lists of 200 waybills are the hottest path, so
    ``dump`` runs a dumper compiled from these fields (core.dump), not marshmallow's generic one."""

    number = fields.String()
    status = fields.String()
    doc_type = fields.Pluck(CodeSchema, "code")
    org_unit = fields.Pluck(CodeSchema, "code", allow_none=True)
    courier = fields.Pluck(UsernameSchema, "username", allow_none=True)
    consignee = FromColumns(ConsigneeOutSchema)
    items = fields.List(fields.Nested(ItemOutSchema))
    deadline = UtcDateTime(allow_none=True)
    external_ref = fields.String(allow_none=True)
    metadata = fields.Dict(attribute="extra", allow_none=True, metadata={
        "description": "Free-form: the caller's own metadata object, returned as it was sent."})
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    assigned_at = UtcDateTime(allow_none=True)
    out_for_delivery_at = UtcDateTime(allow_none=True)
    signed_at = UtcDateTime(allow_none=True)
    cancelled_at = UtcDateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    document = FromColumns(DocumentOutSchema, present="document_key", allow_none=True)
    anomalies = fields.Pluck(CodeSchema, "code", many=True)
    reconciliation = FromColumns(ReconciliationOutSchema, present="reconcile_decision", allow_none=True)
    receipt = FromColumns(WaybillReceiptOutSchema, present="receipt_public_id", allow_none=True)


class WaybillPageSchema(StrictSchema):
    items = fields.List(fields.Nested(WaybillOutSchema))
    next_cursor = fields.String(allow_none=True)


class ReconcileSchema(StrictSchema):
    decision = fields.String(required=True, validate=validate.OneOf(("accepted", "disputed")))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class BulkReconcileSchema(ReconcileSchema):
    numbers = fields.List(fields.String(validate=validate.Length(1, 40)), required=True,
                          validate=validate.Length(1, 500))


class ReconcileResultSchema(StrictSchema):
    number = fields.String()
    status = fields.String(metadata={"description": "reconciled | error"})
    error = fields.String(metadata={"description": "Only with status error: why it was not reconciled."})


class BulkReconcileResultSchema(StrictSchema):
    results = fields.List(fields.Nested(ReconcileResultSchema))
