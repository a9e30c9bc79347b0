"""Operational endpoints: liveness, readiness (database reachable) and Prometheus metrics."""
from flask import Blueprint, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from .metrics import metrics_response

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        response = jsonify(status="unavailable", database="unreachable")
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response
    return jsonify(status="ok", database="ok", recognizer=_recognizer_state())


def _recognizer_state() -> str:
    """"on" when handwriting recognition can run; "off" never fails readiness (issue 13)."""
    from flask import current_app

    from ..evidence import zinnia

    found = zinnia.recognizer(current_app.config["ZINNIA_LIBRARY"], current_app.config["ZINNIA_MODEL"])
    return "on" if found is not None else "off"


@bp.get("/metrics")
def metrics():
    return metrics_response()


def register_wechat_verify_file(app) -> None:
    """Serve WeChat's QR-jump verification file at the site root, name and content from config."""
    name, content = app.config["WECHAT_VERIFY_FILE_NAME"], app.config["WECHAT_VERIFY_FILE_CONTENT"]
    if not name or content is None:
        return
    if "/" in name or not name.endswith(".txt"):
        raise ValueError("WECHAT_VERIFY_FILE_NAME must be a bare file name ending in .txt")

    def verify_file():
        return Response(content, mimetype="text/plain")

    app.add_url_rule(f"/{name}", endpoint="wechat_verify_file", view_func=verify_file)
