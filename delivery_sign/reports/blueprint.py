"""URL map of reports and exports."""
from flask_smorest import Blueprint

blp = Blueprint("reports", __name__, description="Reports and exports")
