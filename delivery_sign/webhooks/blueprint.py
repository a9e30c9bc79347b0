"""URL map of webhook subscriptions and their delivery log."""
from flask_smorest import Blueprint

blp = Blueprint("webhooks", __name__, description="Webhooks: subscriptions, delivery log, redelivery")
