"""Page handlers. The H5 pages are static shells; their scripts talk to the JSON API."""
import functools
import hashlib
import json

from flask import make_response, render_template, request

from ..core import vocabulary
from ..core.errors import NotFound
from ..extensions import api
from ..receipts.models import RELATIONS
from ..signing import links
from .blueprint import bp

_METHODS = ("get", "post", "put", "patch", "delete")

# What a recipient sees when the QR cannot be used, in the page's default language;
# the script switches these to English with the rest of the page.
LINK_STATES = {
    "unknown": (404, "链接无效", "找不到这次签收，请让快递员重新出示二维码。"),
    "used": (410, "已签收", "这次送货已经签收过了，无需再次签收。"),
    "expired": (410, "二维码已过期", "请让快递员重新生成签收二维码。"),
    "cancelled": (410, "送货已取消", "这次送货已取消，无需签收。如有疑问，请联系寄件方或快递员。"),
    "completed": (410, "送货已完成", "这次送货已经处理完毕，无需再次签收。"),
    "locked": (423, "签收已锁定", "验证码错误次数过多，请让快递员重新生成签收二维码。"),
}


@functools.cache
def _labels_script() -> tuple[str, str]:
    table = {lang: {f"{group}.{code}": text for group, codes in vocabulary.catalog(lang).items()
                    for code, text in codes.items()} for lang in vocabulary.LANGS}
    body = f"/* core/vocabulary.py, for DS.I18n (static/js/common.js) */\nwindow.DS_LABELS = {json.dumps(table, ensure_ascii=False)};\n"
    return body, hashlib.sha256(body.encode()).hexdigest()[:16]


@bp.get("/labels.js")
def labels_script():
    """The vocabulary as a script every page loads before its own (CSP allows only 'self' scripts)."""
    body, etag = _labels_script()
    response = make_response(body)
    response.mimetype = "text/javascript"
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response.make_conditional(request)


@bp.get("/api/docs")
def api_docs():
    """The API reference rendered from the OpenAPI document: no scripts, no internet."""
    spec = api.spec.to_dict()
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                operations.append({"path": path, "method": method.upper(), **item[method]})
    return render_template("api_docs.html", spec=spec, operations=operations,
                           schemas=spec.get("components", {}).get("schemas", {}))


def _link_state(token: str) -> str:
    try:
        return links.recipient_state(links.find_link(token))
    except NotFound:
        return "unknown"


@bp.get("/s/<token>")
@links.recipient_limits
def recipient_page(token):
    """The recipient's sign page behind the QR; a plain explanation when the link is dead."""
    state = _link_state(token)
    status, title, body = LINK_STATES.get(state, (200, "", ""))
    html = render_template("recipient.html", token=token, state=state, relations=RELATIONS,
                           state_text={"title": title, "body": body})
    response = make_response(html, status)
    # The page is the credential's view: keep it out of shared caches and history restores.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/courier")
def courier_app():
    """The courier's H5 app: log in, pick waybills, show the QR, watch it get signed."""
    response = make_response(render_template("courier.html"))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def start_page():
    """The first thing a newcomer opens: where the courier app, dashboard and API docs are."""
    from flask import current_app

    from ..demo import DEMO_SLUG, start_urls

    return render_template("start.html", urls=start_urls(current_app.config["PUBLIC_BASE_URL"]),
                           demo_slug=DEMO_SLUG)
