"""Accounts handlers: parse → authorize → call a service → dump. No queries here."""
from flask import current_app, request

from ..core import sms
from ..core.auth import current, require
from ..core.errors import NotFound
from ..extensions import limiter, writes_on_read
from . import api_keys, audit_chain, doc_types, logins, org_units, tenants, users, wechat
from .blueprint import blp
from .schemas import (ApiKeyCreatedSchema, AuditAnchorSchema, AuditHeadSchema, AuditVerifySchema, ApiKeyInSchema, ApiKeyOutSchema, DocTypeInSchema,
                      DocTypeOutSchema, DocTypePatchSchema, LoginResultSchema, LoginSchema,
                      OrgUnitInSchema, OrgUnitOutSchema, TenantSettingsSchema, UserInSchema, UserOutSchema, UserPatchSchema,
                      WechatBindSchema, WechatLoginSchema)


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_account_key():
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        body = {}
    key = f"login:{str(body.get('tenant', ''))[:40]}:{str(body.get('username', ''))[:64]}"
    # A lone surrogate cannot be encoded for the limiter's store; the schema refuses it next.
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def _login_result(raw, token, user):
    return {"token": raw, "expires_at": token.expires_at, "user": user}


@blp.route("/auth/login", methods=["POST"])
@limiter.limit(_login_limit, key_func=_login_account_key, scope="login-account")
@limiter.limit(_login_limit, scope="login-address")
@blp.arguments(LoginSchema)
@blp.response(200, LoginResultSchema)
def login(body):
    """Sign in with tenant, username and password; returns a 12-hour bearer token."""
    return _login_result(*logins.login(body["tenant"], body["username"], body["password"]))


@blp.route("/auth/wechat", methods=["POST"])
@limiter.limit(_login_limit, scope="login-address")
@blp.arguments(WechatLoginSchema)
@blp.response(200, LoginResultSchema)
def login_wechat(body):
    """Sign in inside the mini-program with a ``wx.login`` code; 403 ``…/binding-required`` when unbound."""
    return _login_result(*wechat.login_wechat(body["tenant"], body["code"]))


@blp.route("/auth/wechat/bind", methods=["POST"])
@limiter.limit(_login_limit, key_func=_login_account_key, scope="login-account")
@limiter.limit(_login_limit, scope="login-address")
@blp.arguments(WechatBindSchema)
@blp.response(200, LoginResultSchema)
def bind_wechat(body):
    """Bind the WeChat account of ``code`` to the user whose password is given; returns a token."""
    return _login_result(*wechat.bind_wechat(body["tenant"], body["code"], body["username"], body["password"]))


@blp.route("/auth/logout", methods=["POST"])
@require()
@blp.response(204)
def logout():
    """Revoke the bearer token of this request."""
    logins.logout(current())


@blp.route("/tenant", methods=["GET"])
@require("admin", "dispatcher")
@blp.response(200, TenantSettingsSchema)
def tenant_settings():
    """The tenant's settings: time zone (of exports, PDFs, the verification page) and export language."""
    return tenants.tenant_of(current())


@blp.route("/tenant", methods=["PATCH"])
@require("admin")
@blp.arguments(TenantSettingsSchema)
@blp.response(200, TenantSettingsSchema)
def update_tenant_settings(body):
    """Change the tenant's name, time zone or export language (receipts already rendered keep theirs)."""
    return tenants.update_tenant(current(), body)


@blp.route("/org-units", methods=["GET"])
@require("admin", "dispatcher")
@blp.response(200, OrgUnitOutSchema(many=True))
def list_org_units():
    """The org units the caller can see (a dispatcher: their subtree)."""
    return org_units.visible_org_units(current())


@blp.route("/org-units", methods=["POST"])
@require("admin")
@blp.arguments(OrgUnitInSchema)
@blp.response(201, OrgUnitOutSchema)
def create_org_unit(body):
    """Add an org unit under ``parent`` (or at the top)."""
    principal = current()
    return org_units.create_org_unit(principal.tenant_id, principal.actor, code=body["code"],
                                    name=body["name"], parent_code=body["parent"])


@blp.route("/users", methods=["GET"])
@require("admin", "dispatcher")
@blp.response(200, UserOutSchema(many=True))
def list_users():
    return users.list_users(current())


@blp.route("/users", methods=["POST"])
@require("admin")
@blp.arguments(UserInSchema)
@blp.response(201, UserOutSchema)
def create_user(body):
    principal = current()
    return users.create_user(principal.tenant_id, principal.actor, **body)


@blp.route("/users/<username>", methods=["PATCH"])
@require("admin")
@blp.arguments(UserPatchSchema)
@blp.response(200, UserOutSchema)
def update_user(body, username):
    """Change role, org unit, password, display name or phone, or deactivate (``active: false``)."""
    return users.update_user(current(), username, body)


@blp.route("/api-keys", methods=["GET"])
@require("admin")
@blp.response(200, ApiKeyOutSchema(many=True))
def list_api_keys():
    return api_keys.list_api_keys(current())


@blp.route("/api-keys", methods=["POST"])
@require("admin")
@blp.arguments(ApiKeyInSchema)
@blp.response(201, ApiKeyCreatedSchema)
def create_api_key(body):
    """Create a key for a business system; the ``key`` is shown in this response only."""
    key, raw = api_keys.create_api_key(current(), body["name"], body["scopes"])
    return {"public_id": key.public_id, "name": key.name, "scopes": key.scopes, "created_at": key.created_at,
            "revoked_at": None, "key": raw}


@blp.route("/api-keys/<key_id>", methods=["DELETE"])
@require("admin")
@blp.response(204)
def revoke_api_key(key_id):
    api_keys.revoke_api_key(current(), key_id)


@blp.route("/doc-types", methods=["GET"])
@require("admin", "dispatcher", "courier", "system")
@blp.response(200, DocTypeOutSchema(many=True))
def list_doc_types():
    return doc_types.list_doc_types(current())


@blp.route("/doc-types", methods=["POST"])
@require("admin")
@blp.arguments(DocTypeInSchema)
@blp.response(201, DocTypeOutSchema)
def create_doc_type(body):
    return doc_types.create_doc_type(current(), body["code"], body["name"], body["policy"])


@blp.route("/doc-types/<code>", methods=["PATCH"])
@require("admin")
@blp.arguments(DocTypePatchSchema)
@blp.response(200, DocTypeOutSchema)
def update_doc_type(body, code):
    """Rename a document type or change some of its policy fields."""
    return doc_types.update_doc_type(current(), code, body)


@blp.route("/audit/verify", methods=["GET"])
@require("admin", "dispatcher", "system")
@blp.response(200, AuditVerifySchema)
def verify_audit_chain():
    """Recompute the tenant's keyed audit chain and re-hash every receipt's evidence against it."""
    return audit_chain.verify_audit(current())


@blp.route("/audit/head", methods=["GET"])
@writes_on_read
@require("admin", "dispatcher", "system")
@blp.response(200, AuditHeadSchema)
def audit_head():
    """The chain head signed with the tenant certificate, and its latest RFC 3161 anchor."""
    return audit_chain.signed_head(current())


@blp.route("/audit/anchors", methods=["POST"])
@require("admin", "system")
@blp.response(201, AuditAnchorSchema)
def anchor_audit_head():
    """Timestamp the chain head now at ``TSA_URL`` (409 when none is configured)."""
    return audit_chain.anchor_now(current())


@blp.route("/dev/sms-outbox", methods=["GET"])
@require("admin")
@blp.response(200)
def sms_outbox():
    """Messages the ``outbox`` SMS backend kept (only when ``SMS_BACKEND=outbox``)."""
    if current_app.config["SMS_BACKEND"] != "outbox":
        raise NotFound("The SMS outbox exists only with SMS_BACKEND=outbox.")
    return {"items": sms.outbox(current().tenant_id)}
