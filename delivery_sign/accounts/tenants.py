"""Tenants: find, create (with its root unit, default document type and first admin), update."""
from sqlalchemy import select

from ..core import audit
from ..core.auth import Principal
from ..core.errors import Conflict
from ..extensions import db
from .doc_types import DEFAULT_DOC_TYPE, DEFAULT_POLICY
from .models import DocType, Tenant
from .org_units import create_org_unit
from .users import create_user


def tenant_by_slug(slug: str) -> Tenant | None:
    return db.session.execute(select(Tenant).where(Tenant.slug == slug)).scalar_one_or_none()


def tenant_of(principal: Principal) -> Tenant:
    return db.session.get(Tenant, principal.tenant_id)


def update_tenant(principal: Principal, changes: dict) -> Tenant:
    tenant = tenant_of(principal)
    for key in ("name", "timezone", "language"):
        if key in changes:
            setattr(tenant, key, changes[key])
    audit.record(principal.tenant_id, "tenant.updated", principal.actor, f"tenant:{tenant.slug}", dict(changes))
    return tenant


def create_tenant(slug: str, name: str, admin_username: str, admin_password: str) -> Tenant:
    if tenant_by_slug(slug) is not None:
        raise Conflict(f"Tenant {slug!r} already exists.")
    tenant = Tenant(slug=slug, name=name)
    db.session.add(tenant)
    db.session.flush()
    audit.record(tenant.id, "tenant.created", "system", f"tenant:{slug}", {"slug": slug, "name": name})
    root = create_org_unit(tenant.id, "system", code="HQ", name=name, parent_code=None)
    db.session.add(DocType(tenant_id=tenant.id, policy=dict(DEFAULT_POLICY), **DEFAULT_DOC_TYPE))
    create_user(tenant.id, "system", username=admin_username, password=admin_password, role="admin",
                org_unit=root.code, display_name="Administrator")
    return tenant
