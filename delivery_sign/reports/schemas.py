"""Report and export query shapes."""
from marshmallow import ValidationError, fields, validate, validates_schema

from ..core.vocabulary import DEFAULT_LANG, LANGS
from ..core.schema import Instant, StrictSchema, UtcDateTime
from ..waybills.models import STATUSES
from ..waybills.schemas import WaybillQuerySchema
from .services import BASES, GROUPS


class SummaryQuerySchema(StrictSchema):
    group_by = fields.String(load_default="day", validate=validate.OneOf(GROUPS))
    basis = fields.String(load_default="created", validate=validate.OneOf(BASES),
                          metadata={"description": "created: waybills created in the range; "
                                                   "signed: sign-offs made in the range"})
    from_ = Instant(data_key="from", load_default=None)
    to = Instant(load_default=None)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] >= data["to"]:
            raise ValidationError("range_invalid: from must be before to.", "from")


# How many waybills of the row are in each status: every status, 0 included.
StatusCountsSchema = type("StatusCountsSchema", (StrictSchema,), {status: fields.Integer() for status in STATUSES})


class SummaryRowSchema(StrictSchema):
    key = fields.String(allow_none=True)
    total = fields.Integer()
    by_status = fields.Nested(StatusCountsSchema)
    signed_by_consignee = fields.Integer()
    signed_by_others = fields.Integer()
    with_anomalies = fields.Integer()
    median_minutes_to_signoff = fields.Integer(allow_none=True)


class SummarySchema(StrictSchema):
    group_by = fields.String()
    basis = fields.String()
    from_ = UtcDateTime(data_key="from")
    to = UtcDateTime()
    rows = fields.List(fields.Nested(SummaryRowSchema))


class ExportQuerySchema(WaybillQuerySchema):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))
    lang = fields.String(load_default=None, validate=validate.OneOf((*LANGS, "codes")),
                         metadata={"description": "language of headers and values; default: the tenant's "
                                                  "(PATCH /tenant). Times are in the tenant's time zone, "
                                                  "named in the time columns' headers. codes: codes and UTC "
                                                  "times under code-named columns (for integrations)."})


class LabelsQuerySchema(StrictSchema):
    lang = fields.String(load_default=DEFAULT_LANG, validate=validate.OneOf(LANGS))


def _codes():
    return fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "A map: each code of the group → its label in lang."})


class LabelsSchema(StrictSchema):
    """code → label, per group: the words the pages, the PDF and the exports use."""
    lang = fields.String()
    status = _codes()
    outcome = _codes()
    relation = _codes()
    anomaly = _codes()
    photo_kind = _codes()
    taken_by = _codes()
    decision = _codes()
    column = _codes()
    sheet = _codes()
    drop_place = _codes()
    consent_kind = _codes()
    otp_to = _codes()
    yes_no = _codes()


class AuditEventSchema(StrictSchema):
    seq = fields.Integer()
    type = fields.String(attribute="event_type")
    actor = fields.String()
    subject = fields.String()
    data = fields.Dict(metadata={"description": "Free-form: what the event records, its keys depend on type "
                                                "(as chained in the audit log)."})
    created_at = UtcDateTime()
    hash = fields.String()
