"""Staff sessions: password login, bearer tokens, and the principal a token or API key stands for.

``create_app`` hands ``PRINCIPAL_LOADERS`` to ``core.auth``, so core never imports accounts.
"""
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from ..core.auth import API_KEY_PREFIX, TOKEN_PREFIX, Principal, check_password, hash_secret, new_secret
from ..core.clock import utcnow
from ..core.errors import Problem
from ..extensions import db
from .models import ApiKey, AuthToken, User
from .org_units import subtree_ids
from .tenants import tenant_by_slug


class InvalidCredentials(Problem):
    status, slug, title = 401, "invalid-credentials", "Invalid credentials"


def login(tenant_slug: str, username: str, password: str) -> tuple[str, AuthToken, User]:
    tenant = tenant_by_slug(tenant_slug)
    user = None
    if tenant is not None:
        user = db.session.execute(
            select(User).where(User.tenant_id == tenant.id, User.username == username)
        ).scalar_one_or_none()
    # Always run the KDF so timing does not reveal which tenants or users exist.
    ok = check_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        raise InvalidCredentials("Tenant, username or password is wrong, or the account is disabled.")
    return issue_token(user)


def issue_token(user: User) -> tuple[str, AuthToken, User]:
    raw = new_secret(TOKEN_PREFIX)
    token = AuthToken(
        tenant_id=user.tenant_id, user_id=user.id, token_hash=hash_secret(raw),
        expires_at=utcnow() + timedelta(seconds=current_app.config["AUTH_TOKEN_TTL_S"]),
    )
    db.session.add(token)
    db.session.flush()
    return raw, token, user


def logout(principal: Principal) -> None:
    if principal.token_id is not None:
        token = db.session.get(AuthToken, principal.token_id)
        token.revoked_at = utcnow()


def principal_for_token(token_hash: str) -> Principal | None:
    row = db.session.execute(
        select(AuthToken, User).join(User, User.id == AuthToken.user_id)
        .where(AuthToken.token_hash == token_hash, AuthToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    token, user = row
    if token.expires_at <= utcnow() or not user.active:
        return None
    return Principal(
        tenant_id=user.tenant_id, role=user.role, actor=f"user:{user.username}", user_id=user.id,
        org_unit_ids=_reach(user), home_unit_id=user.org_unit_id, token_id=token.id,
    )


def principal_for_api_key(key_hash: str) -> Principal | None:
    key = db.session.execute(
        select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    ).scalar_one_or_none()
    if key is None:
        return None
    return Principal(tenant_id=key.tenant_id, role="system", actor=f"api_key:{key.public_id}", api_key_id=key.id,
                     scopes=frozenset(key.scopes) if key.scopes is not None else None)


def _reach(user: User) -> frozenset | None:
    """Org units a user's queries may touch; ``None`` means the whole tenant (admins only).
    Anyone else without an org unit reaches nothing: a missing unit fails closed."""
    if user.role == "admin":
        return None
    if user.org_unit_id is None:
        return frozenset()
    return frozenset(subtree_ids(user.tenant_id, user.org_unit_id))


# What ``core.auth`` calls to turn a bearer value's hash into a principal, by the value's prefix.
PRINCIPAL_LOADERS = {API_KEY_PREFIX: principal_for_api_key, TOKEN_PREFIX: principal_for_token}
