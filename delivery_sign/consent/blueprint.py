"""URL map of consent: staff ask and drop; the consignee answers with the link's token."""
from flask_smorest import Blueprint

blp = Blueprint("consent", __name__, description="Consent requests, standing consent, consented drops, "
                                                 "and sign links sent by SMS")
