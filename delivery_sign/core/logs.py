"""JSON logs, one object per line, each with the request id; phone numbers masked."""
import logging
import sys
import time
import uuid

from flask import g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from .masking import PhoneMaskingFilter


def logged_path() -> str:
    """The route template (``/api/v1/sign/<token>/otp``), never the raw path: paths carry
    sign tokens, receipt ids and names that do not belong in logs."""
    if request.url_rule is not None:
        return request.url_rule.rule
    return "/".join(request.path.split("/")[:3]) + "/…"


class _RequestContextFilter(logging.Filter):
    def filter(self, record):
        if has_request_context():
            record.request_id = getattr(g, "request_id", None)
            record.path = logged_path()
        return True


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_delivery_sign", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._delivery_sign = True
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                       rename_fields={"asctime": "time", "levelname": "level"}))
    handler.addFilter(_RequestContextFilter())
    handler.addFilter(PhoneMaskingFilter())
    root.addHandler(handler)
    root.setLevel(level)


def init_request_logging(app) -> None:
    access = logging.getLogger("delivery_sign.access")

    @app.before_request
    def _start():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        # The path only: query strings may carry tokens or personal data.
        access.info("request", extra={"method": request.method, "status": response.status_code,
                                      "duration_ms": round(elapsed_ms, 2), "endpoint": request.endpoint})
        return response
