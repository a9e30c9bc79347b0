"""The WeChat mini-program server API: ``code2Session`` and a central ``access_token``.

``WECHAT_API_BASE`` points at the real host in production and at a fake on loopback in
tests. ``session_key`` is never returned to callers outside this module's result object
and never leaves the server.
"""
import logging
import threading
import time
from dataclasses import dataclass

import requests
from flask import current_app

log = logging.getLogger(__name__)

TIMEOUT_S = 5
# Refresh the access_token this long before WeChat says it expires (7200 s).
TOKEN_REFRESH_MARGIN_S = 300
_RETRYABLE = {-1}          # "system busy, retry"


class WechatError(Exception):
    def __init__(self, errcode, errmsg):
        super().__init__(f"WeChat error {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg

    @property
    def invalid_code(self):
        return self.errcode in (40029, 40163)     # invalid or already used code

    @property
    def rate_limited(self):
        return self.errcode == 45011


@dataclass(frozen=True)
class Session:
    openid: str
    unionid: str | None
    session_key: str


def configured() -> bool:
    cfg = current_app.config
    return bool(cfg["WECHAT_APPID"] and cfg["WECHAT_SECRET"])


def _get(path, params):
    base = current_app.config["WECHAT_API_BASE"]
    for attempt in range(2):
        try:
            response = requests.get(base + path, params=params, timeout=TIMEOUT_S)
            body = response.json()
        except (requests.RequestException, ValueError):
            raise WechatError(-2, "WeChat API unreachable") from None
        errcode = body.get("errcode", 0)
        if errcode in _RETRYABLE and attempt == 0:
            continue
        if errcode:
            raise WechatError(errcode, body.get("errmsg", ""))
        return body
    raise WechatError(-1, "system busy")  # pragma: no cover - loop always returns or raises


def code2session(code: str) -> Session:
    cfg = current_app.config
    if not configured():
        raise WechatError(-3, "WeChat is not configured (WECHAT_APPID, WECHAT_SECRET)")
    body = _get("/sns/jscode2session", {"appid": cfg["WECHAT_APPID"], "secret": cfg["WECHAT_SECRET"],
                                         "js_code": code, "grant_type": "authorization_code"})
    if not body.get("openid"):
        raise WechatError(-4, "no openid in the answer")
    return Session(openid=body["openid"], unionid=body.get("unionid"), session_key=body.get("session_key", ""))


class _TokenCache:
    """One access_token per process, refreshed before expiry under a lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.token, self.expires = None, 0.0

    def get(self):
        with self.lock:
            if self.token is None or time.time() > self.expires - TOKEN_REFRESH_MARGIN_S:
                cfg = current_app.config
                body = _get("/cgi-bin/token", {"grant_type": "client_credential", "appid": cfg["WECHAT_APPID"],
                                               "secret": cfg["WECHAT_SECRET"]})
                self.token, self.expires = body["access_token"], time.time() + int(body.get("expires_in", 7200))
            return self.token


_token_cache = _TokenCache()


def access_token() -> str:
    return _token_cache.get()
