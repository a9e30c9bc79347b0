"""One error vocabulary: problem+json for the API, an HTML page for everything else.

Services raise ``Problem`` (or its subclasses); handlers never build error responses.
An error rolls the request back, unless its ``Problem`` keeps the transaction (a wrong OTP
code still counts as an attempt): then the one commit in core/transactions.py saves it.
Validation failures carry ``errors`` as ``[{field, code, message}]`` (SPEC §4); a problem a
page must tell apart from others of its type (two limits behind one 429) also carries a
``code`` of its own, an RFC 9457 extension member. JSON
bodies are held to strict JSON here too: ``NaN``/``Infinity`` (which Python's parser
accepts) and numbers too large for a float are a 422 before any endpoint sees them.
"""
import json
import logging
import math
import re

from flask import g, jsonify, render_template, request
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from ..extensions import db

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://delivery-sign.dev/problems/"
PROBLEM_MIMETYPE = "application/problem+json"


class Problem(Exception):
    """An error the client can act on; rendered as problem+json."""

    status = 400
    slug = "bad-request"
    title = "Bad request"
    keep_transaction = False   # True: the request's changes are committed with the error response

    def __init__(self, detail="", *, status=None, slug=None, title=None, errors=None, headers=None,
                 keep_transaction=None, code=None):
        super().__init__(detail)
        self.code = code
        if keep_transaction is not None:
            self.keep_transaction = keep_transaction
        self.detail = detail
        self.status = status or self.status
        self.slug = slug or self.slug
        self.title = title or self.title
        self.errors = errors
        self.headers = headers or {}


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class Gone(Problem):
    status, slug, title = 410, "gone", "Gone"


class TooManyRequests(Problem):
    """429 with ``Retry-After``; ``code`` says which budget refused (the pages word it)."""
    status, slug, title = 429, "too-many-requests", "Too many requests"


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Forbidden"


class Unauthorized(Problem):
    status, slug, title = 401, "unauthorized", "Authentication required"


class ValidationFailed(Problem):
    status, slug, title = 422, "validation-failed", "Request did not pass validation"

    def __init__(self, errors, detail="One or more fields are invalid."):
        super().__init__(detail, errors=errors)


def field_error(field, code, message):
    return {"field": field, "code": code, "message": message}


# marshmallow's built-in messages, mapped to stable codes clients can switch on.
_MESSAGE_CODES = [
    (re.compile(r"^Missing data for required field"), "required"),
    (re.compile(r"^Field may not be null"), "null"),
    (re.compile(r"^Unknown field"), "unknown_field"),
    (re.compile(r"^Not a valid"), "invalid_type"),
    (re.compile(r"^(Longer|Shorter) than|^Length must"), "length"),
    (re.compile(r"^Must be (greater|less)"), "range"),
    (re.compile(r"^Must be one of"), "one_of"),
    (re.compile(r"^String does not match"), "format"),
    (re.compile(r"^Invalid input type"), "invalid_type"),
]


def _code_for(message):
    if isinstance(message, str) and ":" in message and message.split(":", 1)[0].isidentifier():
        # Our own validators write "code: message" so the code survives marshmallow.
        code, text = message.split(":", 1)
        return code, text.strip()
    for pattern, code in _MESSAGE_CODES:
        if pattern.search(str(message)):
            return code, str(message)
    return "invalid", str(message)


def flatten_messages(messages, prefix=""):
    """marshmallow's nested ``{field: [msg]}`` → ``[{field, code, message}]`` with dotted paths."""
    out = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "form", "files", "query", "headers") and not prefix:
                out.extend(flatten_messages(value, ""))
                continue
            if key == "_schema":
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(flatten_messages(value, path))
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            if isinstance(item, (dict, list)):
                out.extend(flatten_messages(item, prefix))
            else:
                code, text = _code_for(item)
                out.append(field_error(prefix or None, code, text))
    else:
        code, text = _code_for(messages)
        out.append(field_error(prefix or None, code, text))
    return out


def problem_response(status, title, detail="", *, slug=None, errors=None, headers=None, code=None):
    body = {
        "type": PROBLEM_BASE + (slug or _slug(title)),
        "title": title,
        "status": status,
        "detail": detail or title,
    }
    if code:
        body["code"] = code
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_MIMETYPE
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _slug(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _wants_json():
    return request.path.startswith("/api/") or request.path.startswith("/sign-links/")


def _handle_problem(exc: Problem):
    if exc.keep_transaction:
        g.commit_on_error = True
    else:
        db.session.rollback()
    if not _wants_json():
        return _html_error(exc.status, exc.title, exc.detail)
    return problem_response(exc.status, exc.title, exc.detail, slug=exc.slug,
                            errors=exc.errors, headers=exc.headers, code=exc.code)


def _handle_http(exc: HTTPException):
    db.session.rollback()
    data = getattr(exc, "data", None) or {}
    errors = None
    detail = exc.description or ""
    if data.get("messages"):
        errors = flatten_messages(data["messages"])
        detail = "One or more fields are invalid."
    headers = dict(data.get("headers") or {})
    if exc.code == 405 and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    if exc.code == 429:
        detail = "Too many requests; slow down and retry later."
    if exc.response is not None and exc.code == 429:
        headers.update({k: v for k, v in exc.response.headers.items() if k.lower().startswith(("retry", "x-ratelimit"))})
    if not _wants_json():
        return _html_error(exc.code, exc.name, detail)
    slug = "validation-failed" if exc.code == 422 else None
    return problem_response(exc.code, exc.name, detail, slug=slug, errors=errors, headers=headers)


def _handle_database_unavailable(exc):
    db.session.rollback()
    log.error("database unavailable: %s", type(exc).__name__)
    detail = "The database is not reachable right now; retry shortly."
    if not _wants_json():
        return _html_error(503, "Service unavailable", detail)
    return problem_response(503, "Service unavailable", detail, headers={"Retry-After": "5"})


def _handle_unexpected(exc):
    db.session.rollback()
    log.exception("unhandled error")
    if not _wants_json():
        return _html_error(500, "Internal server error", "Something went wrong on our side.")
    return problem_response(500, "Internal server error", "Something went wrong on our side.")


def _html_error(status, title, detail):
    return render_template("error.html", status=status, title=title, detail=detail), status


def _handle_too_deep(exc):
    db.session.rollback()
    return problem_response(400, "Bad request", "The JSON body is nested too deeply.")


def _handle_storage_error(exc):
    db.session.rollback()
    log.error("storage unavailable: %s", exc)
    return problem_response(503, "Service unavailable", "Files cannot be stored right now; retry shortly.",
                            headers={"Retry-After": "10"})


class _NonFiniteNumber(ValueError):
    pass


def _refuse_constant(name):
    raise _NonFiniteNumber(name)


def _finite_float(text):
    number = float(text)
    if math.isinf(number):
        raise _NonFiniteNumber(text if len(text) <= 20 else text[:20] + "…")
    return number


def _finite_int(text):
    number = int(text)
    if len(text) > 300:
        try:
            float(number)       # a JavaScript client would read it as Infinity
        except OverflowError:
            raise _NonFiniteNumber(text[:20] + "…") from None
    return number


# Only a body holding one of these can hold a non-finite number, so other bodies (nearly
# all) are not parsed twice: a bare NaN/Infinity, or a number with a 3-digit exponent or
# 309+ digits (1e999 and 1000 nines both overflow to infinity). A number starts the body
# or follows ``:``, ``,`` or ``[``: the loose ``e123`` matched half of all UUIDs, and so
# half of all sign-offs (a submission id) paid a second parse.
_NUMBER_START = rb"(?:^|[:,\[])\s*-?"
_MAYBE_NON_FINITE = re.compile(rb"NaN|Infinity|" + _NUMBER_START + rb"\d+(?:\.\d*)?[eE][+-]?0*\d{3}|"
                               + _NUMBER_START + rb"\d{309}")
# The same question asked without a regex walking every byte (issue 16: that walk was
# 2-3 ms of a submit, whose strokes are thousands of numbers; more than parsing them).
# With every digit folded to ``0`` and ``E`` to ``e``, a 3-digit exponent reads ``e000``,
# ``e+000`` or ``e-000`` and a 309-digit number 309 zeros: substring searches. Only where
# one of those turns up does the regex above look, from the start of that number on.
_FOLD = bytes.maketrans(b"123456789E", b"000000000e")
_EXPONENTS = (b"e000", b"e+000", b"e-000")
_LONG_NUMBER = b"0" * 309
# What may stand between the delimiter and the ``e``/the digits: ``\\s*-?\\d+(?:\\.\\d*)?``
_BEFORE = frozenset(b"0.- \t\r\n\f\v")
_CANDIDATES_MAX = 64
_WALK_MAX = 1024


def _maybe_non_finite(data: bytes) -> bool:
    """True exactly when ``_MAYBE_NON_FINITE`` matches ``data``; the regex runs only on the
    windows from a candidate's delimiter to its end. Linear: a stretch is walked back over
    once per needle (``e`` and ``+`` stop the walk), a run of digits is skipped whole; past
    ``_CANDIDATES_MAX`` candidates, or a walk back longer than ``_WALK_MAX``, the regex
    walks the whole body once, as it used to."""
    if b"NaN" in data or b"Infinity" in data:
        return True
    folded = data.translate(_FOLD)
    candidates = 0
    for needle in (*_EXPONENTS, _LONG_NUMBER):
        at = folded.find(needle)
        while at != -1:
            candidates += 1
            if candidates > _CANDIDATES_MAX:
                return _MAYBE_NON_FINITE.search(data) is not None
            start, stop = at, max(at - _WALK_MAX, 0)
            while start > stop and folded[start - 1] in _BEFORE:
                start -= 1
            if start == stop and start > 0:
                return _MAYBE_NON_FINITE.search(data) is not None
            # from the delimiter before the number on (``^`` holds only at the real start)
            if _MAYBE_NON_FINITE.search(data, max(start - 1, 0), at + len(needle)):
                return True
            after = at + len(needle)
            if needle is _LONG_NUMBER:
                while after < len(folded) and folded[after] == 0x30:
                    after += 1
            at = folded.find(needle, after)
    return False


def refuse_non_finite_json():
    """before_request: a JSON body with ``NaN``, ``Infinity`` or an overflowing number is a
    422 at every endpoint. Python's parser (Flask's and webargs') accepts them, they are
    not JSON (RFC 8259), and a stored NaN breaks every browser that reads it back."""
    if request.method not in ("POST", "PUT", "PATCH") or not request.is_json:
        return
    data = request.get_data(cache=True)
    if not data or not _maybe_non_finite(data):
        return
    try:
        json.loads(data, parse_constant=_refuse_constant, parse_float=_finite_float,
                   parse_int=_finite_int)
    except _NonFiniteNumber as exc:
        raise ValidationFailed([field_error(None, "non_finite_number",
                                            f"JSON numbers must be finite; {exc} is not allowed.")]) from None
    except (ValueError, RecursionError):
        return      # malformed: the endpoint's own parser answers it as it always has


def register_error_handlers(app):
    from .storage import StorageError

    app.before_request(refuse_non_finite_json)

    app.register_error_handler(Problem, _handle_problem)
    app.register_error_handler(RecursionError, _handle_too_deep)
    app.register_error_handler(StorageError, _handle_storage_error)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(OperationalError, _handle_database_unavailable)
    app.register_error_handler(DBAPIError, _handle_db_error)
    app.register_error_handler(Exception, _handle_unexpected)


def _handle_db_error(exc):
    if getattr(exc, "connection_invalidated", False):
        return _handle_database_unavailable(exc)
    if isinstance(exc, DataError):
        # A value the schema let through but the database refuses: the client's input.
        db.session.rollback()
        log.warning("database refused a value: %s", type(exc.orig).__name__)
        return problem_response(422, "Unprocessable Entity", "A value is not acceptable to the database.",
                                slug="validation-failed")
    return _handle_unexpected(exc)
