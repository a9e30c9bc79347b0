"""Staff users: created, listed, changed (a new password or disabling ends their sessions)."""
from sqlalchemy import func, select

from ..core import audit
from ..core.auth import Principal, hash_password
from ..core.clock import utcnow
from ..core.errors import Conflict, NotFound, ValidationFailed, field_error
from ..extensions import db
from .models import AuthToken, OrgUnit, User
from .org_units import org_unit_by_code


def _unit_for(tenant_id: int, code: str | None, field="org_unit") -> OrgUnit | None:
    if code is None:
        return None
    unit = org_unit_by_code(tenant_id, code)
    if unit is None:
        raise ValidationFailed([field_error(field, "not_found", f"No org unit {code!r}.")])
    return unit


def create_user(tenant_id: int, actor: str, *, username: str, password: str, role: str,
                org_unit: str | None = None, display_name: str = "", phone: str | None = None) -> User:
    unit = _unit_for(tenant_id, org_unit)
    exists = db.session.execute(
        select(func.count()).select_from(User).where(User.tenant_id == tenant_id, User.username == username)
    ).scalar_one()
    if exists:
        raise Conflict(f"User {username!r} already exists.")
    user = User(tenant_id=tenant_id, username=username, password_hash=hash_password(password), role=role,
                org_unit_id=unit.id if unit else None, display_name=display_name or username, phone=phone)
    db.session.add(user)
    db.session.flush()
    audit.record(tenant_id, "user.created", actor, f"user:{username}",
                 {"role": role, "org_unit": org_unit})
    return user


def user_by_username(principal: Principal, username: str) -> User:
    user = db.session.execute(
        select(User).where(User.tenant_id == principal.tenant_id, User.username == username)
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(f"No user {username!r}.")
    return user


def list_users(principal: Principal) -> list[User]:
    """Admins see everyone; a dispatcher sees the users of their subtree (to pick couriers)."""
    query = select(User).where(User.tenant_id == principal.tenant_id).order_by(User.username)
    if principal.org_unit_ids is not None:
        query = query.where(User.org_unit_id.in_(principal.org_unit_ids))
    return db.session.execute(query).scalars().all()


def update_user(principal: Principal, username: str, changes: dict) -> User:
    user = user_by_username(principal, username)
    recorded = {}
    if "role" in changes:
        user.role = recorded["role"] = changes["role"]
    if "org_unit" in changes:
        unit = _unit_for(principal.tenant_id, changes["org_unit"])
        user.org_unit_id = unit.id if unit else None
        recorded["org_unit"] = changes["org_unit"]
    if "display_name" in changes:
        user.display_name = recorded["display_name"] = changes["display_name"]
    if "phone" in changes:
        user.phone = changes["phone"]
        recorded["phone"] = "changed"
    if "password" in changes:
        user.password_hash = hash_password(changes["password"])
        recorded["password"] = "changed"
    if "active" in changes:
        user.active = recorded["active"] = changes["active"]
    if recorded.get("password") or changes.get("active") is False:
        # A new password or a disabled account ends every open session.
        db.session.execute(
            AuthToken.__table__.update()
            .where(AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    audit.record(principal.tenant_id, "user.updated", principal.actor, f"user:{username}", recorded)
    return user
