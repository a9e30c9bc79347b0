"""Operational endpoints: liveness, readiness (database reachable) and Prometheus metrics,
and the instance folder's permissions.

``/metrics`` is not public (issue 15.15): it answers a scrape that sends
``Authorization: Bearer <METRICS_KEY>``, or one that arrives on the ``METRICS_BIND``
listener (gunicorn.conf.py adds that bind; the listener is told by the accepting socket's
own address, which a client cannot forge, unlike ``Host``). With neither configured it is 404.

Readiness reports extra states (the recogniser) through probes ``create_app`` adds with
``add_readiness_probe``, so this core module imports no domain.
"""
import hmac
import os
import stat

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from .errors import problem_response
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
    probes = current_app.extensions.get("readiness_probes", {})
    return jsonify(status="ok", database="ok", **{name: probe() for name, probe in probes.items()})


def add_readiness_probe(app, name: str, probe) -> None:
    """``probe()`` -> a short state string shown under ``name``; it never fails readiness."""
    app.extensions.setdefault("readiness_probes", {})[name] = probe


@bp.get("/metrics")
def metrics():
    config = current_app.config
    if config.get("METRICS_BIND") and _on_listener(config["METRICS_BIND"]):
        return metrics_response()
    key = config.get("METRICS_KEY")
    if key:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), key.encode()):
            return metrics_response()
        # problem+json, not the HTML error page: the reader is a scraper.
        return problem_response(401, "Unauthorized", "Send the metrics key: Authorization: Bearer <METRICS_KEY>.",
                                headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return problem_response(404, "Not found",
                            "Metrics are served on the METRICS_BIND listener or with a METRICS_KEY, not here.")


def _on_listener(bind: str) -> bool:
    """Whether the request came in on the socket bound to ``bind`` (``host:port``)."""
    sock = request.environ.get("gunicorn.socket")
    if sock is None:
        return False
    try:
        local = sock.getsockname()
    except OSError:
        return False
    if not isinstance(local, tuple):
        return False   # a unix socket: name the port form in METRICS_BIND
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    return str(local[1]) == port and (host in ("", "0.0.0.0", "::") or host == local[0])


def secure_instance(app) -> None:
    """The instance folder 0700 and a SQLite database file 0600 (issue 15.15: the database
    holds full phone numbers; SQLite gives its -wal/-shm files the database file's mode)."""
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
    _tighten(app.instance_path, 0o700)
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = url.database
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        _tighten(path, 0o600)


def _tighten(path: str, mode: int) -> None:
    # Only ours, and only ever narrower: an operator's stricter mode or shared group stays.
    try:
        info = os.stat(path)
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & ~mode:
            os.chmod(path, stat.S_IMODE(info.st_mode) & mode)
    except OSError:
        pass


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
