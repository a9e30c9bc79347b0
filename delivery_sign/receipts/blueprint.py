"""URL map of receipt reads."""
from flask_smorest import Blueprint

blp = Blueprint("receipts", __name__, description="Receipts: evidence, signature pictures, photos, PDF")
