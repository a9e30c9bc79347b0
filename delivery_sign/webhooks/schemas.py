"""Webhook request and response shapes."""
from marshmallow import fields, validate

from ..core.schema import ListQuerySchema, StrictSchema, UtcDateTime
from .models import EVENT_TYPES


class WebhookInSchema(StrictSchema):
    url = fields.String(required=True, validate=validate.Length(1, 500))
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)), required=True,
                         validate=validate.Length(min=1))


class WebhookOutSchema(StrictSchema):
    id = fields.String(attribute="public_id")
    url = fields.String()
    events = fields.List(fields.String())
    created_at = UtcDateTime()


class WebhookCreatedSchema(WebhookOutSchema):
    secret = fields.String(metadata={"description": "Shown once: the HMAC key of X-Signature."})


class WebhookListSchema(StrictSchema):
    items = fields.List(fields.Nested(WebhookOutSchema))
    next_cursor = fields.String(allow_none=True)


class DeliveryOutSchema(StrictSchema):
    event_id = fields.String()
    type = fields.String()
    waybill_number = fields.String(allow_none=True)
    status = fields.String()
    attempts = fields.Integer()
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    last_attempt_at = UtcDateTime(allow_none=True)
    next_attempt_at = UtcDateTime(allow_none=True)
    delivered_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()


class DeliveryListSchema(StrictSchema):
    items = fields.List(fields.Nested(DeliveryOutSchema))
    next_cursor = fields.String(allow_none=True)


class WebhookListQuerySchema(ListQuerySchema):
    pass
