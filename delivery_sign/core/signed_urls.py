"""Links that work without a bearer: an HMAC-SHA256 over the path, its query and an expiry.

``sign("/api/v1/receipts/r_…/pdf")`` gives
``<PUBLIC_BASE_URL>/api/v1/receipts/r_…/pdf?expires=<unix>&signature=<base64url>``, good
for ``SIGNED_URL_TTL_S`` (30 min by default). The HMAC covers the path and every query
parameter but ``signature`` (so a thumbnail link cannot be turned into the original
photo's), under a key derived from ``SECRET_KEY`` for this purpose only. A tampered or
expired link is one and the same 403 that says nothing about the thing it names.

``sign_links`` turns every path in a small tree (a webhook payload's ``links``) into a
fresh signed URL; ``signed_or`` lets a route accept a valid link in place of a bearer.
Hand-written on the standard library's ``hmac`` because what is signed is a URL of ours
(``itsdangerous`` signs payloads it then carries, which would make the links longer and
opaque to the reader).
"""
import base64
import functools
import hmac
import re
import time
from datetime import datetime, timezone
from urllib.parse import urlencode

from flask import current_app, g, request

from .auth import require
from .crypto import derived_key
from .errors import Forbidden

PURPOSE = "signed-url"
INVALID = "This link is not valid: it was changed or it has expired."


# Characters ``urlencode`` leaves as they are (``quote_plus``'s safe set): a query of only
# these is joined directly, the same string without its per-character quoting.
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*")


def _query(pairs) -> str:
    if all(_PLAIN.fullmatch(key) and _PLAIN.fullmatch(value) for key, value in pairs):
        return "&".join(f"{key}={value}" for key, value in pairs)
    return urlencode(pairs)


def _mac(path: str, params: dict, secret_key: str | None = None, *, key: bytes | None = None) -> str:
    message = path + "?" + _query(sorted(params.items()))
    digest = hmac.digest(key or derived_key(PURPOSE, secret_key), message.encode(), "sha256")   # one-shot, in C
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _signed(path: str, expires: str, key: bytes, base_url: str) -> str:
    base, _, query = path.partition("?")
    params = dict(part.split("=", 1) for part in query.split("&") if part) if query else {}
    params["expires"] = expires
    params["signature"] = _mac(base, params, key=key)
    return f"{base_url}{base}?{_query(list(params.items()))}"


def _signing(ttl_s: int | None, now: float | None) -> tuple[str, bytes, str]:
    """What every link signed at one moment shares: its expiry, the key and the base URL."""
    config = current_app.config
    ttl = config["SIGNED_URL_TTL_S"] if ttl_s is None else ttl_s
    expires = str(int((time.time() if now is None else now) + ttl))
    return expires, derived_key(PURPOSE), config["PUBLIC_BASE_URL"]


def sign(path: str, *, ttl_s: int | None = None, now: float | None = None) -> str:
    """An absolute URL for ``path`` (which may carry a query) that expires after ``ttl_s``."""
    return _signed(path, *_signing(ttl_s, now))


def expiry(*, ttl_s: int | None = None, now: float | None = None) -> datetime:
    ttl = current_app.config["SIGNED_URL_TTL_S"] if ttl_s is None else ttl_s
    return datetime.fromtimestamp(int((time.time() if now is None else now) + ttl), timezone.utc).replace(tzinfo=None)


def sign_links(tree, *, now: float | None = None):
    """The same tree with every string that is a path of ours (``/api/…``) signed, all
    with one expiry (the clock, the key and the config are read once per tree)."""
    return _sign_tree(tree, _signing(None, now))


def _sign_tree(tree, signing):
    if isinstance(tree, dict):
        return {key: _sign_tree(value, signing) for key, value in tree.items()}
    if isinstance(tree, list):
        return [_sign_tree(value, signing) for value in tree]
    if isinstance(tree, str) and tree.startswith("/api/"):
        return _signed(tree, *signing)
    return tree


def carries_signature() -> bool:
    return "signature" in request.args or "expires" in request.args


def check_request() -> None:
    """The current request's link is ours, unchanged and unexpired; else 403."""
    params = request.args.to_dict(flat=False)
    signature = params.pop("signature", [""])
    expires = params.get("expires", [""])
    if len(signature) != 1 or len(expires) != 1 or any(len(v) != 1 for v in params.values()):
        raise Forbidden(INVALID)
    flat = {key: values[0] for key, values in params.items()}
    if not expires[0].isdigit() or int(expires[0]) < time.time():
        raise Forbidden(INVALID)
    if not hmac.compare_digest(_mac(request.path, flat), signature[0]):
        raise Forbidden(INVALID)


def signed_or(*roles):
    """Decorator: a valid signed link (``g.signed_link``), else a bearer with one of ``roles``."""

    def decorator(view):
        protected = require(*roles)(view)

        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if carries_signature():
                check_request()
                g.signed_link = True
                return view(*args, **kwargs)
            g.signed_link = False
            return protected(*args, **kwargs)

        wrapper._required_roles = roles
        return wrapper

    return decorator
