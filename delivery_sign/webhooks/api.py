"""Webhook handlers (tenant admins and API keys)."""
from ..core.auth import current, require
from . import services
from .blueprint import blp
from .schemas import (DeliveryListSchema, DeliveryOutSchema, WebhookCreatedSchema, WebhookInSchema,
                      WebhookListQuerySchema, WebhookListSchema)

MANAGERS = ("admin", "system")


@blp.route("/webhooks", methods=["POST"])
@require(*MANAGERS)
@blp.arguments(WebhookInSchema)
@blp.response(201, WebhookCreatedSchema)
def create_webhook(body):
    """Subscribe a URL to events; the response carries the signing secret, once."""
    subscription, secret = services.create_subscription(current(), body["url"], body["events"])
    return {"public_id": subscription.public_id, "url": subscription.url, "events": subscription.events,
            "created_at": subscription.created_at, "secret": secret}


@blp.route("/webhooks", methods=["GET"])
@require(*MANAGERS)
@blp.arguments(WebhookListQuerySchema, location="query")
@blp.response(200, WebhookListSchema)
def list_webhooks(args):
    rows, next_cursor = services.list_subscriptions(current(), limit=args["limit"], cursor=args["cursor"])
    return {"items": rows, "next_cursor": next_cursor}


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
    """The delivery log, newest first: status, attempts, last response, next attempt."""
    items, next_cursor = services.deliveries(current(), webhook_id, limit=args["limit"], cursor=args["cursor"])
    return {"items": items, "next_cursor": next_cursor}


@blp.route("/webhooks/<webhook_id>/deliveries/<event_id>/redeliver", methods=["POST"])
@require(*MANAGERS)
@blp.response(202, DeliveryOutSchema)
def redeliver(webhook_id, event_id):
    """Send the event again with the same id and body."""
    return services.redeliver(current(), webhook_id, event_id)
