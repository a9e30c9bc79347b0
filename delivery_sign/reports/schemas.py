"""Report and export query shapes."""
from marshmallow import fields, post_load, validate

from ..core.clock import to_naive_utc
from ..core.schema import StrictSchema, UtcDateTime
from ..waybills.schemas import WaybillQuerySchema
from .services import BASES, GROUPS


class SummaryQuerySchema(StrictSchema):
    group_by = fields.String(load_default="day", validate=validate.OneOf(GROUPS))
    basis = fields.String(load_default="created", validate=validate.OneOf(BASES),
                          metadata={"description": "created: waybills created in the range; "
                                                   "signed: sign-offs made in the range"})
    from_ = fields.AwareDateTime(data_key="from", load_default=None, default_timezone=None)
    to = fields.AwareDateTime(load_default=None, default_timezone=None)

    @post_load
    def _naive(self, data, **kwargs):
        for key in ("from_", "to"):
            if data.get(key) is not None:
                data[key] = to_naive_utc(data[key])
        return data


class SummaryRowSchema(StrictSchema):
    key = fields.String(allow_none=True)
    total = fields.Integer()
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
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


class AuditEventSchema(StrictSchema):
    seq = fields.Integer()
    type = fields.String(attribute="event_type")
    actor = fields.String()
    subject = fields.String()
    data = fields.Dict()
    created_at = UtcDateTime()
    hash = fields.String()
