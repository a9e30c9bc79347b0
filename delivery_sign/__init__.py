"""delivery_sign: on-site proof-of-delivery sign-off. ``create_app`` builds the service."""
import os

from flask import Flask, request

from .config import load_config
from .extensions import api, db, limiter, migrate

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
# Pages load scripts, styles and images from this origin only; no inline script.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__, static_folder=os.path.join(_REPO_ROOT, "static"), static_url_path="/static",
                instance_path=os.environ.get("INSTANCE_PATH") or os.path.join(_REPO_ROOT, "instance"))
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)

    from .core.ops import secure_instance

    secure_instance(app)
    app.json.sort_keys = False

    from .core.ratelimit import trust_proxies

    trust_proxies(app)
    app.json.ensure_ascii = False

    from .core.logs import configure_logging, init_request_logging

    configure_logging(app.config["LOG_LEVEL"])
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            from .core.pool import ping_when_idle

            ping_when_idle(db.engine, app.config["DB_PING_AFTER_IDLE_S"])
    migrate.init_app(app, db, directory=os.path.join(_REPO_ROOT, "migrations"))
    limiter.init_app(app)
    api.init_app(app)
    _register_models()
    _register_api(app)
    _register_pages(app)
    init_request_logging(app)

    from .core.metrics import init_metrics

    init_metrics(app)

    from .core.content import UploadRequest, check_request_content_type, check_request_size, refuse_nul_in_url

    app.request_class = UploadRequest

    from .core.transactions import commit_or_rollback

    app.before_request(refuse_nul_in_url)
    app.before_request(check_request_content_type)
    app.before_request(check_request_size)
    app.after_request(_security_headers)
    # Registered last, so it runs first: logs and metrics see the status after the commit.
    app.after_request(commit_or_rollback)

    from .accounts.logins import PRINCIPAL_LOADERS
    from .core.auth import init_principal_loaders

    init_principal_loaders(app, PRINCIPAL_LOADERS)

    from .receipts.services import init_link_waybills
    from .signing.links import waybill_ids_of_link

    init_link_waybills(app, waybill_ids_of_link)

    from .core.errors import register_error_handlers

    register_error_handlers(app)

    from .cli import register_cli

    register_cli(app)

    from .core.jobs import init_inline_worker

    init_inline_worker(app)
    return app


def _register_models():
    # Import every model module so metadata (and Alembic) sees all tables.
    from .accounts import models as _accounts  # noqa: F401
    from .core import anchors as _anchors  # noqa: F401  (the daily anchor registers on import)
    from .consent import models as _consent  # noqa: F401
    from .core import audit as _audit  # noqa: F401
    from .core import jobs as _jobs  # noqa: F401
    from .core.sms import backends as _sms  # noqa: F401
    from .privacy import models as _privacy  # noqa: F401
    from .privacy import tasks as _privacy_tasks  # noqa: F401  (the daily retention purge registers on import)
    from .receipts import certificates as _certificates  # noqa: F401
    from .receipts import models as _receipts  # noqa: F401
    from .receipts import tasks as _receipt_tasks  # noqa: F401  (job handlers register on import)
    from .receipts import fingerprints as _fingerprint_tasks  # noqa: F401  (the re-index job)
    from .reports import models as _reports  # noqa: F401
    from .reports import rollup as _rollup  # noqa: F401  (the worker folds the roll-up)
    from .signing import models as _signing  # noqa: F401
    from .waybills import models as _waybills  # noqa: F401
    from .webhooks import models as _webhooks  # noqa: F401
    from .signing import sweep as _sweep_tasks  # noqa: F401
    from .webhooks import tasks as _webhook_tasks  # noqa: F401
    from .core import partitions as _partitions  # noqa: F401  (the worker makes month partitions ahead)


def _register_api(app):
    from .accounts.api import blp as accounts_blp
    from .consent.api import blp as consent_blp
    from .privacy.api import blp as privacy_blp
    from .receipts.api import blp as receipts_blp
    from .reports.api import blp as reports_blp
    from .signing.api import blp as signing_blp
    from .waybills.api import blp as waybills_blp
    from .webhooks.api import blp as webhooks_blp

    for blp in (accounts_blp, waybills_blp, signing_blp, receipts_blp, reports_blp, webhooks_blp, consent_blp,
                privacy_blp):
        api.register_blueprint(blp, url_prefix="/api/v1")


def _register_pages(app):
    from .consent.pages import bp as consent_pages_bp
    from .core.ops import bp as ops_bp
    from .core.ops import add_readiness_probe, register_wechat_verify_file
    from .dashboard.blueprint import bp as dashboard_bp
    from .pages.blueprint import bp as pages_bp
    from .receipts.pages import bp as receipt_pages_bp

    app.register_blueprint(ops_bp)
    add_readiness_probe(app, "recognizer", lambda: _recognizer_state(app))
    app.register_blueprint(pages_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(receipt_pages_bp)
    app.register_blueprint(consent_pages_bp)
    register_wechat_verify_file(app)


def _security_headers(response):
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_CSP)
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _recognizer_state(app) -> str:
    """"on" when handwriting recognition can run; "off" never fails readiness (issue 13)."""
    from .evidence import zinnia

    found = zinnia.recognizer(app.config["ZINNIA_LIBRARY"], app.config["ZINNIA_MODEL"])
    return "on" if found is not None else "off"
