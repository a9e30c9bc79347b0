"""The consignee's page behind the consent SMS, ``/c/<token>``: a static shell whose script
talks to the consent API; a plain page when the link is unknown or expired."""
from flask import Blueprint, make_response, render_template

from . import services
from .models import OPTIONS

bp = Blueprint("consent_pages", __name__)

# What the consignee sees when there is nothing to choose, in the page's default language;
# the script switches these to English with the rest of the page.
LINK_STATES = {
    "unknown": (404, "链接无效", "找不到这个链接，请核对短信中的地址。"),
    "expired": (410, "链接已过期", "这次询问已过期，快递员可以重新询问您。"),
}


@bp.get("/c/<token>")
@services.recipient_limits
def consent_page(token):
    state, standing = services.page_state(token)
    status, title, body = LINK_STATES.get(state, (200, "", ""))
    html = render_template("consent.html", token=token, state=state, standing=standing, options=OPTIONS,
                           state_text={"title": title, "body": body})
    response = make_response(html, status)
    # The page is the token's view: keep it out of shared caches and history restores.
    response.headers["Cache-Control"] = "no-store"
    return response
