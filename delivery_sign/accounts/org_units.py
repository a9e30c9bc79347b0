"""Org units: the tree (a materialised ``path``) that decides a dispatcher's reach."""
from sqlalchemy import select

from ..core import audit
from ..core.auth import Principal
from ..core.errors import Conflict, ValidationFailed, field_error
from ..extensions import db
from .models import OrgUnit


def org_unit_by_code(tenant_id: int, code: str) -> OrgUnit | None:
    return db.session.execute(
        select(OrgUnit).where(OrgUnit.tenant_id == tenant_id, OrgUnit.code == code)
    ).scalar_one_or_none()


def subtree_ids(tenant_id: int, unit_id: int) -> list[int]:
    unit = db.session.get(OrgUnit, unit_id)
    return list(db.session.execute(
        select(OrgUnit.id).where(OrgUnit.tenant_id == tenant_id, OrgUnit.path.startswith(unit.path))
    ).scalars())


def visible_org_units(principal: Principal) -> list[OrgUnit]:
    query = select(OrgUnit).where(OrgUnit.tenant_id == principal.tenant_id).order_by(OrgUnit.path)
    if principal.org_unit_ids is not None:
        query = query.where(OrgUnit.id.in_(principal.org_unit_ids))
    return db.session.execute(query).scalars().all()


def create_org_unit(tenant_id: int, actor: str, *, code: str, name: str, parent_code: str | None) -> OrgUnit:
    if org_unit_by_code(tenant_id, code) is not None:
        raise Conflict(f"Org unit {code!r} already exists.")
    parent = None
    if parent_code:
        parent = org_unit_by_code(tenant_id, parent_code)
        if parent is None:
            raise ValidationFailed([field_error("parent", "not_found", f"No org unit {parent_code!r}.")])
    unit = OrgUnit(tenant_id=tenant_id, code=code, name=name, parent_id=parent.id if parent else None)
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    audit.record(tenant_id, "org_unit.created", actor, f"org_unit:{code}",
                 {"code": code, "name": name, "parent": parent_code})
    return unit
