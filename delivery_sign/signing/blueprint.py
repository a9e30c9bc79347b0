"""URL map of sign links (staff) and the recipient API (the token is the credential)."""
from flask_smorest import Blueprint

blp = Blueprint("signing", __name__, description="Sign links and the recipient's sign-off")
