"""API keys for business systems: created with optional scopes, listed, revoked."""
import secrets

from sqlalchemy import select

from ..core import audit
from ..core.auth import API_KEY_PREFIX, Principal, hash_secret, new_secret
from ..core.clock import utcnow
from ..core.errors import NotFound
from ..extensions import db
from .models import ApiKey


def create_api_key(principal: Principal, name: str, scopes: list[str] | None = None) -> tuple[ApiKey, str]:
    """A new key; ``scopes`` None gives full access (as every key had before scopes)."""
    public_id = secrets.token_hex(6)
    raw = new_secret(f"{API_KEY_PREFIX}{public_id}_")
    scopes = sorted(set(scopes)) if scopes is not None else None
    key = ApiKey(public_id=public_id, tenant_id=principal.tenant_id, name=name, scopes=scopes,
                 key_hash=hash_secret(raw), created_by_id=principal.user_id)
    db.session.add(key)
    db.session.flush()
    audit.record(principal.tenant_id, "api_key.created", principal.actor, f"api_key:{public_id}",
                 {"name": name, "scopes": scopes})
    return key, raw


def list_api_keys(principal: Principal) -> list[ApiKey]:
    return db.session.execute(
        select(ApiKey).where(ApiKey.tenant_id == principal.tenant_id).order_by(ApiKey.id)
    ).scalars().all()


def revoke_api_key(principal: Principal, public_id: str) -> None:
    key = db.session.execute(
        select(ApiKey).where(ApiKey.tenant_id == principal.tenant_id, ApiKey.public_id == public_id)
    ).scalar_one_or_none()
    if key is None:
        raise NotFound(f"No API key {public_id!r}.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(principal.tenant_id, "api_key.revoked", principal.actor, f"api_key:{public_id}", {})
