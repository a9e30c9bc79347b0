"""Webhook handlers (tenant admins and API keys)."""
from ..core.auth import current, require
from . import services
from .blueprint import blp
from .schemas import (DeliveryListSchema, DeliveryOutSchema, RotateSecretInSchema, WebhookCreatedSchema,
                      WebhookInSchema, WebhookListQuerySchema, WebhookListSchema, WebhookOutSchema)

MANAGERS = ("admin", "system")


@blp.route("/webhooks", methods=["POST"])
@require(*MANAGERS)
@blp.arguments(WebhookInSchema)
@blp.response(201, WebhookCreatedSchema)
def create_webhook(body):
    """Subscribe a URL to events; the response carries the signing secret, once."""
    subscription, secret = services.create_subscription(current(), body["url"], body["events"])
    return _with_secret(subscription, secret)


_SHOWN = ("public_id", "url", "events", "created_at", "disabled_at", "disabled_reason", "failing_since",
          "previous_secret_expires_at")


def _with_secret(subscription, secret: str) -> dict:
    return {**{name: getattr(subscription, name) for name in _SHOWN}, "secret": secret}


@blp.route("/webhooks", methods=["GET"])
@require(*MANAGERS)
@blp.arguments(WebhookListQuerySchema, location="query")
@blp.response(200, WebhookListSchema)
def list_webhooks(args):
    rows, next_cursor = services.list_subscriptions(current(), limit=args["limit"], cursor=args["cursor"])
    return {"items": rows, "next_cursor": next_cursor}


@blp.route("/webhooks/<webhook_id>", methods=["GET"])
@require(*MANAGERS)
@blp.response(200, WebhookOutSchema)
def get_webhook(webhook_id):
    """One subscription, with whether it is disabled (410, or 5 days of failures) and since when it fails."""
    return services.get_subscription(current(), webhook_id)


@blp.route("/webhooks/<webhook_id>/rotate-secret", methods=["POST"])
@require(*MANAGERS)
@blp.arguments(RotateSecretInSchema, required=False)
@blp.response(200, WebhookCreatedSchema)
def rotate_secret(body, webhook_id):
    """A new signing secret, shown once; the previous one keeps signing during the overlap."""
    subscription, secret = services.rotate_secret(current(), webhook_id, (body or {}).get("overlap_s"))
    return _with_secret(subscription, secret)


@blp.route("/webhooks/<webhook_id>/enable", methods=["POST"])
@require(*MANAGERS)
@blp.response(200, WebhookOutSchema)
def enable_webhook(webhook_id):
    """Deliver to a disabled subscription again (new events; redeliver the ones it missed)."""
    return services.enable_subscription(current(), webhook_id)


@blp.route("/webhooks/<webhook_id>", methods=["DELETE"])
@require(*MANAGERS)
@blp.response(204)
def delete_webhook(webhook_id):
    services.delete_subscription(current(), webhook_id)


@blp.route("/webhooks/<webhook_id>/deliveries", methods=["GET"])
@require(*MANAGERS)
@blp.arguments(WebhookListQuerySchema, location="query")
@blp.response(200, DeliveryListSchema)
def list_deliveries(args, webhook_id):
    """The delivery log, newest first: status, attempts, last response, next attempt. Settled
    deliveries are kept ``WEBHOOK_HISTORY_DAYS`` (30 by default); pending ones until they settle."""
    items, next_cursor = services.deliveries(current(), webhook_id, limit=args["limit"], cursor=args["cursor"])
    return {"items": items, "next_cursor": next_cursor}


@blp.route("/webhooks/<webhook_id>/deliveries/<event_id>/redeliver", methods=["POST"])
@require(*MANAGERS)
@blp.response(202, DeliveryOutSchema)
def redeliver(webhook_id, event_id):
    """Send the event again with the same id and body."""
    return services.redeliver(current(), webhook_id, event_id)
