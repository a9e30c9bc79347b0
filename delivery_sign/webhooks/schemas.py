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
    disabled_at = UtcDateTime(allow_none=True, metadata={
        "description": "Set when the receiver answered 410 or every delivery failed for 5 days; "
                       "nothing is sent until POST /webhooks/<id>/enable."})
    disabled_reason = fields.String(allow_none=True)
    failing_since = UtcDateTime(allow_none=True, metadata={
        "description": "The first failed attempt since the last success."})
    previous_secret_expires_at = UtcDateTime(allow_none=True, metadata={
        "description": "After a rotation: until then the previous secret signs beside the new one."})


class WebhookCreatedSchema(WebhookOutSchema):
    secret = fields.String(metadata={
        "description": "Shown once: whsec_<base64 key>, the key of webhook-signature (Standard Webhooks); "
                       "the whole string is the HMAC key of X-Signature."})


class RotateSecretInSchema(StrictSchema):
    overlap_s = fields.Integer(load_default=None, validate=validate.Range(0, 7 * 24 * 3600), metadata={
        "description": "How long the previous secret keeps signing (default WEBHOOK_SECRET_OVERLAP_S)."})


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
