"""URL map of the dashboard pages."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from . import views  # noqa: E402,F401  (routes register on import)
