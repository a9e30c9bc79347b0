"""Document types and their signing policy; ``DEFAULT_POLICY`` is what a new type starts from."""
from flask import current_app
from sqlalchemy import select

from ..core import audit
from ..core.auth import Principal
from ..core.errors import Conflict, NotFound, ValidationFailed, field_error
from ..extensions import db
from ..geo.distance import GEOFENCE_DEFAULT_M
from .models import DocType


DEFAULT_POLICY = {
    "signer": "anyone", "otp": "none", "handwriting": "basic",
    "photos_min": 1, "photos_max": 9, "location": "optional", "geofence_m": GEOFENCE_DEFAULT_M,
    "link_ttl_s": 900, "allow_partial": True, "allow_refuse": True, "auto_seal": True,
    "photos_by": "courier", "photo_upload": "resized", "photo_quality": "warn",
    "assisted": "otp_required", "drop_without_consent": "refuse",
}
DEFAULT_DOC_TYPE = {"code": "default", "name": "送货签收单"}


def list_doc_types(principal: Principal) -> list[DocType]:
    return db.session.execute(
        select(DocType).where(DocType.tenant_id == principal.tenant_id).order_by(DocType.code)
    ).scalars().all()


def doc_type_by_code(tenant_id: int, code: str) -> DocType | None:
    return db.session.execute(
        select(DocType).where(DocType.tenant_id == tenant_id, DocType.code == code)
    ).scalar_one_or_none()


def create_doc_type(principal: Principal, code: str, name: str, policy: dict) -> DocType:
    if doc_type_by_code(principal.tenant_id, code) is not None:
        raise Conflict(f"Document type {code!r} already exists.")
    doc_type = DocType(tenant_id=principal.tenant_id, code=code, name=name,
                       policy=_with_recognition({**DEFAULT_POLICY, **policy}))
    db.session.add(doc_type)
    db.session.flush()
    audit.record(principal.tenant_id, "doc_type.created", principal.actor, f"doc_type:{code}",
                 {"name": name, "policy": doc_type.policy})
    return doc_type


def _with_recognition(policy: dict) -> dict:
    """``handwriting: recognized`` needs the recogniser installed (409 otherwise) and
    carries ``recognition`` (default lenient)."""
    from ..evidence import zinnia

    if policy["handwriting"] != "recognized":
        return policy
    if zinnia.recognizer(current_app.config["ZINNIA_LIBRARY"], current_app.config["ZINNIA_MODEL"]) is None:
        raise Conflict("Handwriting recognition is not installed on this server.", slug="recognizer-unavailable",
                       title="Recognizer unavailable",
                       errors=[field_error("policy.handwriting", "recognizer_unavailable",
                                           f"Install the recogniser first: {zinnia.INSTALL_HINT}")])
    return {"recognition": "lenient", **policy}


def update_doc_type(principal: Principal, code: str, changes: dict) -> DocType:
    doc_type = doc_type_by_code(principal.tenant_id, code)
    if doc_type is None:
        raise NotFound(f"No document type {code!r}.")
    if "name" in changes:
        doc_type.name = changes["name"]
    if "policy" in changes:
        policy = {**doc_type.policy, **changes["policy"]}
        if policy["photos_min"] > policy["photos_max"]:
            field = "policy.photos_max" if "photos_max" in changes["policy"] else "policy.photos_min"
            raise ValidationFailed([field_error(field, "range", "photos_min must not exceed photos_max.")])
        doc_type.policy = _with_recognition(policy)
    audit.record(principal.tenant_id, "doc_type.updated", principal.actor, f"doc_type:{code}",
                 {"name": doc_type.name, "policy": doc_type.policy})
    return doc_type
