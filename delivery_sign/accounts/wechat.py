"""Staff sign-in with WeChat (``wx.login``'s code), and binding an openid to a user."""
from sqlalchemy import select

from ..core import audit
from ..core.errors import Problem
from ..extensions import db
from .logins import issue_token, login
from .models import AuthToken, User
from .tenants import tenant_by_slug


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
