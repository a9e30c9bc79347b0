"""Who is calling, and what they may touch — authorization decided here only.

Staff send ``Authorization: Bearer <token>`` (from ``/auth/login``), business systems
``Bearer <API key>``. Both are looked up by SHA-256; the raw values are never stored.
A ``Principal`` carries the tenant and the reach of the caller: admins and API keys see
the whole tenant, dispatchers their org unit's subtree, couriers their own waybills.

API keys may carry **scopes** (issue 15.15), chosen at creation. The scope a request needs
is read off its URL rule and method (``required_scope``), so every route is covered,
including routes added later; a route the table does not know needs a key with full
access, so a scoped key fails closed. Keys made before scopes (``scopes`` NULL) keep full
access.

Core imports no domain: ``create_app`` registers the loaders that turn a credential into a
``Principal`` (``init_principal_loaders``; accounts provides them), keyed by the prefix.
"""
import functools
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request
from .errors import Forbidden, Unauthorized

TOKEN_PREFIX = "dst_"
API_KEY_PREFIX = "dsk_"

SCOPES = ("waybills:read", "waybills:write", "receipts:read", "reports:read", "webhooks:manage",
          "audit:read", "audit:write", "privacy:read", "privacy:write")
# (URL rule prefix under /api/v1, scope for GET, scope for other methods); first match wins,
# so the narrower prefixes come first. Reports read waybills but are their own scope.
_SCOPE_RULES = (
    ("/waybills/export", "reports:read", None),
    ("/waybills/<number>/timeline", "reports:read", None),
    ("/reports/", "reports:read", None),
    ("/waybills", "waybills:read", "waybills:write"),
    ("/doc-types", "waybills:read", None),
    ("/receipts/", "receipts:read", None),
    ("/tenant/certificate", "receipts:read", None),
    ("/webhooks", "webhooks:manage", "webhooks:manage"),
    ("/audit/", "audit:read", "audit:write"),
    ("/privacy/subjects/export", "privacy:read", "privacy:read"),   # a POST that only reads
    ("/privacy/", "privacy:read", "privacy:write"),
)
_NO_SCOPE = ("/auth/",)   # a key's own session calls (logout is a no-op for a key)


def required_scope(rule: str, method: str) -> str | None:
    """The scope a request to ``rule`` (a Flask URL rule) needs; ``"*"`` for full access only."""
    path = rule[len("/api/v1"):] if rule.startswith("/api/v1") else rule
    if path.startswith(_NO_SCOPE):
        return None
    for prefix, read, write in _SCOPE_RULES:
        if path == prefix.rstrip("/") or path.startswith(prefix):
            scope = read if method in ("GET", "HEAD") else write
            return scope or "*"
    return "*"


def hash_secret(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_secret(prefix: str) -> str:
    # 32 random bytes: 256 bits, far beyond guessing.
    return prefix + secrets.token_urlsafe(32)


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg["PASSWORD_HASH_TIME_COST"], memory_cost=cfg["PASSWORD_HASH_MEMORY_KIB"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


# Verifying against this keeps unknown-user logins as slow as wrong-password ones.
_DUMMY_HASH = None


def check_password(password_hash: str | None, password: str) -> bool:
    global _DUMMY_HASH
    hasher = _hasher()
    if password_hash is None:
        _DUMMY_HASH = _DUMMY_HASH or hasher.hash("not-a-real-password")
        password_hash = _DUMMY_HASH
        password = password + "\0"
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Principal:
    tenant_id: int
    role: str                      # admin | dispatcher | courier | system (API key)
    actor: str                     # written into audit events
    user_id: int | None = None
    api_key_id: int | None = None
    org_unit_ids: frozenset | None = None   # None: the whole tenant
    home_unit_id: int | None = None         # where a dispatcher's new waybills go by default
    token_id: int | None = None
    scopes: frozenset | None = None         # an API key's scopes; None: everything


def init_principal_loaders(app, loaders: dict) -> None:
    """``loaders``: bearer prefix -> callable(SHA-256 hex of the value) -> ``Principal | None``."""
    app.extensions["principal_loaders"] = dict(loaders)


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def load_principal() -> Principal | None:
    """Resolve the request's credentials once; ``None`` when there are none or they are bad."""
    if "principal" in g:
        return g.principal
    raw = _bearer()
    principal = None
    for prefix, loader in current_app.extensions["principal_loaders"].items():
        if raw and raw.startswith(prefix):
            principal = loader(hash_secret(raw))
            break
    g.principal = principal
    return principal


def require(*roles):
    """Decorator: the caller must be authenticated and, when roles are given, hold one."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = load_principal()
            if principal is None:
                raise Unauthorized(
                    "Send a valid bearer token or API key in the Authorization header.",
                    headers={"WWW-Authenticate": 'Bearer realm="delivery_sign"'},
                )
            if roles and principal.role not in roles:
                raise Forbidden(f"This action needs one of the roles: {', '.join(roles)}.")
            _check_scope(principal)
            return view(*args, **kwargs)

        wrapper._required_roles = roles
        return wrapper

    return decorator


def _check_scope(principal: Principal) -> None:
    if principal.scopes is None or request.url_rule is None:
        return
    needed = required_scope(request.url_rule.rule, request.method)
    if needed is None or needed in principal.scopes:
        return
    what = "an API key with full access (made without scopes)" if needed == "*" else f"the scope {needed!r}"
    raise Forbidden(f"This API key lacks the scope for this call: it needs {what}.", slug="insufficient-scope",
                    title="Insufficient scope",
                    headers={"WWW-Authenticate": f'Bearer realm="delivery_sign", error="insufficient_scope", '
                                                 f'scope="{needed}"'})


def current() -> Principal:
    principal = load_principal()
    if principal is None:  # pragma: no cover - guarded by @require
        raise Unauthorized("Authentication required.")
    return principal
