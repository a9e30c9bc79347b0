"""Account operations as plain functions: they ``add`` and ``flush``, the request commits."""
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from ..core import audit
from ..core.auth import (API_KEY_PREFIX, TOKEN_PREFIX, Principal, check_password, hash_password,
                         hash_secret, new_secret)
from ..core.clock import utcnow
from ..core.errors import Conflict, NotFound, Problem, ValidationFailed, field_error
from ..extensions import db
from .models import ApiKey, AuthToken, DocType, OrgUnit, Tenant, User

DEFAULT_POLICY = {
    "signer": "anyone", "otp": "none", "handwriting": "basic",
    "photos_min": 1, "photos_max": 9, "location": "optional", "geofence_m": 300,
    "link_ttl_s": 900, "allow_partial": True, "allow_refuse": True, "auto_seal": True,
    "photos_by": "courier", "photo_upload": "resized", "photo_quality": "warn",
    "assisted": "otp_required", "drop_without_consent": "refuse",
}
DEFAULT_DOC_TYPE = {"code": "default", "name": "送货签收单"}


class InvalidCredentials(Problem):
    status, slug, title = 401, "invalid-credentials", "Invalid credentials"


# --- tenants -------------------------------------------------------------------------

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


# --- sessions and API keys -------------------------------------------------------------

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


class BindingRequired(Problem):
    status, slug, title = 403, "binding-required", "WeChat account not bound"


def _wechat_openid(code: str) -> str:
    from ..core import wechat

    if not wechat.configured():
        raise Problem("WeChat login is not configured on this server (WECHAT_APPID, WECHAT_SECRET).",
                      status=409, slug="wechat-not-configured", title="WeChat not configured")
    try:
        return wechat.code2session(code).openid
    except wechat.WechatError as exc:
        if exc.invalid_code:
            raise Problem("The WeChat login code is invalid or already used; call wx.login again.",
                          status=400, slug="wechat-code-invalid", title="Invalid WeChat code") from None
        if exc.rate_limited:
            raise Problem("WeChat is rate-limiting logins; retry shortly.", status=503, slug="wechat-busy",
                          title="WeChat busy", headers={"Retry-After": "5"}) from None
        raise Problem(f"WeChat login failed ({exc.errcode}).", status=503, slug="wechat-unavailable",
                      title="WeChat unavailable", headers={"Retry-After": "5"}) from None


def login_wechat(tenant_slug: str, code: str) -> tuple[str, AuthToken, User]:
    """Sign in with ``wx.login``'s code when its openid is bound to a user of the tenant."""
    tenant = tenant_by_slug(tenant_slug)
    openid = _wechat_openid(code)
    user = None
    if tenant is not None:
        user = db.session.execute(
            select(User).where(User.tenant_id == tenant.id, User.wechat_openid == openid)
        ).scalar_one_or_none()
    if user is None or not user.active:
        raise BindingRequired("This WeChat account is not bound to a user; sign in once with "
                              "username and password to bind it (POST /auth/wechat/bind).")
    return issue_token(user)


def bind_wechat(tenant_slug: str, code: str, username: str, password: str) -> tuple[str, AuthToken, User]:
    """Check the password, then bind the code's openid to that user (one user per openid)."""
    raw, token, user = login(tenant_slug, username, password)
    openid = _wechat_openid(code)
    holder = db.session.execute(
        select(User).where(User.tenant_id == user.tenant_id, User.wechat_openid == openid)
    ).scalar_one_or_none()
    if holder is not None and holder.id != user.id:
        holder.wechat_openid = None
    user.wechat_openid = openid
    db.session.flush()
    audit.record(user.tenant_id, "user.wechat_bound", f"user:{user.username}", f"user:{user.username}",
                 {"rebound_from": holder.username if holder is not None and holder.id != user.id else None})
    return raw, token, user


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


def verify_audit(principal: Principal) -> dict:
    """The audit chain recomputed and every receipt re-hashed against it: ``ok`` only when both hold."""
    from ..receipts.verification import check_receipts_against_chain

    from ..core.anchors import verify_anchors

    result = audit.verify_chain(principal.tenant_id)
    receipts = check_receipts_against_chain(principal.tenant_id)
    anchors = verify_anchors(principal.tenant_id)
    ok = result["ok"] and not receipts["bad_receipt_count"] and anchors["first_bad_anchor_seq"] is None
    return {**result, **receipts, **anchors, "ok": ok}


def signed_head(principal: Principal) -> dict:
    """The chain head signed with the tenant's certificate (a detached CMS signature over the
    head statement): anyone holding the certificate can check it without our database or key,
    which an HMAC could not offer. The latest RFC 3161 anchor comes with it."""
    import asyncio
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from ..core import anchors
    from ..receipts.certificates import active_certificate, signer_for

    row = active_certificate(principal.tenant_id)   # first (it may be made now, an event of its own)
    seq, head_hash = anchors.current_head(principal.tenant_id)
    statement = anchors.head_statement(principal.tenant_id, seq, head_hash)
    signer = signer_for(row, current_app.config["SECRET_KEY"])
    signature = asyncio.run(signer.async_sign_general_data(statement, "sha256", detached=True))
    certificate = x509.load_der_x509_certificate(row.cert_der).public_bytes(serialization.Encoding.PEM)
    latest = anchors.latest_anchor(principal.tenant_id)
    return {
        "tenant_id": principal.tenant_id, "seq": seq, "hash": head_hash, "alg": audit.ALG,
        "statement": statement.decode("utf-8"), "signed_at": utcnow(),
        "signature": base64.b64encode(signature.dump()).decode("ascii"),
        "certificate": certificate.decode("ascii"), "certificate_fingerprint": row.fingerprint,
        "anchor": anchors.anchor_view(latest) if latest else None,
    }


def anchor_now(principal: Principal) -> dict:
    from ..core import anchors

    anchor = anchors.anchor_head(principal.tenant_id)
    audit.record(principal.tenant_id, "audit.anchored", principal.actor, f"audit:{anchor.seq}",
                 {"seq": anchor.seq, "hash": anchor.hash, "tsa_url": anchor.tsa_url})
    return anchors.anchor_view(anchor)


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


# --- org units ------------------------------------------------------------------------

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


# --- users ------------------------------------------------------------------------------

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


# --- document types ---------------------------------------------------------------------

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



def sms_outbox(principal: Principal, limit: int = 100) -> list[dict]:
    from ..core.clock import isoformat
    from ..core.masking import mask_phone
    from ..core.sms.backends import SmsMessage

    rows = db.session.execute(
        select(SmsMessage).where(SmsMessage.tenant_id == principal.tenant_id)
        .order_by(SmsMessage.id.desc()).limit(limit)
    ).scalars()
    return [{"phone": mask_phone(m.phone), "text": m.text, "created_at": isoformat(m.created_at)} for m in rows]
