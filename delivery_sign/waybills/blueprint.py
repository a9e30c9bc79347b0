"""URL map of the waybill API."""
from flask_smorest import Blueprint

blp = Blueprint("waybills", __name__, description="Waybills: create, import, query, assign, cancel")
