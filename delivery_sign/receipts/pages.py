"""The public verification page ``/v/<receipt_id>`` (SPEC §4): what the receipt's QR opens."""
from flask import Blueprint, abort, render_template

from .pdf import OUTCOME_LABELS, RELATION_LABELS
from .verification import public_view

bp = Blueprint("receipt_pages", __name__)


@bp.route("/v/<receipt_id>")
def verify_page(receipt_id):
    view = public_view(receipt_id)
    if view is None:
        abort(404)
    response = render_template("verify.html", receipt=view, outcome_label=OUTCOME_LABELS.get(view["outcome"], ""),
                               relation_label=RELATION_LABELS.get(view["relation"], ""))
    return response, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
