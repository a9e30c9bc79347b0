"""URL map of the privacy API (issue 19): the notice, and requests by phone number."""
from flask_smorest import Blueprint

blp = Blueprint("privacy", __name__, description="Privacy: the notice shown at the door, requests by phone number")
