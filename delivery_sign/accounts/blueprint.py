"""URL map of the accounts API: auth, org units, users, API keys, doc types, audit."""
from flask_smorest import Blueprint

blp = Blueprint("accounts", __name__, description="Staff sign-in, tenant structure and configuration")
